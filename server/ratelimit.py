"""A per-key request limit for public endpoints (fixed windows, in this process's memory).

Bounded: at most `max_keys` keys are remembered (the oldest window is dropped first), so a
flood of addresses cannot grow the process. Several processes each count their own share,
which loosens the limit by the process count; the endpoints that use it answer only what
is not secret without a code that cannot be guessed in any number of tries.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from server.errors import TooManyRequests


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
