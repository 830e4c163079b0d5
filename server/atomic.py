"""Conditional single-document updates that stay atomic on every supported server.

MongoDB applies `find_one_and_update(filter, update)` atomically: of two concurrent
callers with the same condition (status, version, lease) only one matches. FerretDB v1,
the local and CI database, does not: it reads the matching documents, then writes them
back by `_id`, so both callers "win" (measured: 49 of 50 races). Only its unique-key
inserts are atomic. On FerretDB the update of one document is therefore serialised
with a short-lived mutex document inserted under a unique `_id` (expiring, so a
crashed holder blocks nobody for long); on MongoDB the update runs as is.

Under that mutex the document is read by `_id` alone, the rest of the condition checked in
Python (`server.querymatch`), and the update written by `_id` alone: FerretDB v1 on SQLite
pushes only an `_id`-only filter down to SQL and reads the whole collection for any other.

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
from server.querymatch import matches

MUTEX_TTL = dt.timedelta(seconds=10)
declare_indexes("mutexes", expiring=True)


class Atomic:
    """Atomic conditional updates of one document (see module doc)."""

    def __init__(self, db: AsyncDatabase, serialize: bool):
        self.mutexes = db["mutexes"]
        self.serialize = serialize
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._local: dict[str, list] = {}  # key -> [asyncio.Lock, users]

    async def update(
        self,
        collection: AsyncCollection,
        filter: dict,
        update: dict | list,
        *,
        upsert: bool = False,
        projection: dict | None = None,
        before: bool = False,
    ) -> dict | None:
        """`find_one_and_update` returning the document after (or before) the change, or None.

        `filter` must name the document by `_id`.
        """
        if "_id" not in filter:
            raise ValueError("an atomic update must name its document by _id")
        rd = ReturnDocument.BEFORE if before else ReturnDocument.AFTER
        if not self.serialize:
            return await collection.find_one_and_update(
                filter, update, upsert=upsert, projection=projection, return_document=rd
            )
        async with self.mutex(f"{collection.name}:{filter['_id']}"):
            if isinstance(filter["_id"], dict):  # an operator on _id: no single document to read
                return await collection.find_one_and_update(
                    filter, update, upsert=upsert, projection=projection, return_document=rd
                )
            return await self._by_id(collection, filter, update, upsert, projection, rd)

    async def _by_id(
        self,
        collection: AsyncCollection,
        filter: dict,
        update: dict | list,
        upsert: bool,
        projection: dict | None,
        rd: bool,
    ) -> dict | None:
        """The serialised update with `_id`-only queries (FerretDB scans the collection for any other filter)."""
        by_id = {"_id": filter["_id"]}
        if len(filter) == 1:  # nothing to check: one call, as before
            return await collection.find_one_and_update(
                by_id, update, upsert=upsert, projection=projection, return_document=rd
            )
        current = await collection.find_one(by_id)
        if current is not None and matches(current, filter):
            after = await collection.find_one_and_update(by_id, update, projection=projection, return_document=rd)
            if after is not None or not upsert:
                return after
        elif not upsert:
            return None
        # Upsert without a matching document: the server builds the new document from the filter's
        # equality fields (or refuses a duplicate _id) exactly as before; rare, so the scan is acceptable.
        return await collection.find_one_and_update(
            filter, update, upsert=True, projection=projection, return_document=rd
        )

    @asynccontextmanager
    async def mutex(self, key: str, wait: float = 5.0):
        """Hold the named mutex (unique-key insert) for the block."""
        deadline = asyncio.get_running_loop().time() + wait
        # Contenders of this process queue in order on a local lock instead of all polling the
        # database (polling with backoff starves some waiters under load); only the head of the
        # queue competes for the mutex document with other processes.
        entry = self._local.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            try:
                await asyncio.wait_for(entry[0].acquire(), wait)
            except TimeoutError:
                raise Busy("操作繁忙，请稍后重试", "busy_retry") from None
            try:
                token = await self._take(key, deadline)
                try:
                    yield
                finally:
                    await self.mutexes.delete_one({"_id": key, "owner": token})
            finally:
                entry[0].release()
        finally:
            entry[1] -= 1
            if not entry[1]:
                self._local.pop(key, None)

    async def _take(self, key: str, deadline: float) -> str:
        """Insert the mutex document, waiting for its holder until `deadline`; the owner token."""
        token = f"{self.owner}-{uuid.uuid4().hex[:6]}"
        loop = asyncio.get_running_loop()
        delay = 0.002
        while True:
            now = utcnow()
            try:
                await self.mutexes.insert_one({"_id": key, "owner": token, "expires_at": now + MUTEX_TTL})
                return token
            except DuplicateKeyError:
                held = await self.mutexes.find_one({"_id": key})
                if held and held["expires_at"] < now:  # its holder crashed
                    await self.mutexes.delete_one({"_id": key, "owner": held["owner"]})
                    continue
            if loop.time() > deadline:
                raise Busy("操作繁忙，请稍后重试", "busy_retry")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
