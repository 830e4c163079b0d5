"""Progress: counts per state per district, and submissions per day (China time).

Counts are the sizes of the queue lists (read from their heads); submissions per day are
counted by the lifecycle as each submit step is derived, in one document per China-time
day (`daily_submissions`, `_id` = "YYYY-MM-DD", counts per district), idempotently.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from pymongo.errors import DuplicateKeyError

from server.db import utcnow
from server.districts import deployment_districts
from server.lifecycle.readmodel import queue_name
from server.lifecycle.store import Doc, step_key
from server.lifecycle.tables import COLLECTION
from server.lists import SortedList, counts
from server.notify.template import CHINA
from server.staff.model import Staff
from server.transfers.flows import flows

MAX_DAYS = 366
DAILY = "daily_submissions"


async def count_submission(services, app: Doc, step: Doc) -> None:
    """Count one submit step on its China-time day (idempotent on the step)."""
    at, region = step.get("at"), app.get("region_code")
    if not isinstance(at, dt.datetime) or not region:
        return
    day = at.astimezone(CHINA).date().isoformat()
    key = step_key(app["_id"], step["n"])
    try:
        await services.atomic.update(
            services.db[DAILY],
            {"_id": day, "applied": {"$ne": key}},
            {"$inc": {f"counts.{region}": 1}, "$push": {"applied": key}},
            upsert=True,
        )
    except DuplicateKeyError:
        pass  # counted already (the day's document exists and has this step)


async def status_counts(services, staff: Staff) -> dict[tuple[str, str], int]:
    """{(region_code, status): count} over the caller's districts."""
    pairs = [(r, s) for r in staff.regions for s in COLLECTION.states]
    lists = [SortedList(services.db, services.atomic, queue_name("collection", s, r)) for r, s in pairs]
    return dict(zip(pairs, await counts(lists)))


async def daily_submissions(services, staff: Staff, days: int) -> list[dict]:
    """Submissions (every submit, resubmissions too) per China-time day of the caller's districts, oldest first."""
    today = utcnow().astimezone(CHINA).date()
    dates = [today - dt.timedelta(days=days - 1 - i) for i in range(days)]
    docs = await asyncio.gather(*[services.db[DAILY].find_one({"_id": d.isoformat()}, {"counts": 1}) for d in dates])
    out = []
    for day, doc in zip(dates, docs):
        counts = (doc or {}).get("counts") or {}
        out.append({"date": day.isoformat(), "submitted": sum(n for r, n in counts.items() if staff.can_see(r))})
    return out


async def stats(services, staff: Staff, days: int) -> dict:
    """Per-district status counts (with totals) and the daily submission series."""
    counts, per_day, transfer_flows = await asyncio.gather(
        status_counts(services, staff), daily_submissions(services, staff, min(days, MAX_DAYS)), flows(services, staff)
    )
    districts = []
    totals = {s: 0 for s in COLLECTION.states}
    for d in deployment_districts(services.settings).districts:
        if not staff.can_see(d["code"]):
            continue
        row = {s: counts.get((d["code"], s), 0) for s in COLLECTION.states}
        for s, n in row.items():
            totals[s] += n
        districts.append(
            {"region_code": d["code"], "region_name": d["name"], "counts": row, "total": sum(row.values())}
        )
    return {
        "statuses": COLLECTION.states,
        "districts": districts,
        "totals": totals | {"total": sum(totals.values())},
        "per_day": per_day,
        "transfer_flows": transfer_flows,
    }
