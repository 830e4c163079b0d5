"""The accountant's own record: read, save drafts, submit; and the bureau's messages to them.

Rules live in the pure layer (`server.records`: validation, names, completeness); this
module loads the caller's record (by the session's record id and openid, never by a
client-supplied id), applies them, claims the archive number and writes with a
version condition through `RecordStore.write`.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from faq.normalize import to_simplified
from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.documents.service import document_view
from server.districts import deployment_districts
from server.errors import Conflict, Invalid, NotFound
from server.records import (
    OPTIONS, SECTIONS, Districts, apply_patch, archive_no, is_rare, missing_for_submission,
    options_payload, rare_characters, validate_patch, validate_record,
)
from server.records.store import EDITABLE, WRITE_RETRIES, RecordStore, record_fields, require_editable

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


def adapt_enum_labels(body: Mapping[str, Any]) -> dict:
    """Accept an option's Chinese label (simplified or traditional) or a case variant of its code."""
    out = dict(body)
    for section, fields in SECTIONS.items():
        values = out.get(section)
        if not isinstance(values, Mapping):
            continue
        values = dict(values)
        for name, value in values.items():
            spec = fields.get(name) if isinstance(name, str) else None
            if spec and spec.kind == "enum" and isinstance(value, str) and value.strip():
                table = _LABELS[spec.options or ""]
                values[name] = table.get(value.strip().lower()) or table.get(_label_key(value)) or value
        out[section] = values
    return out


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

    def options(self) -> dict:
        """Every closed list for the pickers, districts included."""
        return options_payload(self.districts)

    def view(self, doc: dict) -> dict:
        """The record as the mini-program sees it."""
        fields = record_fields(doc)
        name = fields["profile"].get("name") or ""
        status = doc.get("status", "draft")
        editable = status in EDITABLE
        photo = doc.get("photo")
        notices = (doc.get("notices") or {}).values()
        return {
            "id": doc["_id"], "status": status, "version": doc.get("version", 1), "editable": editable,
            **fields,
            "region": self.districts.get(fields["region_code"]) if fields["region_code"] else None,
            "archive_no": doc.get("archive_no"),
            "rare_name": bool(doc.get("rare_name")), "rare_characters": rare_characters(name) if name else [],
            "documents": {k: document_view(k, v) for k, v in (doc.get("documents") or {}).items()},
            "photo": {"uploaded_at": photo.get("uploaded_at"), "size": photo.get("size")} if photo else None,
            "missing": missing_items(doc) if editable else [],
            "history": [{k: h.get(k) for k in ("status", "at", "by", "reason") if k in h}
                        for h in doc.get("history") or []],
            "decision": _decision(doc) if status in ("approved", "rejected") else None,
            "submitted_at": doc.get("submitted_at"), "decided_at": doc.get("decided_at"),
            "unread_messages": sum(1 for n in notices if not n.get("read_at")),
            "created_at": doc.get("created_at"), "updated_at": doc.get("updated_at"),
        }

    async def get(self, user: SessionUser) -> dict:
        """The caller's record."""
        return self.view(await self.store.load(user.record_id, user.openid))

    async def patch(self, user: SessionUser, body: dict) -> dict:
        """Validate and save any subset of sections/fields (a draft); 422 lists every bad field."""
        body = adapt_enum_labels(body)
        for _ in range(WRITE_RETRIES):
            doc = await self.store.load(user.record_id, user.openid)
            require_editable(doc)
            current = record_fields(doc)
            normalised, errors = validate_patch(body, current, self.districts, today())
            if errors:
                raise Invalid(errors)
            if not normalised:
                return self.view(doc)
            merged = apply_patch(current, normalised)
            updated = await self._write_patch(doc, merged, list(normalised))
            if updated is not None:
                return self.view(updated)
        raise Conflict("保存过于频繁，请稍后重试", "version_conflict")

    async def _write_patch(self, doc: dict, merged: dict, keys: list[str]) -> dict | None:
        """Write the merged fields, claiming/releasing the archive number; None on a lost race."""
        old_no, new_no = doc.get("archive_no"), archive_no(merged)
        claimed = bool(new_no and new_no != old_no and await self.store.claim_archive_no(new_no, doc["_id"]))
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
        if body.get("commitment") is not True:
            message = "请阅读并同意《承诺书》后再提交"
            raise Invalid([{"field": "commitment", "code": "commitment_required", "message": message}],
                          message, "commitment_required")
        for _ in range(WRITE_RETRIES):
            doc = await self.store.load(user.record_id, user.openid)
            require_editable(doc)
            self._check_complete(doc)
            if doc.get("archive_no"):
                await self.store.claim_archive_no(doc["archive_no"], doc["_id"])
            now = utcnow()
            updated = await self.store.write(doc, {
                "$set": {"status": "submitted", "submitted_at": now, "commitment_at": now},
                "$push": {"history": {"status": "submitted", "at": now, "by": "self"}},
            })
            if updated is not None:
                log.info("record submitted", extra={"fields": {"record_id": str(doc["_id"])}})
                return self.view(updated)
        raise Conflict("提交过于频繁，请稍后重试", "version_conflict")

    def _check_complete(self, doc: dict) -> None:
        """Invalid (422) naming every bad or missing field, photo and document."""
        _, errors = validate_record(record_fields(doc), self.districts, today())
        missing = missing_items(doc)
        if errors or missing:
            labels = "、".join(m["message"].removeprefix("请填写").removeprefix("请上传") for m in missing[:5])
            message = f"信息尚未填写完整：{labels}{'等' if len(missing) > 5 else ''}" if missing else \
                "部分信息不符合要求，请修改后再提交"
            raise Invalid(errors + missing, message, "record_incomplete")


def _decision(doc: dict) -> dict | None:
    """The reviewer's decision without internal fields."""
    decision = doc.get("decision")
    if not isinstance(decision, Mapping):
        return None
    return {k: decision.get(k) for k in ("decision", "reason", "reason_codes", "at") if k in decision}


def message_view(notice: dict) -> dict:
    """One inbox message as the mini-program sees it (delivery internals left out)."""
    return {"id": notice.get("id"), "kind": notice.get("kind"), "title": notice.get("title"),
            "body": notice.get("body"), "data": notice.get("data") or {}, "created_at": notice.get("created_at"),
            "read_at": notice.get("read_at"), "read": bool(notice.get("read_at"))}


class InboxService:
    """What the bureau told the caller (record.notices), newest first, with read marks."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(RecordStore)

    async def list(self, user: SessionUser) -> dict:
        """Every message of the caller, newest first."""
        doc = await self.store.load(user.record_id, user.openid)
        notices = [n for n in (doc.get("notices") or {}).values() if isinstance(n, Mapping)]
        notices.sort(key=lambda n: n.get("created_at") or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
                     reverse=True)
        items = [message_view(n) for n in notices]
        return {"messages": items, "unread": sum(1 for m in items if not m["read"])}

    async def mark_read(self, user: SessionUser, notice_id: str) -> dict:
        """Mark one of the caller's messages read (idempotent: the first read time is kept).

        A read mark is bookkeeping, not a change of the record's content: it leaves
        `version` alone so that a reviewer holding the record is not sent a 409.
        """
        path = f"notices.{notice_id}"
        now = utcnow()
        updated = await self.services.atomic.update(
            self.store.records,
            {"_id": user.record_id, "openid": user.openid, f"{path}.id": notice_id, f"{path}.read_at": None},
            {"$set": {f"{path}.read_at": now}})
        doc = updated or await self.store.load(user.record_id, user.openid)
        notice = (doc.get("notices") or {}).get(notice_id)
        if not isinstance(notice, Mapping) or notice.get("id") != notice_id:
            raise NotFound("消息不存在", "message_not_found")
        return message_view(notice)
