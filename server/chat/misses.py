"""Questions the FAQ could not answer, counted per normalised question for staff."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Iterable
from contextlib import AsyncExitStack

from pymongo import DeleteOne

from faq.normalize import normalize
from server.db import utcnow
from server.lists import SortedList, bulk_load
from server.masking import mask_text

COLLECTION = "chat_misses"
MAX_QUESTION = 200
LIST = "faq_misses"  # the sorted list staff page through
META = "meta"
MARKER = "faq_misses_listed_v1"
FORGET_BATCH = 50  # misses forgotten per list write (and per bulk delete: FerretDB's limit)
COUNT_MAX = 10**10 - 1
TIME_MAX = 10**13 - 1


def miss_key(text: str) -> tuple[str, str]:
    """(id, normalised masked question) of a message: same question, same id."""
    question = mask_text(normalize(text) or text.strip())[:MAX_QUESTION]
    return hashlib.sha1(question.encode("utf-8")).hexdigest()[:20], question


def list_key(doc: dict) -> str:
    """The miss's place in the staff list: most frequent first, then most recent, then id."""
    count = max(0, min(int(doc.get("count") or 0), COUNT_MAX))
    last = doc.get("last_at")
    millis = int(last.timestamp() * 1000) if isinstance(last, dt.datetime) else 0
    return f"{COUNT_MAX - count:010d}|{TIME_MAX - millis:013d}|{doc['_id']}"


def list_row(doc: dict) -> dict:
    """A miss as staff read it."""
    return {
        "id": doc["_id"],
        "question": doc.get("question", ""),
        "sample": doc.get("sample", ""),
        "count": doc.get("count", 0),
        "candidates": doc.get("candidates", []),
        "out_of_scope": bool(doc.get("out_of_scope")),
        "first_at": doc.get("first_at"),
        "last_at": doc.get("last_at"),
    }


class MissLog:
    """Counts of unanswered questions (collection `chat_misses`), and the staff list of them in
    order (a sorted list, server/lists.py: a page costs a few `_id` reads however many distinct
    questions there are; sorting the collection took 2 s at 20,000 on FerretDB)."""

    def __init__(self, services):
        self.services = services
        self.coll = services.db[COLLECTION]
        self.sorted = SortedList(services.db, services.atomic, LIST)
        self._listed = False

    async def record(self, text: str, candidates: list[str], out_of_scope: bool = False) -> None:
        """Count one miss of this question (personal numbers masked), with the closest topics."""
        key, question = miss_key(text)
        now = utcnow()
        async with self.services.atomic.mutex(f"miss:{key}", wait=10.0):  # the count and its list place move together
            before = await self.services.atomic.update(
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
                before=True,
            )
            after = await self.coll.find_one({"_id": key})
            if after is not None:
                removes = [list_key(before)] if before else []
                await self.sorted.apply([(list_key(after), list_row(after))], removes)

    async def list(self, limit: int, offset: int) -> tuple[list[dict], int]:
        """The most frequent misses first, and how many distinct questions there are."""
        await self.ensure_listed()
        page, total = await asyncio.gather(self.sorted.page(offset, limit), self.sorted.count())
        return [row for _, row in page], total

    async def delete(self, miss_id: str) -> bool:
        """Forget a miss (e.g. once a topic covers it); False when unknown."""
        async with self.services.atomic.mutex(f"miss:{miss_id}", wait=10.0):
            doc = await self.coll.find_one({"_id": miss_id})
            if doc is None:
                return False
            await self.sorted.apply([], [list_key(doc)])
            return (await self.coll.delete_one({"_id": miss_id})).deleted_count == 1

    async def exists(self, miss_id: str) -> bool:
        """True while this miss is recorded."""
        return await self.coll.find_one({"_id": miss_id}, {"_id": 1}) is not None

    async def forget(self, miss_ids: Iterable[str]) -> int:
        """Forget several misses (a group staff dealt with); returns how many were still there.
        Fifty at a time: their mutexes taken in id order (so two of these never wait on each other
        in a cycle; `record` holds one at a time), one list write and one bulk delete per batch."""
        ids = sorted(set(miss_ids))
        forgotten = 0
        for start in range(0, len(ids), FORGET_BATCH):
            batch = ids[start : start + FORGET_BATCH]
            async with AsyncExitStack() as held:
                for miss_id in batch:
                    await held.enter_async_context(self.services.atomic.mutex(f"miss:{miss_id}", wait=10.0))
                found = await asyncio.gather(*(self.coll.find_one({"_id": miss_id}) for miss_id in batch))
                docs = [doc for doc in found if doc is not None]
                if docs:
                    await self.sorted.apply([], [list_key(doc) for doc in docs])
                    await self.coll.bulk_write([DeleteOne({"_id": doc["_id"]}) for doc in docs], ordered=False)
                forgotten += len(docs)
        return forgotten

    async def ensure_listed(self) -> None:
        """Misses stored before the list existed are listed once, in bulk (idempotent: a marker in
        `meta` says it was done; the list's mutex keeps concurrent recordings out meanwhile)."""
        if self._listed:
            return
        meta = self.services.db[META]
        if await meta.find_one({"_id": MARKER}) is None:
            rows = [(list_key(d), list_row(d)) async for d in self.coll.find({})]
            await bulk_load(self.services.db, LIST, rows, atomic=self.services.atomic)
            await meta.update_one({"_id": MARKER}, {"$set": {"at": utcnow(), "rows": len(rows)}}, upsert=True)
        self._listed = True
