"""The accountant's own record: read, save drafts, submit; and the bureau's messages to them.

Rules live in the pure layer (`server.records`: validation, names, completeness); this
module loads the caller's record (by the session's record id and openid, never by a
client-supplied id), applies them, claims the archive number and writes with a
version condition through `RecordStore.write`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faq.normalize import to_simplified
from server.accounts.sessions import SessionUser
from server.campaigns import Campaigns
from server.db import utcnow
from server.districts import deployment_districts
from server.documents.service import document_view
from server.errors import Conflict, Invalid
from server.lifecycle.archive import archive_view
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.store import LifecycleStore, notice_ids
from server.lifecycle.tables import CHANGE, COLLECTION
from server.notify.outbox import Outbox
from server.records import (
    OPTIONS,
    SECTIONS,
    Districts,
    apply_patch,
    archive_no,
    is_rare,
    missing_for_submission,
    options_payload,
    rare_characters,
    validate_patch,
    validate_record,
)
from server.records.derived import accounting_years, highest_education, highest_qualification, locked_fields
from server.records.eligibility import ineligible
from server.records.fields import LISTS
from server.records.store import EDITABLE, WRITE_RETRIES, RecordStore, record_fields, require_editable
from server.units import answers as unit_answers

log = logging.getLogger("kjcj.records")

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))


def today() -> dt.date:
    """Today's date in China (the date people write on forms)."""
    return dt.datetime.now(CHINA_TZ).date()


def _label_key(text: str) -> str:
    """Simplified, space-free form of an option label for matching."""
    return to_simplified("".join(text.split()))


_LABELS: dict[str, dict[str, str]] = {
    name: {**{_label_key(o["label"]): o["code"] for o in items}, **{o["code"].lower(): o["code"] for o in items}}
    for name, items in OPTIONS.items()
}


def _adapt(values: Mapping[str, Any], fields: Mapping[str, Any]) -> dict:
    """One section or entry with its enum labels turned into codes."""
    values = dict(values)
    for name, value in values.items():
        spec = fields.get(name) if isinstance(name, str) else None
        if spec and spec.kind == "enum" and isinstance(value, str) and value.strip():
            table = _LABELS[spec.options or ""]
            values[name] = table.get(value.strip().lower()) or table.get(_label_key(value)) or value
    return values


def adapt_enum_labels(body: Mapping[str, Any]) -> dict:
    """Accept an option's Chinese label (simplified or traditional) or a case variant of its code."""
    out = dict(body)
    for section, fields in SECTIONS.items():
        if isinstance(out.get(section), Mapping):
            out[section] = _adapt(out[section], fields)
    for name, spec in LISTS.items():
        if isinstance(out.get(name), list):
            out[name] = [_adapt(e, spec.fields) if isinstance(e, Mapping) else e for e in out[name]]
    return out


def computed(fields: Mapping[str, Any]) -> dict:
    """What the server computes and shows beside a record's fields: the years of accounting work,
    the ids of the highest education and qualification, the fields the legacy register locks."""
    edu, qual = highest_education(fields), highest_qualification(fields)
    return {
        "accounting_years": accounting_years(fields, today()),
        "highest_education_id": edu.get("id") if edu else None,
        "highest_qualification_id": qual.get("id") if qual else None,
        "locked_fields": locked_fields(fields),
    }


def missing_items(doc: dict) -> list[dict]:
    """What the record lacks before submission, each as {"field", "code", "message"}."""
    items = missing_for_submission(record_fields(doc), (doc.get("documents") or {}).keys(), bool(doc.get("photo")))
    out = []
    for item in items:
        field = item.get("field") or ("photo" if item.get("item") == "photo" else f"documents.{item.get('item')}")
        out.append({"field": field, "code": item["code"], "message": item["message"]})
    return out


class RecordService:
    """Read, patch and submit the caller's record."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(RecordStore)
        self.districts: Districts = deployment_districts(services.settings)
        # called as hook(before, written) -> record after each written PATCH; the legacy register's
        # matcher (server/legacy/matching.py) is added by server/app.py
        self.after_patch: list[Callable[[dict, dict], Awaitable[dict]]] = []

    def options(self) -> dict:
        """Every closed list for the pickers, districts included."""
        return options_payload(self.districts)

    def view(self, doc: dict, archive: dict | None = None, changes: list[dict] | None = None, unread: int = 0) -> dict:
        """The record as the mini-program sees it: the archive's fields once there is one."""
        fields = record_fields(archive["data"]) if archive and archive.get("data") else record_fields(doc)
        name = fields["profile"].get("name") or ""
        status = doc.get("status", "draft")
        editable = status in EDITABLE
        photo = doc.get("photo")
        return {
            "id": doc["_id"],
            "status": status,
            "status_label": COLLECTION.state_label(status),
            "version": doc.get("version", 1),
            "editable": editable,
            **fields,
            **computed(fields),
            "region": self.districts.get(fields["region_code"]) if fields["region_code"] else None,
            "archive_no": doc.get("archive_no"),
            "rare_name": bool(doc.get("rare_name")),
            "rare_characters": rare_characters(name) if name else [],
            "documents": {k: document_view(k, v) for k, v in (doc.get("documents") or {}).items()},
            "photo": {"uploaded_at": photo.get("uploaded_at"), "size": photo.get("size")} if photo else None,
            "missing": missing_items(doc) if editable else [],
            "history": [
                {k: h.get(k) for k in ("status", "at", "by", "reason") if k in h} for h in doc.get("history") or []
            ],
            "decision": _decision(doc) if status in ("approved", "rejected") else None,
            "submitted_at": doc.get("submitted_at"),
            "decided_at": doc.get("decided_at"),
            "archive": archive_view(archive, for_staff=False) if archive else None,
            "unit_confirmation": unit_answers.person_view(doc, archive),  # 报备确认 (server/units/)
            "changes": [change_summary(c) for c in changes or []],
            "unread_messages": unread,
            "created_at": doc.get("created_at"),
            "updated_at": doc.get("updated_at"),
        }

    async def full_view(self, doc: dict) -> dict:
        """`view` with the archive, the person's changes and the unread count read alongside."""
        store = self.services.get(LifecycleStore)
        archive = await store.archive_of(doc)
        apps = await store.applications_of(archive, doc)
        inbox = await self.services.get(Outbox).inbox(doc["openid"], notice_ids(apps))
        out = self.view(doc, archive, [a for a in apps if a.get("kind") == "change"], inbox["unread"])
        out["late"] = await self.services.get(Campaigns).late_of(doc)  # submitted after a window (mark_late)
        return out

    async def get(self, user: SessionUser) -> dict:
        """The caller's record."""
        return await self.full_view(await self.store.load(user.record_id, user.openid))

    async def patch(self, user: SessionUser, body: dict, address: str | None = None) -> dict:
        """Validate and save any subset of sections/fields (a draft); 422 lists every bad field.

        `address` is the client's address: a new ID number's claim is rate-limited per account
        and per address (see server/records/store.py)."""
        body = adapt_enum_labels(body)
        for _ in range(WRITE_RETRIES):
            doc = await self.store.load(user.record_id, user.openid)
            require_editable(doc)
            current = record_fields(doc)
            normalised, errors = validate_patch(body, current, self.districts, today())
            if errors:
                raise Invalid(errors)
            if not normalised:
                return await self.full_view(doc)
            merged = apply_patch(current, normalised)
            updated = await self._write_patch(doc, merged, list(normalised), address)
            if updated is not None:
                for hook in self.after_patch:
                    updated = await hook(doc, updated)
                if {"profile", "contact", "employment", "work_history", "region_code"} & set(normalised):
                    await self.services.get(Lifecycle).readmodels.sync(updated["_id"])  # the list rows show these
                return await self.full_view(updated)
        raise Conflict("保存过于频繁，请稍后重试", "version_conflict")

    async def _write_patch(self, doc: dict, merged: dict, keys: list[str], address: str | None) -> dict | None:
        """Write the merged fields, claiming/releasing the archive number; None on a lost race."""
        old_no, new_no = doc.get("archive_no"), archive_no(merged)
        claimed = bool(
            new_no
            and new_no != old_no
            and await self.store.claim_archive_no(new_no, doc["_id"], openid=doc["openid"], address=address)
        )
        name = (merged.get("profile") or {}).get("name")
        sets = {key: merged.get(key) for key in keys}
        sets.update(archive_no=new_no, rare_name=bool(name and is_rare(name)))
        updated = await self.store.write(doc, {"$set": sets})
        if updated is None:
            if claimed:
                await self.store.release_archive_no(new_no, doc["_id"])
            return None
        if old_no and old_no != new_no:
            await self.store.release_archive_no(old_no, doc["_id"])
        return updated

    async def submit(self, user: SessionUser, body: dict) -> dict:
        """Submit for review once the commitment is agreed and nothing is missing."""
        unknown = [k for k in body if k != "commitment"]
        if unknown:
            raise Invalid([{"field": k, "code": "unknown_field", "message": "不支持的字段"} for k in unknown])
        require_commitment(body)  # before anything is read: the request itself is incomplete
        lifecycle = self.services.get(Lifecycle)
        for _ in range(WRITE_RETRIES):
            doc = await self.store.load(user.record_id, user.openid)
            require_editable(doc)
            now = utcnow()
            try:
                updated = await lifecycle.step(
                    doc, "submit", Actor.applicant(user.openid), body, sets={"submitted_at": now, "commitment_at": now}
                )
            except Conflict as exc:
                if exc.code == "record_changed":
                    continue  # edited meanwhile: check again
                raise
            log.info("record submitted", extra={"fields": {"record_id": str(doc["_id"])}})
            return await self.full_view(updated)
        raise Conflict("提交过于频繁，请稍后重试", "version_conflict")

    def register_guards(self, lifecycle: Lifecycle) -> None:
        """The first collection's guards named in its table."""

        async def commitment(app: dict, body: dict) -> None:
            require_commitment(body)

        async def complete(app: dict, body: dict) -> None:
            self._check_complete(app)
            if app.get("archive_no"):
                await self.store.claim_archive_no(app["archive_no"], app["_id"])

        async def eligible(app: dict, body: dict) -> None:
            problem = ineligible(record_fields(app))
            if problem:
                raise Invalid([problem], problem["message"], "not_eligible")

        lifecycle.register_guard("commitment", commitment)
        lifecycle.register_guard("complete", complete)
        lifecycle.register_guard("eligible", eligible)

    def _check_complete(self, doc: dict) -> None:
        """Invalid (422) naming every bad or missing field, photo and document."""
        _, errors = validate_record(record_fields(doc), self.districts, today())
        missing = missing_items(doc)
        if errors or missing:
            labels = "、".join(m["message"].removeprefix("请填写").removeprefix("请上传") for m in missing[:5])
            message = (
                f"信息尚未填写完整：{labels}{'等' if len(missing) > 5 else ''}"
                if missing
                else "部分信息不符合要求，请修改后再提交"
            )
            raise Invalid([*errors, *missing], message, "record_incomplete")


def require_commitment(body: dict) -> None:
    """Invalid (422) unless the body agrees to the commitment (承诺书)."""
    if body.get("commitment") is not True:
        message = "请阅读并同意《承诺书》后再提交"
        raise Invalid(
            [{"field": "commitment", "code": "commitment_required", "message": message}], message, "commitment_required"
        )


def _decision(doc: dict) -> dict | None:
    """The reviewer's decision without internal fields."""
    decision = doc.get("decision")
    if not isinstance(decision, Mapping):
        return None
    return {k: decision.get(k) for k in ("decision", "reason", "reason_codes", "at") if k in decision}


def change_summary(app: dict) -> dict:
    """One change application in the record view."""
    return {
        "id": str(app["_id"]),
        "status": app.get("status"),
        "status_label": CHANGE.state_label(app.get("status")),
        "created_at": app.get("created_at"),
        "decided_at": app.get("decided_at"),
    }


class InboxService:
    """What the bureau told the caller (the outbox's notices of their applications), newest first."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(RecordStore)
        self.outbox = services.get(Outbox)

    async def _ids(self, user: SessionUser) -> list[str]:
        doc = await self.store.load(user.record_id, user.openid)
        store = self.services.get(LifecycleStore)
        apps = await store.applications_of(await store.archive_of(doc), doc)
        account = await store.account(user.openid) or {}
        known = {a["_id"] for a in apps}
        for app_id in account.get("recoveries") or []:  # the account's own recoveries (any record)
            if app_id not in known:
                app = await store.application(app_id)
                if app is not None:
                    apps.append(app)
        return notice_ids(apps) + list(account.get("notices") or [])  # + notices kept on the account

    async def list(self, user: SessionUser) -> dict:
        """Every message of the caller, newest first."""
        return await self.outbox.inbox(user.openid, await self._ids(user))

    async def mark_read(self, user: SessionUser, notice_id: str) -> dict:
        """Mark one of the caller's messages read (idempotent: the first read time is kept).

        A read mark is bookkeeping on the notice, not a change of the record: the record's
        version does not move, so a reviewer holding it is not sent a 409.
        """
        return await self.outbox.mark_read(user.openid, notice_id)
