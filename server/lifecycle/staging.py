"""Files a person uploads before the application that uses them (one request per file, as
wx.uploadFile sends them): kept on the account under a slot until the application takes them.

A staged file is sniffed and cleaned like every document; staging another file in the same
slot replaces (and deletes) the older one. The application consumes the slot with a
conditional update naming the file, so a file staged meanwhile is not lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.db import utcnow
from server.documents.service import DocumentService, document_view
from server.documents.sniff import EXTENSIONS, require_type
from server.errors import BadRequest, Invalid
from server.lifecycle.store import Doc, LifecycleStore
from server.records.store import RecordStore


async def stage(services, openid: str, slot: str, data: bytes, label: str = "") -> Doc:
    """Keep an uploaded file in the caller's account slot; its document view."""
    documents = services.get(DocumentService)
    store = services.get(LifecycleStore)
    if not data:
        raise BadRequest("上传的文件为空，请重新选择文件", "empty_file")
    if len(data) > services.settings.upload_max_bytes:
        raise documents.too_large()
    content_type = require_type(data)
    cleaned = await documents.clean(data, content_type)
    info = await services.files.put(
        cleaned, f"{slot}.{EXTENSIONS[content_type]}", content_type, metadata={"openid": openid, "kind": slot}
    )
    entry = {**info, "uploaded_at": utcnow()}
    before = await services.atomic.update(store.accounts, {"_id": openid}, {"$set": {slot: entry}}, before=True)
    old = (before or {}).get(slot)
    if old and old.get("file_id") != entry["file_id"]:
        await services.files.delete(old["file_id"])
    return document_view(slot, entry) | {"url": None, **({"label": label} if label else {})}


async def stage_slot(services, user, slots: Mapping[str, str], slot: Any, data: bytes) -> Doc:
    """Stage a file in one of an application kind's slots ({slot: label}) for the caller (whose
    record must still be theirs); 422 `invalid_slot` for another slot."""
    if slot not in slots:
        message = f"slot 只能是 {'、'.join(slots)}"
        raise Invalid([{"field": "slot", "code": "invalid", "message": message}], "材料类型不正确", "invalid_slot")
    await services.get(RecordStore).load(user.record_id, user.openid)
    return await stage(services, user.openid, slot, data, slots[slot])


def staged_view(slot: str, entry: Doc | None, label: str = "") -> Doc | None:
    """A staged file as the person sees it (no download URL)."""
    if not entry:
        return None
    return document_view(slot, entry) | {"url": None, **({"label": label} if label else {})}


def staged_slots(account: Doc, slots: Mapping[str, str]) -> Doc:
    """An overview's `staged` (each slot's staged file or None) and `slots` ([{code, label}]) for a kind's slots."""
    return {
        "staged": {s: staged_view(s, account.get(s), label) for s, label in slots.items()},
        "slots": [{"code": s, "label": label} for s, label in slots.items()],
    }


async def consume(services, openid: str, slot: str, entry: Doc) -> None:
    """Empty the slot if it still holds this file (the application now owns it)."""
    store = services.get(LifecycleStore)
    await services.atomic.update(
        store.accounts, {"_id": openid, f"{slot}.file_id": entry["file_id"]}, {"$set": {slot: None}}
    )
