"""A bounded worker-thread pool for CPU work off the IOLoop (photo pipeline, document cleaning)."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from server.errors import Busy

T = TypeVar("T")
RETRY_AFTER_MAX = 60


class BoundedPool:
    """A thread pool that refuses work beyond `workers + queue` running-or-waiting jobs.

    The slot is taken synchronously on the IOLoop (no await between the check and the
    increment) and given back when the job itself ends, even if the awaiting request was
    cancelled meanwhile, so abandoned jobs still count until their thread is free.
    """

    def __init__(
        self,
        workers: int,
        queue: int,
        name: str,
        busy_message: str,
        busy_code: str,
        first_estimate: float = 1.0,
        retry_after: int | None = None,
    ):
        self.busy_message, self.busy_code = busy_message, busy_code
        self.fixed_retry_after = retry_after  # None: estimated from the measured job durations
        self.workers = workers
        self.limit = workers + queue
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._pending = 0
        self._seconds = first_estimate  # moving average of one job's duration, in seconds

    @property
    def pending(self) -> int:
        """Jobs running or waiting for a thread."""
        return self._pending

    def retry_after(self) -> int:
        """Seconds after which a retry has a fair chance: the queue drained at the measured rate."""
        if self.fixed_retry_after is not None:
            return self.fixed_retry_after
        estimate = self._seconds * max(1, self._pending) / self.workers
        return max(1, min(RETRY_AFTER_MAX, math.ceil(estimate)))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a worker thread, or raise Busy at once when the pool is full."""
        with self._lock:
            if self._pending >= self.limit:
                raise Busy(self.busy_message, self.busy_code, retry_after=self.retry_after())
            self._pending += 1
        try:
            future = self.pool.submit(self._timed, fn, *args)
        except BaseException:  # shut down
            self._release()
            raise
        future.add_done_callback(lambda _f: self._release())
        return await asyncio.wrap_future(future)

    def _timed(self, fn: Callable[..., T], *args: Any) -> T:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self._seconds = 0.8 * self._seconds + 0.2 * elapsed

    def _release(self) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        """Stop the threads; queued jobs are cancelled."""
        self.pool.shutdown(wait=False, cancel_futures=True)
