"""Unique-key inserts grouped per event-loop turn: many claims, one `insert_many` round trip.

Under load many webhook requests are parsed in the same loop iteration; their dedupe
claims go to the database together (`ordered=False`), and each caller learns whether its
own document was inserted (True) or its key already existed (False). Each document is
still its own unique-key insert, so the claim semantics are those of `insert_one`; the
round trip, the driver's per-call cost and the database's per-write cost are shared
(measured on FerretDB: ~600 us of client CPU per insert_one, ~30 us per document in a batch).

Group commit: while `max_in_flight` batches are at the database, new claims wait and go
together in the next one, so batches grow with the load. At low load a claim is sent
on the next loop turn, alone.
"""

from __future__ import annotations

import asyncio

from bson import SON
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import WriteConcernError, WriteError

MAX_BATCH = 200
MAX_IN_FLIGHT = 1
DUPLICATE_KEY = 11000


class InsertBatcher:
    """Groups concurrent `insert(doc)` calls into unordered insert_many batches (group commit)."""

    def __init__(
        self,
        collection: AsyncCollection,
        max_batch: int = MAX_BATCH,
        max_in_flight: int = MAX_IN_FLIGHT,
        timeout: float | None = None,
    ):
        self.collection = collection
        self.timeout = timeout  # one timer per batch, not per caller
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._pending: list[tuple[dict, asyncio.Future]] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task] = set()

    async def insert(self, doc: dict) -> bool:
        """True when `doc` was inserted, False when its `_id` already existed; other errors raise."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((doc, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        """Send what is pending, in batches of at most max_batch, while fewer than max_in_flight are out."""
        self._scheduled = False
        while self._pending and len(self._tasks) < self.max_in_flight:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for the batches in flight; pending claims are sent first."""
        if self._pending:
            self._flush()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def _done(self, task: asyncio.Task) -> None:
        """A batch came back: send the claims that queued meanwhile."""
        self._tasks.discard(task)
        if self._pending:
            self._flush()

    async def _send(self, batch: list[tuple[dict, asyncio.Future]]) -> None:
        """One unordered `insert` command; resolve each caller's future from the per-document errors."""
        # a raw command, not insert_many: the driver's bulk machinery costs ~20 % more client CPU
        try:
            async with asyncio.timeout(self.timeout):
                reply = await self.collection.database.command(
                    SON(
                        [("insert", self.collection.name), ("documents", [doc for doc, _ in batch]), ("ordered", False)]
                    )
                )
            if reply.get("writeConcernError"):
                raise WriteConcernError(str(reply["writeConcernError"].get("errmsg", "write concern error")))
        except BaseException as exc:  # the whole batch failed (network, cancelled): every caller sees it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            if not isinstance(exc, Exception):
                raise
            return
        failed = {err["index"]: err for err in reply.get("writeErrors", [])}
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue
            err = failed.get(index)
            if err is None:
                future.set_result(True)
            elif err.get("code") == DUPLICATE_KEY:
                future.set_result(False)
            else:
                future.set_exception(WriteError(err.get("errmsg", "write error"), err.get("code"), err))
