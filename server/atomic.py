"""Conditional single-document updates that stay atomic on every supported server.

MongoDB applies `find_one_and_update(filter, update)` atomically: of two concurrent
callers with the same condition (status, version, lease) only one matches. FerretDB v1,
the local and CI database, does not: it reads the matching documents, then writes them
back by `_id`, so both callers "win" (measured: 49 of 50 races). Only its unique-key
inserts are atomic. On FerretDB the update of one document is therefore serialised
with a short-lived mutex document inserted under a unique `_id` (expiring, so a
crashed holder blocks nobody for long); on MongoDB the update runs as is.

Every conditional write of the code base goes through `Atomic.update`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from contextlib import asynccontextmanager

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from server.db import declare_indexes, utcnow
from server.errors import Busy

MUTEX_TTL = dt.timedelta(seconds=10)
declare_indexes("mutexes", expiring=True)


class Atomic:
    """Atomic conditional updates of one document (see module doc)."""

    def __init__(self, db: AsyncDatabase, serialize: bool):
        self.mutexes = db["mutexes"]
        self.serialize = serialize
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    async def update(self, collection: AsyncCollection, filter: dict, update: dict | list, *,
                     upsert: bool = False, projection: dict | None = None, before: bool = False) -> dict | None:
        """`find_one_and_update` returning the document after (or before) the change, or None.

        `filter` must name the document by `_id`.
        """
        if "_id" not in filter:
            raise ValueError("an atomic update must name its document by _id")
        rd = ReturnDocument.BEFORE if before else ReturnDocument.AFTER
        if not self.serialize:
            return await collection.find_one_and_update(filter, update, upsert=upsert, projection=projection,
                                                        return_document=rd)
        async with self.mutex(f"{collection.name}:{filter['_id']}"):
            return await collection.find_one_and_update(filter, update, upsert=upsert, projection=projection,
                                                        return_document=rd)

    @asynccontextmanager
    async def mutex(self, key: str, wait: float = 5.0):
        """Hold the named mutex (unique-key insert) for the block."""
        token = f"{self.owner}-{uuid.uuid4().hex[:6]}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        delay = 0.002
        while True:
            now = utcnow()
            try:
                await self.mutexes.insert_one({"_id": key, "owner": token, "expires_at": now + MUTEX_TTL})
                break
            except DuplicateKeyError:
                held = await self.mutexes.find_one({"_id": key})
                if held and held["expires_at"] < now:  # its holder crashed
                    await self.mutexes.delete_one({"_id": key, "owner": held["owner"]})
                    continue
            if loop.time() > deadline:
                raise Busy("操作繁忙，请稍后重试", "busy_retry")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            await self.mutexes.delete_one({"_id": key, "owner": token})
