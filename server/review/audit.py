"""The append-only audit log of decisions (who, when, what, before and after).

Entries are only ever inserted (no update or delete path exists); `_id` is
"<record id>:<version after>", so one transition is logged once. Staff read the entries
of their own districts.
"""
from __future__ import annotations

import asyncio
import logging

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from server.db import declare_indexes
from server.review.access import DECISIONS, visible_record
from server.staff.model import Staff

log = logging.getLogger("kjcj.audit")

MAX_PAGE_SIZE = 100
declare_indexes("audit_log",
                IndexModel([("region_code", ASCENDING), ("at", DESCENDING)], name="region_code_1_at_-1"),
                IndexModel([("record_id", ASCENDING), ("at", DESCENDING)], name="record_id_1_at_-1"))


async def append(services, entry: dict) -> None:
    """Insert one entry (idempotent on its `_id`)."""
    try:
        await services.db["audit_log"].insert_one(entry)
    except DuplicateKeyError:
        pass


def entry_for(record: dict) -> dict | None:
    """The audit entry of a record's latest decision, built from the record alone."""
    d = record.get("decision")
    if not isinstance(d, dict) or "version" not in d:
        return None
    status = DECISIONS.get(d.get("decision"))
    return {"_id": f"{record['_id']}:{d['version']}", "record_id": str(record["_id"]),
            "region_code": record.get("region_code"), "name": (record.get("profile") or {}).get("name") or "",
            "actor": d.get("by"), "actor_role": d.get("role"), "at": d.get("at"), "action": d.get("decision"),
            "reason": d.get("reason", ""), "reason_codes": d.get("reason_codes", []),
            "before": {"status": "submitted", "version": d["version"] - 1},
            "after": {"status": status, "version": d["version"]}, "notice_id": d.get("notice_id")}


async def log_decision(services, record: dict) -> None:
    """Append the audit entry of the record's latest decision, once (idempotent)."""
    entry = entry_for(record)
    if entry:
        await append(services, entry)


def public(entry: dict) -> dict:
    """An audit entry as staff read it."""
    return {k: v for k, v in entry.items() if k != "_id"} | {"id": entry["_id"]}


async def list_entries(services, staff: Staff, record_id: str | None, page: int, page_size: int) -> dict:
    """Entries of the caller's districts, newest first; for one record, NotFound if it is not theirs."""
    query = staff.jurisdiction()
    if record_id:
        query["record_id"] = str((await visible_record(services, staff, record_id, {"_id": 1}))["_id"])
    page_size = min(page_size, MAX_PAGE_SIZE)
    coll = services.db["audit_log"]
    cursor = coll.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).skip((page - 1) * page_size) \
        .limit(page_size)

    async def items() -> list[dict]:
        return [public(e) async for e in cursor]
    # both at once: FerretDB scans for each (as in the review queue)
    total, found = await asyncio.gather(coll.count_documents(query), items())
    return {"items": found, "page": page, "page_size": page_size, "total": total}
