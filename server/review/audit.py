"""The append-only audit log of staff and system steps (who, when, what, before and after).

Entries are derived from an application's recorded steps by the lifecycle engine and only
ever inserted; `_id` is "<application id>-<step n>" (entries migrated from the first
version keep "<record id>:<version after>"), so one step is logged once. Each entry is
also listed, newest first, per district and city-wide (server/lists.py), so a page of the
log costs a few `_id` reads. Staff read the entries of their own districts.
"""

from __future__ import annotations

import asyncio
import logging

from pymongo.errors import DuplicateKeyError

from server.errors import NotFound
from server.lifecycle.readmodel import ALL, audit_name, stamp
from server.lifecycle.store import Doc, LifecycleStore, step_key
from server.lifecycle.tables import Kind
from server.lists import SortedList, counts, merged_page
from server.staff.model import Staff

log = logging.getLogger("kjcj.audit")

MAX_PAGE_SIZE = 100
COLLECTION = "audit_log"


def entry_for(app: Doc, step: Doc, kind: Kind) -> Doc:
    """The audit entry of one step, built from the application and the step alone."""
    v = step.get("v")
    t = kind.transition(step.get("from") or "", step.get("action") or "")
    data = app if kind.name == "collection" else {}
    return {
        "_id": step_key(app["_id"], step["n"]),
        "record_id": str(app["_id"]),
        "kind": kind.name,
        "region_code": app.get("region_code"),
        "to_region": app.get("to_region"),  # a transfer's destination: its entries are listed there too
        "name": (data.get("profile") or {}).get("name") or "",
        "archive_no_tail": (app.get("archive_no") or "")[-4:],
        "actor": step.get("by"),
        "actor_role": step.get("staff_role") or step.get("role"),
        "at": step.get("at"),
        "action": step.get("action"),
        "reason": step.get("reason", ""),
        "reason_codes": step.get("reason_codes", []),
        "before": {"status": step.get("from"), "version": (v - 1) if isinstance(v, int) else None},
        "after": {"status": step.get("status"), "version": v},
        "notice_id": step_key(app["_id"], step["n"]) if t and t.notice else None,
    }


def entry_regions(entry: Doc) -> list[str]:
    """The districts whose audit lists hold an entry (a transfer's two) and "*" (the city's)."""
    return list(dict.fromkeys([r for r in (entry.get("region_code"), entry.get("to_region")) if r] + [ALL]))


def lists_for(services, entry: Doc) -> list[SortedList]:
    """The audit lists an entry belongs in."""
    return [SortedList(services.db, services.atomic, audit_name(r)) for r in entry_regions(entry)]


async def append(services, entry: Doc) -> None:
    """Insert one entry and list it (both idempotent on its `_id`)."""
    try:
        await services.db[COLLECTION].insert_one(entry)
    except DuplicateKeyError:
        pass
    row = {k: v for k, v in entry.items() if k != "_id"} | {"id": entry["_id"]}
    key = f"{stamp(entry.get('at'))}|{entry['_id']}"
    await asyncio.gather(*[lst.put(key, row) for lst in lists_for(services, entry)])


async def record(services, app: Doc, step: Doc, kind: Kind) -> None:
    """Log one step of an application."""
    await append(services, entry_for(app, step, kind))


def public(entry: Doc) -> Doc:
    """An audit entry as staff read it."""
    return {k: v for k, v in entry.items() if k != "_id"} | {"id": entry.get("id") or entry["_id"]}


async def list_entries(services, staff: Staff, record_id: str | None, page: int, page_size: int) -> dict:
    """Entries of the caller's districts, newest first; for one record, NotFound if it is not theirs."""
    page_size = min(page_size, MAX_PAGE_SIZE)
    offset = (page - 1) * page_size
    if record_id:
        store = services.get(LifecycleStore)
        app = await store.application(record_id)
        if app is None or not any(staff.can_see(app.get(k)) for k in ("region_code", "to_region")):
            raise NotFound("记录不存在或无权查看", "record_not_found")
        coll = services.db[COLLECTION]
        archive = await store.archive_of(app)
        ids: list[str] = []
        for one in (
            await store.applications_of(archive, app) if app.get("kind", "collection") == "collection" else [app]
        ):
            ids += [step_key(one["_id"], h["n"]) for h in one.get("history") or [] if isinstance(h.get("n"), int)]
            ids += list(one.get("legacy_audit") or [])
        ids += [f"spot-{s['id']}" for s in (archive or {}).get("spot_checks") or [] if s.get("outcome") == "confirmed"]
        found = [e for e in [await coll.find_one({"_id": i}) for i in dict.fromkeys(ids)] if e]
        found.sort(key=lambda e: (e.get("at"), str(e["_id"])), reverse=True)
        return {
            "items": [public(e) for e in found[offset : offset + page_size]],
            "page": page,
            "page_size": page_size,
            "total": len(found),
        }
    if staff.is_city_admin:
        lists = [SortedList(services.db, services.atomic, audit_name(ALL))]
    else:
        lists = [SortedList(services.db, services.atomic, audit_name(r)) for r in staff.regions]
    rows = await merged_page(lists, offset, page_size, reverse=True)
    total = sum(await counts(lists))
    return {"items": [row for _, row in rows], "page": page, "page_size": page_size, "total": total}
