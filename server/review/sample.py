"""Spot checks (抽查): a uniform random sample of approved records, without `$sample`.

FerretDB v1 has no `$sample`, so the sample is drawn as distinct random positions in a
stable order (count, then one skip per position); every approved record of the caller's
districts is equally likely and none appears twice.
"""
from __future__ import annotations

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
    total = await records.count_documents(query)
    positions = sorted(_random.sample(range(total), min(n, MAX_SAMPLE, total)))
    items = []
    for pos in positions:
        async for doc in records.find(query, ROW_PROJECTION).sort("_id", 1).skip(pos).limit(1):
            items.append(list_row(services.settings, doc))
    _random.shuffle(items)
    return {"items": items, "population": total}
