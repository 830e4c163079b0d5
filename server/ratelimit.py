"""Per-key limits: `RateLimit` in this process's memory, `SharedLimit` in the database.

`RateLimit` (fixed windows) guards public endpoints. Bounded: at most `max_keys` keys are
remembered (the oldest window is dropped first), so a flood of addresses cannot grow the
process. Several processes each count their own share, which loosens the limit by the process
count; the endpoints that use it answer only what is not secret without a code that cannot be
guessed in any number of tries.

`SharedLimit` counts in one document per key and window (`rate_limits`, `_id` =
"<name>:<window>:<hash of the key>", an atomic `$inc` through `services.atomic.update`), so
every process shares one count. A slot is taken *before* the guarded work and given back when
the work turns out not to count, so concurrent requests cannot all pass a check that none of
them has counted yet. Its documents expire with their window (the expiry sweep).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections import OrderedDict

from server.db import declare_indexes
from server.errors import TooManyRequests

SHARED_COLLECTION = "rate_limits"
declare_indexes(SHARED_COLLECTION, expiring=True)


class RateLimit:
    """At most `limit` hits per key in each `window` seconds."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000, clock=time.monotonic):
        self.limit, self.window, self.max_keys, self.clock = limit, window, max_keys, clock
        self._hits: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def hit(self, key: str) -> None:
        """Count one request for `key`; TooManyRequests when over the limit."""
        now = self.clock()
        start, n = self._hits.get(key, (now, 0))
        if now - start >= self.window:
            start, n = now, 0
        if n >= self.limit:
            raise TooManyRequests(retry_after=max(1, math.ceil(start + self.window - now)))
        self._hits[key] = (start, n + 1)
        self._hits.move_to_end(key)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)


class PublicLimits:
    """The limits of this process's public endpoints (one set per running service)."""

    def __init__(self, services):
        self.sheet_checks = RateLimit(services.settings.public_query_per_minute, 60.0)
        # The public query (server/publicquery.py). Whether a name and an ID number have completed
        # collection is an oracle: counted in the database, so N processes do not allow N times as
        # many guesses. The published lists show only masked rows: counted in this process.
        self.status_queries = SharedLimit(services, "public-status", services.settings.public_query_per_minute, 60.0)
        self.list_pages = RateLimit(services.settings.public_query_per_minute, 60.0)


class SharedLimit:
    """At most `limit` counted events per key in each fixed `window` (seconds), shared by all processes.

    `take(key)` reserves one slot (TooManyRequests with Retry-After when the window is full);
    `give_back(slot)` returns it when the guarded work did not count after all.
    """

    def __init__(
        self,
        services,
        name: str,
        limit: int,
        window: float,
        message: str | None = None,
        code: str | None = None,
        clock=time.time,
    ):
        self.atomic = services.atomic
        self.collection = services.db[SHARED_COLLECTION]
        self.name, self.limit, self.window = name, limit, window
        self.message, self.code, self.clock = message, code, clock

    def slot_id(self, key: str, now: float) -> str:
        """The counter document of `key` in the window holding `now` (the key itself is not stored)."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"{self.name}:{int(now // self.window)}:{digest}"

    async def take(self, key: str) -> str:
        """Count one event for `key`; the slot's id, or TooManyRequests when the window is full."""
        now = self.clock()
        slot = self.slot_id(key, now)
        ends = (int(now // self.window) + 1) * self.window
        doc = await self.atomic.update(
            self.collection,
            {"_id": slot},
            {
                "$inc": {"n": 1},
                "$setOnInsert": {"expires_at": dt.datetime.fromtimestamp(ends + 60, dt.UTC)},
            },
            upsert=True,
        )
        if doc is not None and int(doc.get("n") or 0) > self.limit:
            await self.give_back(slot)
            raise TooManyRequests(self.message, self.code, retry_after=max(1, math.ceil(ends - now)))
        return slot

    async def give_back(self, slot: str) -> None:
        """Return a slot taken by `take` (the event did not count)."""
        await self.atomic.update(self.collection, {"_id": slot}, {"$inc": {"n": -1}})
