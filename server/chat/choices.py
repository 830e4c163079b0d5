"""Numbered choices offered after a FAQ miss, kept in the database for 10 minutes.

Any server process may receive the person's "1/2/3", so the offer lives in
`chat_choices` (`_id` = the sender's openid, expiring).
"""

from __future__ import annotations

import datetime as dt

from pymongo.errors import DuplicateKeyError

from server.db import declare_indexes, utcnow

COLLECTION = "chat_choices"
TTL = dt.timedelta(minutes=10)
declare_indexes(COLLECTION, expiring=True)


class ChoiceStore:
    """The topics last offered to each person."""

    def __init__(self, services):
        self.coll = services.db[COLLECTION]

    async def offer(self, openid: str, topic_ids: list[str]) -> None:
        """Remember the offered topics (replacing an older offer)."""
        now = utcnow()
        doc = {"topics": list(topic_ids), "offered_at": now, "expires_at": now + TTL}
        try:
            await self.coll.replace_one({"_id": openid}, doc, upsert=True)
        except DuplicateKeyError:  # a concurrent first offer inserted it: replace it again
            await self.coll.replace_one({"_id": openid}, doc, upsert=True)

    async def pick(self, openid: str, number: int) -> str | None:
        """The topic behind choice `number` (1-based), or None when none is offered or it expired."""
        doc = await self.coll.find_one({"_id": openid})
        if not doc or doc["expires_at"] < utcnow():
            return None
        topics = doc.get("topics") or []
        return topics[number - 1] if 1 <= number <= len(topics) else None
