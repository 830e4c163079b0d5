"""Staff FAQ entries in the database (extra topics for the engine) and their version counter.

Each staff entry is `faq_topics/{_id: topic id, title?, answer?, keywords?, synonyms?,
examples?, disabled, updated_at, updated_by}`; an entry with a built-in id overrides that
topic field by field. Every change bumps `faq_meta/topics.version`, which each server
process polls to reload its engine.
"""

from __future__ import annotations

from server.db import utcnow

TOPICS = "faq_topics"
META = "faq_meta"
VERSION_ID = "topics"
FIELDS = ("title", "answer", "keywords", "synonyms", "examples", "disabled")


class FaqStore:
    """Reads and writes staff FAQ entries; owns the version counter."""

    def __init__(self, services):
        self.services = services
        self.topics = services.db[TOPICS]
        self.meta = services.db[META]

    async def version(self) -> int:
        """The current version of the staff entries (0 before the first change)."""
        doc = await self.meta.find_one({"_id": VERSION_ID})
        return int(doc.get("version", 0)) if doc else 0

    async def entries(self) -> list[dict]:
        """Every staff entry, as stored, oldest id first."""
        return [doc async for doc in self.topics.find({}).sort("_id", 1)]

    async def extra_topics(self) -> list[dict]:
        """The entries in the shape `FaqEngine.load(extra_topics=...)` takes."""
        return [as_extra_topic(doc) for doc in await self.entries()]

    async def get(self, topic_id: str) -> dict | None:
        """One staff entry, or None."""
        return await self.topics.find_one({"_id": topic_id})

    async def save(self, topic_id: str, changes: dict, by: str, create: bool) -> dict:
        """Insert (create) or update an entry, then bump the version; returns the stored entry."""
        now = utcnow()
        if create:
            doc = {"_id": topic_id, **changes, "created_at": now, "created_by": by, "updated_at": now, "updated_by": by}
            await self.topics.insert_one(doc)
        else:
            doc = await self.services.atomic.update(
                self.topics,
                {"_id": topic_id},
                {
                    "$set": {**changes, "updated_at": now, "updated_by": by},
                    "$setOnInsert": {"created_at": now, "created_by": by},
                },
                upsert=True,
            )
        await self.bump()
        return doc

    async def bump(self) -> int:
        """Increment the version counter (serialised on FerretDB); returns the new version."""
        doc = await self.services.atomic.update(self.meta, {"_id": VERSION_ID}, {"$inc": {"version": 1}}, upsert=True)
        return int(doc["version"])


def as_extra_topic(doc: dict) -> dict:
    """A stored entry as an engine extra topic (`id` plus the fields it sets)."""
    out = {"id": doc["_id"]}
    for name in FIELDS:
        if name in doc and doc[name] is not None:
            out[name] = doc[name]
    return out
