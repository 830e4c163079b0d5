"""One application in full for a reviewer: labelled sections (or a change beside the archive),
photo, documents, history, notices, the archive's versions and the actions the table allows."""

from __future__ import annotations

from server.campaigns import Campaigns
from server.districts import district_name
from server.lifecycle.archive import archive_view, changes_of
from server.lifecycle.changes import PROOF_KIND, PROOF_LABEL
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.readmodel import ON_ARCHIVE
from server.lifecycle.store import LifecycleStore, notice_ids
from server.lifecycle.tables import TRANSFER_KINDS, Kind, step_label
from server.notify.outbox import Outbox
from server.records.derived import accounting_years, highest_education, highest_qualification, locked_paths
from server.records.fields import LISTS, SECTION_LABELS, SECTIONS, field_label, field_spec, value_at
from server.records.names import rare_characters
from server.records.options import DOCUMENT_KINDS, document_label, option_label
from server.records.service import today
from server.review.access import rare_name
from server.staff.model import Staff
from server.units.admins import SLOTS as UNIT_ADMIN_SLOTS
from server.units.admins import UnitAdminService
from server.units.assessments import Assessments
from server.units.confirmations import UnitConfirmations

EXTRA_LABELS = {
    PROOF_KIND: PROOF_LABEL,
    "transfer_proof": "调转证明材料",
    "transfer_sheet": "原地区调转信息表",
    "recovery_id_front": "找回申请：证件人像面",
    "recovery_id_back": "找回申请：证件国徽面",
    "recovery_selfie": "找回申请：本人手持证件照片",
    **UNIT_ADMIN_SLOTS,
}
HIDDEN = {"openid": 0, "unionid": 0, "chat_openid": 0}


def display(spec, value) -> str:
    """A field value as a reviewer reads it (enum labels, 是/否)."""
    if value is None or value == "":
        return ""
    if spec.kind == "enum":
        return option_label(spec.options, value) or str(value)
    if spec.kind == "bool":
        return "是" if value else "否"
    return str(value)


def entry_text(name: str, entry: dict) -> str:
    """One entry of a list on one line: its values in form order, the period as "from至to"."""
    spec = LISTS[name]
    parts = []
    for field, fspec in spec.fields.items():
        if field in ("from", "to"):
            continue
        text = display(fspec, entry.get(field))
        if text:
            parts.append(text)
    if "from" in spec.fields and (entry.get("from") or entry.get("to")):
        parts.append(f"{entry.get('from') or '?'}至{entry.get('to') or '今'}")
    return "，".join(parts)


def entries_text(doc: dict, name: str) -> str:
    """Every entry of a list, one per line; the highest education / qualification marked."""
    top = {"educations": highest_education, "qualifications": highest_qualification}.get(name)
    best = (top(doc) or {}).get("id") if top else None
    lines = []
    for i, entry in enumerate(e for e in doc.get(name) or [] if isinstance(e, dict)):
        mark = "（最高）" if best and entry.get("id") == best else ""
        lines.append(f"{i + 1}. {entry_text(name, entry)}{mark}")
    return "\n".join(lines)


def list_sections(doc: dict) -> list[dict]:
    """The lists as sections (one field per entry), the years of accounting work with the history."""
    out = []
    tops = {"educations": highest_education(doc), "qualifications": highest_qualification(doc)}
    for name, spec in LISTS.items():
        entries = [e for e in doc.get(name) or [] if isinstance(e, dict)]
        best = (tops.get(name) or {}).get("id")
        fields = [
            {
                "path": f"{name}.{i}",
                "label": f"第{i + 1}条" + ("（最高）" if best and e.get("id") == best else ""),
                "value": e,
                "display": entry_text(name, e),
                "proof": e.get("proof"),
            }
            for i, e in enumerate(entries)
        ]
        if name == "work_history":
            years = accounting_years(doc, today())
            fields.append(
                {"path": "accounting_years", "label": "会计工作年限", "value": years, "display": f"{years}年"}
            )
        out.append({"key": name, "label": f"{spec.label}（共{len(entries)}条）", "fields": fields})
    return out


def sections(doc: dict) -> list[dict]:
    """Every section of the record with labels and display values, in form order; then the lists."""
    out = []
    locked = set(locked_paths(doc))
    for key, fields in SECTIONS.items():
        data = doc.get(key) or {}
        out.append(
            {
                "key": key,
                "label": SECTION_LABELS[key],
                "fields": [
                    {
                        "path": f"{key}.{name}",
                        "label": spec.label,
                        "value": data.get(name),
                        "display": display(spec, data.get(name))
                        + ("（来自原会计档案）" if f"{key}.{name}" in locked and data.get(name) else ""),
                    }
                    for name, spec in fields.items()
                ],
            }
        )
    return out + list_sections(doc)


def file_url(record_id: str, kind: str) -> str:
    """The authorised streaming URL of a record's photo or document."""
    return f"/admin/api/records/{record_id}/files/{kind}"


def _notice_view(n: dict) -> dict:
    return {
        "id": n.get("id"),
        "title": n.get("title"),
        "body": n.get("body"),
        "created_at": n.get("created_at"),
        "read_at": n.get("read_at"),
        "delivery": {k: (n.get("delivery") or {}).get(k) for k in ("state", "attempts", "last_error", "sent_at")},
    }


def _display_path(path: str, value) -> str:
    if path in LISTS:
        return entries_text({path: value if isinstance(value, list) else []}, path)
    spec = field_spec(path)
    return display(spec, value) if spec else ("" if value is None else str(value))


def change_rows(change: dict, archive: dict | None) -> list[dict]:
    """A change side by side with the archive: label, path, old and new (with display values)."""
    data = (archive or {}).get("data") or {}
    rows = []
    for path, new in changes_of(change).items():
        old = value_at(data, path) if "." in path else data.get(path)
        rows.append(
            {
                "path": path,
                "label": field_label(path),
                "old": old,
                "new": new,
                "old_display": _display_path(path, old),
                "new_display": _display_path(path, new),
            }
        )
    return rows


async def application_detail(services, staff: Staff, doc: dict) -> dict:
    """The reviewer's view of any application: the record view plus kind, actions and archive."""
    lifecycle = services.get(Lifecycle)
    store = services.get(LifecycleStore)
    kind = lifecycle.kind(doc)
    # a change or transfer is shown with its archive; a first collection with the archive it became
    archive = await store.archive(doc.get("archive_no")) if kind.name in ON_ARCHIVE else await store.archive_of(doc)
    shown = {**doc, **(archive.get("data") or {})} if archive else doc
    if kind.name in ON_ARCHIVE and archive and not doc.get("photo"):
        shown["photo"] = archive.get("photo")  # the person's photo beside a change or transfer
    base = record_detail(services.settings, shown)
    notices = await services.get(Outbox).many(notice_ids([doc]))
    base.update(
        {
            "kind": kind.name,
            "kind_label": kind.label,
            "status_label": kind.state_label(doc.get("status")),
            "actions": [
                {"action": t.action, "label": t.label, "needs_reason": t.needs_reason}
                for t in lifecycle.actions_for(doc, staff)
            ],
            "archive": archive_view(archive, for_staff=True) if archive else None,
            "notices": [_notice_view(n) for n in sorted(notices, key=lambda n: n.get("created_at") or 0)],
        }
    )
    base["history"] = [history_entry(services.settings, kind, doc, h) for h in doc.get("history") or []]
    if kind.name in TRANSFER_KINDS:
        base["transfer"] = transfer_view(services.settings, kind, doc)
    if kind.name == "recovery":
        base["recovery"] = recovery_view(doc, archive)
    if kind.name == "collection":
        base["late"] = await services.get(Campaigns).late_of(doc)  # 逾期提交 under the campaign windows
        base["unit_confirmation"] = await services.get(UnitConfirmations).staff_view(doc)  # 报备确认
        base["assessments"] = await services.get(Assessments).for_staff(doc, archive)  # 年度考评, 在岗 by the rule
    if kind.name == "unit_admin":
        base["unit_admin"] = await services.get(UnitAdminService).staff_view(doc)
        base["name"] = base["unit_admin"]["applicant_name"]
        base["sections"] = []  # the claim is in `unit_admin`: no record of its own
    if kind.name == "change":
        base["change"] = {
            "rows": change_rows(doc, archive),
            "reason": (doc.get("payload") or {}).get("reason") or "",
            "ordered": doc.get("ordered"),
        }
    return base


def history_entry(settings, kind: Kind, doc: dict, h: dict) -> dict:
    """A step as staff read it: its row's label, and for a reviewer's step the district that took it."""
    t = kind.transition(h.get("from") or "", h.get("action") or "")
    district = doc.get(t.where) if t and t.actor == "reviewer" else None
    return {
        **h,
        "label": step_label(kind.name, h.get("from"), h.get("action")),
        "district": district_name(settings, district) if district else "",
    }


def transfer_view(settings, kind: Kind, doc: dict) -> dict:
    """Where a transfer goes from and to, why, and the transfer sheet (transfer out)."""
    payload = doc.get("payload") or {}
    approved_out = kind.name == "transfer_out" and doc.get("status") == "approved"
    return {
        "kind": kind.name,
        "from_region": doc.get("region_code") if kind.name != "transfer_in" else None,
        "from_region_name": payload.get("from_region_name") or district_name(settings, doc.get("region_code")),
        "to_region": doc.get("to_region"),
        "to_region_name": payload.get("to_region_name") or district_name(settings, doc.get("to_region")),
        "reason": payload.get("reason"),
        "reason_label": payload.get("reason_label") or "",
        "note": payload.get("note") or "",
        "sheet_url": f"/admin/api/applications/{doc['_id']}/sheet.pdf" if approved_out else None,
    }


def _mask_openid(openid: str) -> str:
    return f"{openid[:4]}****{openid[-4:]}" if len(openid) > 8 else "****"


def recovery_view(doc: dict, archive: dict | None) -> dict:
    """A recovery beside the archive: what the applicant claims and sent (the `documents`), and
    the archive's photo and ID documents to compare them with."""
    payload = doc.get("payload") or {}
    record_id = str((archive or {}).get("record_id") or "")
    stored = (archive or {}).get("documents") or {}
    return {
        "claimed_name": payload.get("name") or "",
        "claimed_id_number": payload.get("id_number") or "",
        "note": payload.get("note") or "",
        "archive_photo_url": file_url(record_id, "photo") if record_id and (archive or {}).get("photo") else None,
        "archive_documents": [
            {"kind": k, "label": DOCUMENT_KINDS.get(k, k), "url": file_url(record_id, k)}
            for k in stored
            if k.startswith(("id_", "passport_", "permit_")) and isinstance(stored[k], dict)
        ],
        "old_account": _mask_openid(doc.get("old_openid") or ""),
    }


def _entry_document_label(doc: dict, key: str) -> str:
    """A document's label, naming the entry it proves ("学历（学位）证书（第2条学历信息）")."""
    label = document_label(key)
    for name, spec in LISTS.items():
        for i, entry in enumerate(e for e in doc.get(name) or [] if isinstance(e, dict)):
            if entry.get("proof") == key or f"{spec.proof_kind}_{entry.get('id')}" == key:
                return f"{label}（第{i + 1}条{spec.label}）"
    return label


def record_detail(settings, doc: dict) -> dict:
    """The reviewer's view of a record document."""
    rid = str(doc["_id"])
    name = (doc.get("profile") or {}).get("name") or ""
    photo = doc.get("photo")
    documents = [
        {
            "kind": kind,
            "label": EXTRA_LABELS.get(kind) or _entry_document_label(doc, kind),
            "url": file_url(rid, kind),
            "content_type": d.get("content_type"),
            "size": d.get("size"),
            "uploaded_at": d.get("uploaded_at"),
        }
        for kind, d in (doc.get("documents") or {}).items()
        if isinstance(d, dict) and d.get("file_id")
    ]
    return {
        "id": rid,
        "status": doc.get("status"),
        "status_label": "",
        "version": doc.get("version"),
        "region_code": doc.get("region_code"),
        "region_name": district_name(settings, doc.get("region_code")),
        "archive_no": doc.get("archive_no"),
        "name": name,
        "rare_name": rare_name(doc),
        "rare_characters": rare_characters(name) if name else [],
        "sections": sections(doc),
        "accounting_years": accounting_years(doc, today()),
        "locked_fields": locked_paths(doc),
        "photo": None
        if not photo or not photo.get("file_id")
        else {
            "url": file_url(rid, "photo"),
            "size": photo.get("size"),
            "checks": photo.get("checks") or [],
            "uploaded_at": photo.get("uploaded_at"),
        },
        "documents": documents,
        "history": doc.get("history") or [],
        "decision": doc.get("decision"),
        "notices": [],
        "submitted_at": doc.get("submitted_at"),
        "decided_at": doc.get("decided_at"),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at"),
    }


async def get_record(services, staff: Staff, record_id: str) -> dict:
    """The full application if it is within the caller's districts, else NotFound."""
    doc = await services.get(Lifecycle).visible(Actor.reviewer(staff), record_id)
    return await application_detail(services, staff, {k: v for k, v in doc.items() if k not in HIDDEN})
