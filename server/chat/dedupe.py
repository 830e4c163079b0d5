"""Retry dedupe in the database: a unique-key insert claims a message; the reply is kept on it.

WeChat resends a message it got no answer for after 5 s, up to three times, possibly to
another server process. The first process to insert `_id = key` owns the message; every
other copy answers the reply stored on the claim (waiting briefly while it is pending).
Claims made in the same loop turn share one round trip (`InsertBatcher`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from pymongo.errors import DuplicateKeyError

from server.chat.batch import InsertBatcher
from server.db import declare_indexes, utcnow

COLLECTION = "chat_dedupe"
TTL = dt.timedelta(minutes=10)
WAIT_FOR_REPLY = 4.0  # seconds a retry waits for the first copy to finish
CLAIM_TIMEOUT = 3.0  # seconds a claim may take before it fails (WeChat waits 5 s for the answer)
declare_indexes(COLLECTION, expiring=True)


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a message: `owner` or the reply stored by the owner."""

    owner: bool
    reply: str | None = None


def message_key(fields: dict) -> str | None:
    """MsgId for messages; sender + CreateTime + event (+ EventKey) for events; None when neither exists.

    WeChat's retry of an event repeats its EventKey, so a retry still finds the first copy's claim,
    while two different menu taps in the same second (same sender and CreateTime) are two events."""
    msg_id = fields.get("MsgId")
    if isinstance(msg_id, str) and msg_id.strip():
        return "m:" + msg_id.strip()
    sender, created = fields.get("FromUserName"), fields.get("CreateTime")
    if isinstance(sender, str) and sender and isinstance(created, str) and created:
        event = fields.get("Event")
        key = f"e:{sender}:{created}:{event if isinstance(event, str) else ''}"
        event_key = fields.get("EventKey")
        return f"{key}:{event_key[:256]}" if isinstance(event_key, str) and event_key else key
    return None


class Dedupe:
    """Claims and replies of recently received messages (collection `chat_dedupe`)."""

    def __init__(self, services):
        self.coll = services.db[COLLECTION]
        self.inserts = InsertBatcher(self.coll, timeout=CLAIM_TIMEOUT)

    async def claim(self, key: str, reply: str | None = None, done: bool = False) -> Claim:
        """Insert the claim (with its reply when `done`); a copy gets the stored reply."""
        # a finished claim has a `reply` field (None = "success"); a pending one has none
        doc = {"_id": key, "expires_at": utcnow() + TTL}
        if done:
            doc["reply"] = reply
        if await self.inserts.insert(doc):
            return Claim(True)
        return await self._wait(key, doc)

    async def close(self) -> None:
        """Let batches already sent finish (called by Services.close)."""
        await self.inserts.drain()

    async def finish(self, key: str, reply: str | None) -> None:
        """Store the owner's reply for the copies that follow."""
        await self.coll.update_one({"_id": key}, {"$set": {"reply": reply}})

    async def release(self, key: str) -> None:
        """Drop a claim whose processing failed, so a later copy may try again."""
        await self.coll.delete_one({"_id": key, "reply": {"$exists": False}})

    async def _wait(self, key: str, doc: dict) -> Claim:
        """The stored reply of an earlier copy, polling while it is being processed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_REPLY
        delay = 0.02
        while True:
            found = await self.coll.find_one({"_id": key})
            if found is None or found["expires_at"] < utcnow():  # released or stale: claim afresh
                await self.coll.delete_one({"_id": key, "expires_at": {"$lt": utcnow()}})
                try:
                    await self.coll.insert_one({**doc, "expires_at": utcnow() + TTL})
                    return Claim(True)
                except DuplicateKeyError:
                    found = await self.coll.find_one({"_id": key})
            if found and "reply" in found:
                return Claim(False, found["reply"])
            if loop.time() > deadline:
                return Claim(False, None)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
