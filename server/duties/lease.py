"""A job's lease on one state document (`_id` given): one process at a time runs the job.

The shape of server/filesweep.py's lease, for the yearly-duty jobs (the continuing-education
reminder rounds and the compliance summary): the state document holds `lease_owner`,
`lease_until` and `next_at`; it is taken, renewed and given back with `services.atomic.update`
naming the owner, so of several processes only one wins, and a holder that dies blocks the others
only until its lease runs out. Other fields of the state document belong to the job.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from server.db import utcnow

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class LeaseLost(Exception):
    """Another process holds the job's lease now (this one was too slow or paused)."""


class JobLease:
    """The lease of the job whose state is `collection[_id]` (one instance per run)."""

    def __init__(self, services, collection, key: str, length: dt.timedelta):
        self.services = services
        self.collection = collection
        self.key = key
        self.length = length
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:10]}"

    async def take(self, now: dt.datetime | None = None, due_only: bool = True, **fresh: Any) -> dict | None:
        """The state document once this process holds the lease, else None (held by another, or
        not due yet when `due_only`). `fresh` fields are set when the state document is first made."""
        now = now or utcnow()
        seen = await self.collection.find_one({"_id": self.key})
        if seen is None:
            try:
                await self.collection.insert_one(
                    {"_id": self.key, "lease_owner": None, "lease_until": EPOCH, "next_at": EPOCH, **fresh}
                )
            except DuplicateKeyError:
                pass  # another process made it meanwhile
        elif (seen.get("lease_until") or EPOCH) > utcnow() or (due_only and (seen.get("next_at") or EPOCH) > now):
            return None
        cond: dict[str, Any] = {"_id": self.key, "lease_until": {"$lt": utcnow()}}
        if due_only:
            cond["next_at"] = {"$lte": now}
        return await self.services.atomic.update(
            self.collection, cond, {"$set": {"lease_owner": self.token, "lease_until": utcnow() + self.length}}
        )

    async def renew(self, **fields: Any) -> None:
        """Extend the lease (and record `fields`) while it is still ours; LeaseLost otherwise."""
        kept = await self.services.atomic.update(
            self.collection,
            {"_id": self.key, "lease_owner": self.token, "lease_until": {"$gt": utcnow()}},
            {"$set": {"lease_until": utcnow() + self.length, **fields}},
        )
        if kept is None:
            raise LeaseLost(f"the lease of {self.key} was taken over")

    async def release(self, next_at: dt.datetime | None = None, **fields: Any) -> bool:
        """Give the lease back (the job next due at `next_at`, if given); False when it was not ours."""
        sets: dict[str, Any] = {"lease_owner": None, "lease_until": EPOCH, **fields}
        if next_at is not None:
            sets["next_at"] = next_at
        done = await self.services.atomic.update(
            self.collection, {"_id": self.key, "lease_owner": self.token}, {"$set": sets}
        )
        return done is not None
