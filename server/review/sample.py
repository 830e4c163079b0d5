"""Spot checks (抽查): a uniform random sample of approved records, without `$sample`.

FerretDB v1 has no `$sample`, so the ids of the population are read in one pass (ids only),
n distinct ones are drawn with a CSPRNG and those records are read by `_id`; every approved
record of the caller's districts is equally likely and none appears twice. (Skipping to n
random positions would cost one collection scan per record drawn on FerretDB.)
"""
from __future__ import annotations

import asyncio
import random

from server.review.queue import region_filter
from server.review.rows import ROW_PROJECTION, list_row
from server.staff.model import Staff

MAX_SAMPLE = 50
_random = random.SystemRandom()


async def draw_sample(services, staff: Staff, n: int, region: str | None = None) -> dict:
    """Up to `n` distinct approved records of the caller's districts, chosen at random."""
    query = {"status": "approved", **region_filter(services.settings, staff, region)}
    records = services.db["records"]
    ids = [doc["_id"] async for doc in records.find(query, {"_id": 1})]
    chosen = _random.sample(ids, min(n, MAX_SAMPLE, len(ids)))
    # Looked up by _id alone (FerretDB answers that from its key), then re-checked: it may have changed.
    found = await asyncio.gather(*[records.find_one({"_id": rid}, ROW_PROJECTION) for rid in chosen])
    items = [list_row(services.settings, doc) for doc in found
             if doc is not None and doc.get("status") == "approved" and staff.can_see(doc.get("region_code"))]
    return {"items": items, "population": len(ids)}
