"""Information change (信息变更): the payload rules of the change kind, and its applicant's side.

A change is a partial diff of the approved archive, written like a record PATCH (sections
of fields). While it is pending the archive stays as approved; one change is open at a
time (the archive's `open_change`). Rules (seed 002 and the national platform):
- 首次参加会计工作日期 (`employment.accounting_since`) cannot be changed by the person;
- the district (`region_code`) changes only by a transfer, not by a change;
- name, ID type and ID number need an official proof document (uploaded first with
  `stage_proof`; one document may prove several fields), and so does every entry a change adds
  to educations / qualifications / work_history (the entry's `proof` then names "change_proof",
  the change's document);
- the work history (履历) is only extended: earlier periods stay as approved (422
  `history_locked`), the current one may gain an end, new periods come after; a change of
  employer appends a new current period and the previous one ends the day before it starts.
A spot check's correction order opens a change in state "ordered"; the person's next
change submits that one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.districts import deployment_districts
from server.documents.service import document_view
from server.errors import Conflict, Invalid, NotFound
from server.lifecycle import staging
from server.lifecycle.archive import Archives, diff_of, record_data
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.store import Doc, LifecycleStore
from server.lifecycle.tables import CHANGE
from server.lifecycle.types import DiffRow
from server.records import apply_patch, archive_no, validate_patch
from server.records.entries import close_for_new_period, history_changes
from server.records.fields import LISTS, all_field_paths, field_label
from server.records.service import adapt_enum_labels, today
from server.records.store import RecordStore

LOCKED = {"employment.accounting_since": "首次参加会计工作日期以原始档案或单位证明为准，不能自行变更"}
BY_TRANSFER = {"region_code": "变更管理地区请办理调转，不能通过信息变更修改"}
NEEDS_PROOF = ("profile.name", "profile.id_type", "profile.id_number")
PROOF_KIND = "change_proof"
PROOF_LABEL = "变更证明材料"
REASON_MAX = 200
STAGED_TTL = dt.timedelta(days=1)


def rules() -> dict:
    """The change rules for the mini-program (which fields are locked, which need proof)."""
    return {
        "locked": [{"field": p, "label": field_label(p), "message": m} for p, m in {**LOCKED, **BY_TRANSFER}.items()],
        "needs_proof": [{"field": p, "label": field_label(p)} for p in NEEDS_PROOF],
        "proof_kind": PROOF_KIND,
        "proof_label": PROOF_LABEL,
    }


def option_lists() -> dict[str, list[dict[str, str]]]:
    """The same rules as closed lists for GET /api/v1/options (code = the field's path)."""
    return {
        "change_locked_fields": [{"code": p, "label": field_label(p)} for p in {**LOCKED, **BY_TRANSFER}],
        "change_proof_fields": [{"code": p, "label": field_label(p)} for p in NEEDS_PROOF],
    }


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def change_view(app: Doc) -> Doc:
    """A change application as its applicant sees it."""
    payload = app.get("payload") or {}
    return {
        "id": str(app["_id"]),
        "kind": "change",
        "status": app.get("status"),
        "status_label": CHANGE.state_label(app.get("status")),
        "version": app.get("version"),
        "changes": [{**row, "label": field_label(row["field"])} for row in payload.get("changes") or []],
        "reason": payload.get("reason") or "",
        "ordered": app.get("ordered"),
        "documents": {k: document_view(k, v) | {"url": None} for k, v in (app.get("documents") or {}).items()},
        "decision": {k: (app.get("decision") or {}).get(k) for k in ("decision", "reason", "at")}
        if app.get("decision")
        else None,
        "history": [
            {k: h.get(k) for k in ("status", "at", "by", "reason") if k in h} for h in app.get("history") or []
        ],
        "submitted_at": app.get("submitted_at"),
        "decided_at": app.get("decided_at"),
        "created_at": app.get("created_at"),
    }


class ChangeService:
    """The applicant's changes: list, stage a proof, submit (or answer a correction order), withdraw."""

    def __init__(self, services):
        self.services = services
        self.lifecycle = services.get(Lifecycle)
        self.store = services.get(LifecycleStore)
        self.records = services.get(RecordStore)
        self.archives = services.get(Archives)
        self.districts = deployment_districts(services.settings)

    async def _archive(self, user: SessionUser) -> tuple[Doc, Doc]:
        """(the caller's record, their archive); 409 while there is none."""
        record = await self.records.load(user.record_id, user.openid)
        archive = await self.store.archive_of(record)
        if archive is None:
            raise Conflict("信息采集审核通过后才能申请信息变更", "archive_missing")
        return record, archive

    async def overview(self, user: SessionUser) -> dict:
        """The caller's changes, newest first, and the rules."""
        record = await self.records.load(user.record_id, user.openid)
        archive = await self.store.archive_of(record)
        apps = [a for a in await self.store.applications_of(archive, record) if a.get("kind") == "change"]
        account = await self.store.account(user.openid) or {}
        staged = account.get("change_proof")
        return {
            "changes": [change_view(a) for a in reversed(apps)],
            "rules": rules(),
            "open": str(archive["open_change"]) if archive and archive.get("open_change") else None,
            "staged_proof": staging.staged_view(PROOF_KIND, staged, PROOF_LABEL),
        }

    async def stage_proof(self, user: SessionUser, data: bytes) -> dict:
        """Keep an uploaded proof document for the caller's next change (replacing an older one)."""
        await self._archive(user)
        return await staging.stage(self.services, user.openid, PROOF_KIND, data, PROOF_LABEL)

    def _diff(self, archive: Doc, body: Any) -> tuple[list[DiffRow], str]:
        """([{field, old, new}], reason) from a request body, or Invalid."""
        if not isinstance(body, dict):
            raise Invalid([_problem("", "invalid_type", "请求内容应为JSON对象")])
        unknown = [k for k in body if k not in ("changes", "reason")]
        reason = body.get("reason") or ""
        problems = [_problem(k, "unknown_field", "不支持的字段") for k in unknown]
        if not isinstance(reason, str) or len(reason) > REASON_MAX:
            problems.append(_problem("reason", "invalid", f"变更说明须为不超过{REASON_MAX}字的文字"))
        patch = body.get("changes")
        if not isinstance(patch, dict) or not patch:
            problems.append(_problem("changes", "required", "请填写要变更的信息"))
        if problems or not isinstance(patch, dict):
            raise Invalid(problems)
        patch = adapt_enum_labels(patch)
        current = record_data(archive["data"])
        refused = [
            _problem(p, "not_changeable", m) for p, m in {**LOCKED, **BY_TRANSFER}.items() if _sends(patch, p, current)
        ]
        if refused:  # said first: the other rules would only describe a change that cannot be made
            raise Invalid(refused, refused[0]["message"], "field_not_changeable")
        if "work_history" in patch:  # a change of employer closes the current period the day before
            patch = {**patch, "work_history": close_for_new_period(current.get("work_history"), patch["work_history"])}
        normalised, errors = validate_patch(patch, current, self.districts, today())
        if errors:
            raise Invalid(errors)
        merged = apply_patch(current, normalised)
        if "work_history" in normalised:
            locked = [_problem(*p) for p in history_changes(current.get("work_history"), merged.get("work_history"))]
            if locked:
                raise Invalid(locked, locked[0]["message"], "history_locked")
        diff = diff_of(current, merged, all_field_paths())
        changed = {row["field"] for row in diff}
        refused = [_problem(p, "not_changeable", m) for p, m in {**LOCKED, **BY_TRANSFER}.items() if p in changed]
        if refused:
            raise Invalid(refused, refused[0]["message"], "field_not_changeable")
        if not diff:
            raise Invalid([_problem("changes", "no_changes", "变更后的信息与档案相同，无需变更")], None, "no_changes")
        return diff, " ".join(reason.split())

    async def submit(self, user: SessionUser, body: Any) -> dict:
        """Submit a change (or the change a correction order asked for); 422 for a bad or unproven diff."""
        record, archive = await self._archive(user)
        diff, reason = self._diff(archive, body)
        changes = {row["field"]: row["new"] for row in diff}
        account = await self.store.account(user.openid) or {}
        proof = account.get("change_proof")
        needs = [p for p in NEEDS_PROOF if p in changes] + new_entry_paths(archive["data"], diff)
        if needs and not proof:
            labels = "、".join(field_label(p) for p in needs)
            raise Invalid(
                [_problem(p, "proof_required", f"变更{field_label(p)}须上传证明材料") for p in needs],
                f"变更{labels}须先上传公安机关出具的证明等材料"
                if any(p in NEEDS_PROOF for p in needs)
                else f"新增{labels}须先上传证明材料（学历证书、资格证书或工作证明）",
                "proof_required",
            )
        new_no = archive_no(apply_patch(record_data(archive["data"]), _sections(changes)))
        if new_no and new_no != archive["_id"]:
            await self.records.claim_archive_no(new_no, record["_id"])
        if proof:  # the new entries' proof is the change's proof document
            diff = [_proved(row, archive["data"]) for row in diff]
        payload = {"changes": diff, "reason": reason}
        documents = {PROOF_KIND: proof} if proof and needs else {}
        now = utcnow()
        actor = Actor.applicant(user.openid)
        held = archive.get("open_change")
        ordered = await self.store.application(held) if held else None
        if ordered is not None and ordered.get("status") == "ordered" and ordered.get("openid") == user.openid:
            app = await self.lifecycle.step(
                ordered, "submit", actor, body, sets={"payload": payload, "documents": documents, "submitted_at": now}
            )
        else:
            app_id = ObjectId()
            await self.archives.open_change(archive["_id"], app_id)
            app = await self.lifecycle.create(
                {
                    "_id": app_id,
                    "kind": "change",
                    "openid": user.openid,
                    "archive_no": archive["_id"],
                    "region_code": archive.get("region_code"),
                    "record_id": record["_id"],
                    "payload": payload,
                    "documents": documents,
                    "submitted_at": now,
                    "decided_at": None,
                    "decision": None,
                },
                "submit",
                actor,
            )
        if proof and documents:
            await staging.consume(self.services, user.openid, PROOF_KIND, proof)
        return change_view(app)

    async def withdraw(self, user: SessionUser, change_id: str) -> dict:
        """Withdraw one of the caller's pending changes (the archive stays as it is)."""
        app = await self.store.application(change_id)
        if app is None or app.get("openid") != user.openid or app.get("kind") != "change":
            raise NotFound("变更申请不存在", "change_not_found")
        after = await self.lifecycle.step(app, "withdraw", Actor.applicant(user.openid))
        return change_view(after)  # the archive's open change and a claimed ID number: released by the effect


def _sends(patch: dict, path: str, current: Doc) -> bool:
    """True when a change body sends `path` with a value other than the archive's."""
    section, _, name = path.partition(".")
    if not name:
        return section in patch and patch[section] != current.get(section)
    body = patch.get(section)
    if not isinstance(body, dict) or name not in body:
        return False
    sent, held = body[name], (current.get(section) or {}).get(name)
    return (sent.strip() if isinstance(sent, str) else sent) not in (held, "" if held is None else None)


def _old_ids(data: Doc, name: str) -> set:
    return {e.get("id") for e in data.get(name) or [] if isinstance(e, dict)}


def new_entry_paths(data: Doc, diff: list[DiffRow]) -> list[str]:
    """Paths ("educations.2") of the entries a change adds: each needs a proof."""
    paths = []
    for row in diff:
        if row["field"] in LISTS:
            old = _old_ids(data, row["field"])
            paths += [f"{row['field']}.{i}" for i, e in enumerate(row["new"] or []) if e.get("id") not in old]
    return paths


def _proved(row: DiffRow, data: Doc) -> DiffRow:
    """A list's diff row whose new entries name the change's proof document."""
    if row["field"] not in LISTS:
        return row
    old = _old_ids(data, row["field"])
    entries = [e if e.get("id") in old or e.get("proof") else {**e, "proof": PROOF_KIND} for e in row["new"] or []]
    return {**row, "new": entries}


def _sections(changes: dict) -> dict:
    """{"profile.name": v} -> {"profile": {"name": v}} (top-level keys stay)."""
    out: dict = {}
    for path, value in changes.items():
        section, _, name = path.partition(".")
        if name:
            out.setdefault(section, {})[name] = value
        else:
            out[section] = value
    return out
