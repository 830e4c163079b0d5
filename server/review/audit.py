"""The append-only audit log of decisions (who, when, what, before and after).

Entries are only ever inserted (no update or delete path exists); `_id` is
"<record id>:<version after>", so one transition is logged once. Staff read the entries
of their own districts.
"""
from __future__ import annotations

import logging

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from server.review.access import record_oid, visible_record
from server.staff.model import Staff

log = logging.getLogger("kjcj.audit")

MAX_PAGE_SIZE = 100


async def append(services, entry: dict) -> None:
    """Insert one entry (idempotent on its `_id`)."""
    try:
        await services.db["audit_log"].insert_one(entry)
    except DuplicateKeyError:
        pass


def public(entry: dict) -> dict:
    """An audit entry as staff read it."""
    return {k: v for k, v in entry.items() if k != "_id"} | {"id": entry["_id"]}


async def list_entries(services, staff: Staff, record_id: str | None, page: int, page_size: int) -> dict:
    """Entries of the caller's districts, newest first; for one record, NotFound if it is not theirs."""
    query = staff.jurisdiction()
    if record_id:
        await visible_record(services, staff, record_id, {"_id": 1})
        query["record_id"] = str(record_oid(record_id))
    page_size = min(page_size, MAX_PAGE_SIZE)
    coll = services.db["audit_log"]
    total = await coll.count_documents(query)
    cursor = coll.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).skip((page - 1) * page_size) \
        .limit(page_size)
    return {"items": [public(e) async for e in cursor], "page": page, "page_size": page_size, "total": total}
