"""Questions the FAQ could not answer, counted per normalised question for staff."""

from __future__ import annotations

import hashlib

from pymongo import DESCENDING, IndexModel

from faq.normalize import normalize
from server.db import declare_indexes, utcnow
from server.masking import mask_text

COLLECTION = "chat_misses"
MAX_QUESTION = 200
declare_indexes(COLLECTION, IndexModel([("count", DESCENDING), ("last_at", DESCENDING)], name="count_last"))


def miss_key(text: str) -> tuple[str, str]:
    """(id, normalised masked question) of a message: same question, same id."""
    question = mask_text(normalize(text) or text.strip())[:MAX_QUESTION]
    return hashlib.sha1(question.encode("utf-8")).hexdigest()[:20], question


class MissLog:
    """Counts of unanswered questions (collection `chat_misses`)."""

    def __init__(self, services):
        self.services = services
        self.coll = services.db[COLLECTION]

    async def record(self, text: str, candidates: list[str], out_of_scope: bool = False) -> None:
        """Count one miss of this question (personal numbers masked), with the closest topics."""
        key, question = miss_key(text)
        now = utcnow()
        await self.services.atomic.update(
            self.coll,
            {"_id": key},
            {
                "$inc": {"count": 1},
                "$set": {
                    "last_at": now,
                    "sample": mask_text(text.strip())[:MAX_QUESTION],
                    "candidates": candidates,
                    "out_of_scope": out_of_scope,
                },
                "$setOnInsert": {"question": question, "first_at": now},
            },
            upsert=True,
        )

    async def list(self, limit: int, offset: int) -> tuple[list[dict], int]:
        """The most frequent misses first, and how many distinct questions there are."""
        cursor = self.coll.find({}).sort([("count", DESCENDING), ("last_at", DESCENDING)]).skip(offset).limit(limit)
        items = [
            {
                "id": d["_id"],
                "question": d.get("question", ""),
                "sample": d.get("sample", ""),
                "count": d.get("count", 0),
                "candidates": d.get("candidates", []),
                "out_of_scope": bool(d.get("out_of_scope")),
                "first_at": d.get("first_at"),
                "last_at": d.get("last_at"),
            }
            async for d in cursor
        ]
        return items, await self.coll.count_documents({})

    async def delete(self, miss_id: str) -> bool:
        """Forget a miss (e.g. once a topic covers it); False when unknown."""
        return (await self.coll.delete_one({"_id": miss_id})).deleted_count == 1
