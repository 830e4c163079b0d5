"""Finding a record within the caller's jurisdiction (anything else is NotFound)."""
from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId

from server.errors import NotFound
from server.records.names import is_rare
from server.staff.model import Staff

STATUS_LABELS = {"draft": "填写中", "submitted": "待审核", "approved": "已通过", "rejected": "已退回"}
DECISIONS = {"approve": "approved", "reject": "rejected"}  # a reviewer's decision -> the record's status


def status_label(status: str | None) -> str:
    """The Chinese label of a record status (unknown ones as they are)."""
    return STATUS_LABELS.get(status, status or "")


def rare_name(doc: dict) -> bool:
    """Flagged as a rare-character name, or a name with characters outside GB 2312."""
    name = (doc.get("profile") or {}).get("name") or ""
    return bool(doc.get("rare_name")) or (bool(name) and is_rare(name))


def record_not_found() -> NotFound:
    """The one answer for a missing record and for one outside the caller's districts."""
    return NotFound("记录不存在或无权查看", "record_not_found")


def record_oid(record_id: str) -> ObjectId:
    """The ObjectId of a record id, or NotFound."""
    try:
        return ObjectId(str(record_id))
    except (InvalidId, TypeError):
        raise record_not_found() from None


async def visible_record(services, staff: Staff, record_id: str, projection: dict | None = None) -> dict:
    """The record if it exists and is in the caller's districts, else NotFound."""
    doc = await services.db["records"].find_one({"_id": record_oid(record_id), **staff.jurisdiction()}, projection)
    if doc is None:
        raise record_not_found()
    return doc
