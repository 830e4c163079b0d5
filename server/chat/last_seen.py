"""When each chat follower last wrote to the official account (WeChat's 48-hour rule).

WeChat lets the official account send a customer-service message to a follower only within
48 hours of that follower's last interaction (a message; a subscribe, scan or click-menu
event; not a view-menu click or a location report). The webhook notes every inbound message here (`note`): a dictionary look-up on the
request's path, nothing awaited. The time is written as one `_id` upsert per follower into
`chat_last_seen` (`_id` = chat openid, `at`, `expires_at` = at + 48 h), at most once per
REFRESH per follower and process, and the upserts of one loop turn go to the database
together in one unordered bulk write (as the dedupe claims do). So the stored time may be up
to REFRESH older than the real last message: the window is read on the safe side. Documents
expire with the 48 hours (the expiry sweep), so the collection holds only followers within
the window: small enough for the announcement push to read whole.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from pymongo import UpdateOne

from server.db import declare_indexes, utcnow

log = logging.getLogger("kjcj.chat.last_seen")

COLLECTION = "chat_last_seen"
WINDOW = dt.timedelta(hours=48)  # WeChat's customer-service message window
REFRESH = 600.0  # seconds: a follower's time is written at most this often per process
MAX_MEMO = 50_000  # followers remembered per process before the memo starts afresh
MAX_BATCH = 500
# The events that open the window (WeChat's customer-service message rules); every message does.
OPENING_EVENTS = {"subscribe", "scan", "click", "scancode_push", "scancode_waitmsg"}
declare_indexes(COLLECTION, expiring=True)


class LastSeen:
    """Notes inbound chat messages and tells whether a follower is within the 48-hour window."""

    def __init__(self, services):
        self.coll = services.db[COLLECTION]
        self._written: dict[str, float] = {}  # chat openid -> monotonic time its write was queued
        self._pending: dict[str, dt.datetime] = {}
        self._task: asyncio.Task | None = None

    def note(self, fields: dict) -> None:
        """Record that the sender of this webhook message interacted now (never waits, never raises)."""
        openid = fields.get("FromUserName")
        if not isinstance(openid, str) or not openid or len(openid) > 64:
            return
        if fields.get("MsgType") == "event" and str(fields.get("Event", "")).lower() not in OPENING_EVENTS:
            return  # e.g. unsubscribe, a view-menu click, a location report: no window
        now = time.monotonic()
        last = self._written.get(openid)
        if last is not None and now - last < REFRESH:
            return
        if len(self._written) >= MAX_MEMO:
            self._written.clear()
        self._written[openid] = now
        self._pending[openid] = utcnow()
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._flush())
            except RuntimeError:  # no loop (a synchronous caller): nothing to write with
                self._pending.clear()

    async def _flush(self) -> None:
        """Write what is pending, in unordered bulk upserts, until nothing is left."""
        await asyncio.sleep(0)  # let the messages of this loop turn join the batch
        while self._pending:
            items = list(self._pending.items())[:MAX_BATCH]
            for openid, _ in items:
                del self._pending[openid]
            ops = [
                UpdateOne({"_id": openid}, {"$set": {"at": at, "expires_at": at + WINDOW}}, upsert=True)
                for openid, at in items
            ]
            try:
                await self.coll.bulk_write(ops, ordered=False)
            except Exception as exc:  # the database is away: these followers are written on their next message
                for openid, _ in items:
                    self._written.pop(openid, None)
                log.warning("chat last-seen times not written (%d followers): %s", len(items), type(exc).__name__)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) until the pending times are written."""
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task}, timeout=timeout)

    async def close(self) -> None:
        """Write what is pending (called by Services.close; bounded when the database is away)."""
        await self.drain(timeout=3.0)

    async def last(self, openid: str) -> dt.datetime | None:
        """The stored time of a follower's last interaction (None: not within the window)."""
        doc = await self.coll.find_one({"_id": openid})
        return doc.get("at") if doc else None

    async def within_window(self, openid: str, now: dt.datetime | None = None) -> bool:
        """True when the follower wrote within the last 48 hours."""
        at = await self.last(openid)
        return at is not None and at > (now or utcnow()) - WINDOW

    async def recent(self, now: dt.datetime | None = None) -> list[str]:
        """Every follower within the window (the collection holds only about those: it expires)."""
        since = (now or utcnow()) - WINDOW
        return [d["_id"] async for d in self.coll.find({}, {"at": 1}) if d.get("at") and d["at"] > since]
