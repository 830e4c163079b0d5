"""Spot checks (抽查): a uniform random sample of approved records, and the outcome of a check.

FerretDB v1 has no `$sample`. The population is the caller's districts' lists of approved
first collections (their sizes are in the list heads); n distinct positions are drawn with
a CSPRNG and each is read from its list, so every approved record of those districts is
equally likely, none appears twice, and a draw costs a few `_id` reads per record.
"""

from __future__ import annotations

import random

from server.lifecycle.readmodel import queue_name
from server.lists import SortedList, counts
from server.review.queue import regions_of, show
from server.staff.model import Staff

MAX_SAMPLE = 50
_random = random.SystemRandom()


async def draw_sample(services, staff: Staff, n: int, region: str | None = None) -> dict:
    """Up to `n` distinct approved records of the caller's districts, chosen at random."""
    lists = [
        SortedList(services.db, services.atomic, queue_name("collection", "approved", r))
        for r in regions_of(services.settings, staff, region)
    ]
    sizes = await counts(lists)
    population = sum(sizes)
    picks = _random.sample(range(population), min(n, MAX_SAMPLE, population))
    rows = []
    for pick in picks:
        for lst, size in zip(lists, sizes):
            if pick < size:
                rows += await lst.page(pick, 1)
                break
            pick -= size
    items = [show(services.settings, r) for _, r in rows if r.get("status") == "approved"]
    return {"items": list({i["id"]: i for i in items}.values()), "population": population}
