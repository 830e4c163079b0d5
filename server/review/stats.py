"""Progress: counts per status per district, and submissions per day (China time)."""
from __future__ import annotations

import asyncio
import datetime as dt

from server.db import utcnow
from server.notify.template import CHINA
from server.review.access import STATUS_LABELS
from server.districts import deployment_districts
from server.staff.model import Staff

MAX_DAYS = 366


async def status_counts(services, staff: Staff) -> dict[tuple[str, str], int]:
    """{(region_code, status): count} over the caller's districts."""
    pipeline = [{"$match": staff.jurisdiction()},
                {"$group": {"_id": {"region": "$region_code", "status": "$status"}, "n": {"$sum": 1}}}]
    out: dict[tuple[str, str], int] = {}
    async for row in await services.db["records"].aggregate(pipeline):
        out[(row["_id"].get("region"), row["_id"].get("status"))] = row["n"]
    return out


async def daily_submissions(services, staff: Staff, days: int) -> list[dict]:
    """Submissions (every submit in the history, resubmissions too) per China-time day, oldest first."""
    today = utcnow().astimezone(CHINA).date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), CHINA).astimezone(dt.timezone.utc)
    counts = {first + dt.timedelta(days=i): 0 for i in range(days)}
    # The latest submitted_at is at least as late as any earlier submit, so this finds them all.
    query = {**staff.jurisdiction(), "submitted_at": {"$gte": since}}
    async for doc in services.db["records"].find(query, {"history": 1, "submitted_at": 1}):
        times = [h.get("at") for h in doc.get("history") or [] if isinstance(h, dict) and h.get("status") == "submitted"]
        for at in times or [doc.get("submitted_at")]:
            if isinstance(at, dt.datetime) and at >= since:
                day = at.astimezone(CHINA).date()
                if day in counts:
                    counts[day] += 1
    return [{"date": day.isoformat(), "submitted": n} for day, n in counts.items()]


async def stats(services, staff: Staff, days: int) -> dict:
    """Per-district status counts (with totals) and the daily submission series."""
    counts, per_day = await asyncio.gather(status_counts(services, staff),
                                           daily_submissions(services, staff, min(days, MAX_DAYS)))
    districts = []
    totals = {s: 0 for s in STATUS_LABELS}
    for d in deployment_districts(services.settings).districts:
        if not staff.can_see(d["code"]):
            continue
        row = {s: counts.get((d["code"], s), 0) for s in STATUS_LABELS}
        for s, n in row.items():
            totals[s] += n
        districts.append({"region_code": d["code"], "region_name": d["name"], "counts": row,
                          "total": sum(row.values())})
    return {"statuses": STATUS_LABELS, "districts": districts, "totals": totals | {"total": sum(totals.values())},
            "per_day": per_day}
