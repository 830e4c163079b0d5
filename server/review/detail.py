"""One record in full for a reviewer: labelled sections, photo, documents, history, notices."""
from __future__ import annotations

from server.records.fields import SECTION_LABELS, SECTIONS
from server.records.names import rare_characters
from server.records.options import DOCUMENT_KINDS, option_label
from server.review.access import rare_name, status_label, visible_record
from server.districts import district_name
from server.staff.model import Staff

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


def sections(doc: dict) -> list[dict]:
    """Every section of the record with labels and display values, in form order."""
    out = []
    for key, fields in SECTIONS.items():
        data = doc.get(key) or {}
        out.append({"key": key, "label": SECTION_LABELS[key], "fields": [
            {"path": f"{key}.{name}", "label": spec.label, "value": data.get(name), "display": display(spec, data.get(name))}
            for name, spec in fields.items()]})
    return out


def file_url(record_id: str, kind: str) -> str:
    """The authorised streaming URL of a record's photo or document."""
    return f"/admin/api/records/{record_id}/files/{kind}"


def record_detail(settings, doc: dict) -> dict:
    """The reviewer's view of a record document."""
    rid = str(doc["_id"])
    name = (doc.get("profile") or {}).get("name") or ""
    photo = doc.get("photo")
    documents = [
        {"kind": kind, "label": DOCUMENT_KINDS.get(kind, kind), "url": file_url(rid, kind),
         "content_type": d.get("content_type"), "size": d.get("size"), "uploaded_at": d.get("uploaded_at")}
        for kind, d in (doc.get("documents") or {}).items() if isinstance(d, dict) and d.get("file_id")]
    notices = [
        {"id": n.get("id"), "title": n.get("title"), "body": n.get("body"), "created_at": n.get("created_at"),
         "read_at": n.get("read_at"),
         "delivery": {k: (n.get("delivery") or {}).get(k) for k in ("state", "attempts", "last_error", "sent_at")}}
        for n in sorted((doc.get("notices") or {}).values(), key=lambda n: n.get("created_at") or 0)]
    return {
        "id": rid,
        "status": doc.get("status"),
        "status_label": status_label(doc.get("status")),
        "version": doc.get("version"),
        "region_code": doc.get("region_code"),
        "region_name": district_name(settings, doc.get("region_code")),
        "archive_no": doc.get("archive_no"),
        "name": name,
        "rare_name": rare_name(doc),
        "rare_characters": rare_characters(name) if name else [],
        "sections": sections(doc),
        "photo": None if not photo or not photo.get("file_id") else {
            "url": file_url(rid, "photo"), "size": photo.get("size"), "checks": photo.get("checks") or [],
            "uploaded_at": photo.get("uploaded_at")},
        "documents": documents,
        "history": doc.get("history") or [],
        "decision": doc.get("decision"),
        "notices": notices,
        "submitted_at": doc.get("submitted_at"),
        "decided_at": doc.get("decided_at"),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at"),
    }


async def get_record(services, staff: Staff, record_id: str) -> dict:
    """The full record if it is within the caller's districts, else NotFound."""
    return record_detail(services.settings, await visible_record(services, staff, record_id, HIDDEN))
