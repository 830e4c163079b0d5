"""Transfer flows between districts for staff: counts per (from, to) pair and state, and how long
the pending ones have waited. Read from the transfer kinds' "every state" lists (a transfer
is listed in both its districts), so the cost grows with the number of transfers, not archives.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from server.db import utcnow
from server.districts import district_name
from server.lifecycle.readmodel import ALL, queue_name
from server.lifecycle.tables import KINDS, TRANSFER_IN, TRANSFER_KINDS, TRANSFER_OUT
from server.lists import SortedList, counts
from server.staff.model import Staff

OUTSIDE = "outside"
OUTSIDE_LABEL = "区外"


def _ends(row: dict) -> tuple[str, str]:
    """(from, to) district codes of a transfer row ("outside" for the other end of an out or in)."""
    if row.get("kind") == TRANSFER_OUT.name:
        return row.get("region_code") or "", OUTSIDE
    if row.get("kind") == TRANSFER_IN.name:
        return OUTSIDE, row.get("region_code") or ""
    return row.get("region_code") or "", row.get("to_region") or ""


async def _rows(services, staff: Staff) -> list[dict]:
    regions = [ALL] if staff.is_city_admin else list(staff.regions)
    lists = [SortedList(services.db, services.atomic, queue_name(k, ALL, r)) for k in TRANSFER_KINDS for r in regions]
    sizes = await counts(lists)
    pages = await asyncio.gather(*[lst.page(0, n) for lst, n in zip(lists, sizes) if n])
    seen: dict[str, dict] = {}
    for page in pages:
        for _, row in page:
            seen.setdefault(row["id"], row)
    return list(seen.values())


async def flows(services, staff: Staff) -> list[dict]:
    """One entry per (kind, from, to) pair the caller may see: counts per state, pending count and ages."""
    now = utcnow()
    pairs: dict[tuple[str, str, str], dict] = {}
    for row in await _rows(services, staff):
        kind = KINDS[row["kind"]]
        start, end = _ends(row)
        entry = pairs.setdefault(
            (kind.name, start, end),
            {
                "kind": kind.name,
                "kind_label": kind.label,
                "from_region": start,
                "from_region_name": OUTSIDE_LABEL if start == OUTSIDE else district_name(services.settings, start),
                "to_region": end,
                "to_region_name": OUTSIDE_LABEL if end == OUTSIDE else district_name(services.settings, end),
                "counts": dict.fromkeys(kind.states, 0),
                "pending": 0,
                "oldest_pending_days": None,
                "total": 0,
            },
        )
        entry["counts"][row.get("status")] = entry["counts"].get(row.get("status"), 0) + 1
        entry["total"] += 1
        submitted = row.get("submitted_at")
        if row.get("status") in kind.open_states:
            entry["pending"] += 1
            if isinstance(submitted, dt.datetime):
                age = (now - submitted).total_seconds() / 86400
                entry["oldest_pending_days"] = round(max(age, entry["oldest_pending_days"] or 0), 1)
    return sorted(
        pairs.values(), key=lambda e: (-e["pending"], -e["total"], e["kind"], e["from_region"], e["to_region"])
    )
