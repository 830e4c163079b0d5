"""The async MongoDB client, index declarations and the expiry sweep.

Modules declare their indexes at import time with `declare_indexes`; `ensure_indexes`
creates them all at start-up (idempotent). Expiring documents carry `expires_at`, which
reads check; `sweep_expired` deletes stale ones periodically (once a minute, by one of the server
processes), since FerretDB v1 has no TTL indexes (on real MongoDB a TTL index is added as well).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

log = logging.getLogger("kjcj.db")

_INDEXES: dict[str, list[IndexModel]] = {}
_EXPIRING: set[str] = set()


def declare_indexes(collection: str, *models: IndexModel, expiring: bool = False) -> None:
    """Register indexes for a collection; `expiring` adds it to the expires_at sweep."""
    existing = _INDEXES.setdefault(collection, [])
    names = {m.document["name"] for m in existing}
    existing.extend(m for m in models if m.document["name"] not in names)
    if expiring:
        _EXPIRING.add(collection)
        declare_indexes(collection, IndexModel([("expires_at", ASCENDING)], name="expires_at"))


def expiring_collections() -> set[str]:
    """Collections whose documents carry `expires_at`."""
    return set(_EXPIRING)


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC, truncated to milliseconds (BSON precision)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# While the database is away, an operation waits this long for it before it fails (then the request
# is a 503 `database_unavailable`, handlers/base.py). Short enough for a bounded answer (most requests
# fail at their first call, in 2.2-2.6 s; one interrupted mid-step makes its clean-up calls too: 6.3 s
# measured; tests/test_outage.py), long enough that a database the watchdog restarts
# (server/runtime.py, answering again ~1 s after it died) is waited for, not failed.
SERVER_SELECTION_MS = 2000
CONNECT_MS = 2000


def connect(uri: str, **kwargs) -> AsyncMongoClient:
    """An AsyncMongoClient with timezone-aware datetimes and short timeouts."""
    opts: dict[str, Any] = dict(
        tz_aware=True, serverSelectionTimeoutMS=SERVER_SELECTION_MS, connectTimeoutMS=CONNECT_MS, appname="kjcj"
    )
    opts.update(kwargs)
    return AsyncMongoClient(uri, **opts)


async def is_ferretdb(db: AsyncDatabase) -> bool:
    """True when the server is FerretDB (no TTL, partial indexes, $sample, $lookup)."""
    info = await db.client.admin.command("buildInfo")
    return "ferretdbVersion" in info or "ferretdb" in str(info.get("ferretdbFeatures", "")).lower()


async def ensure_indexes(db: AsyncDatabase, ttl: bool = False) -> None:
    """Create every declared index (plus TTL indexes where `ttl`); safe on every start."""
    for name, models in _INDEXES.items():
        for model in models:  # one per call: FerretDB v1 drops the connection when a call re-creates 2+
            if ttl and name in _EXPIRING and model.document["name"] == "expires_at":
                # MongoDB: the same key as a TTL index (both kinds on one key are refused).
                model = IndexModel([("expires_at", ASCENDING)], name="expires_at", expireAfterSeconds=0)
            try:
                await db[name].create_indexes([model])
            except OperationFailure as exc:  # e.g. an older non-TTL expires_at index
                log.warning("index %s on %s not created: %s", model.document["name"], name, exc)


async def sweep_expired(db: AsyncDatabase) -> int:
    """Delete documents whose `expires_at` has passed; return how many."""
    now = utcnow()
    total = 0
    for name in sorted(_EXPIRING):
        result = await db[name].delete_many({"expires_at": {"$lt": now}})
        total += result.deleted_count
    return total


SWEEP_CLAIMS = "sweep_claims"  # one unique-key insert per period: the process that wins it sweeps
declare_indexes(SWEEP_CLAIMS, expiring=True)


async def claim_sweep(db: AsyncDatabase, period: int, every: float) -> bool:
    """True for the one process (of any number on this database) that takes the sweep of `period`."""
    expires = utcnow() + dt.timedelta(seconds=2 * every)
    try:
        await db[SWEEP_CLAIMS].insert_one({"_id": f"expiry:{period}", "expires_at": expires})
    except DuplicateKeyError:
        return False
    return True


async def sweep_forever(db: AsyncDatabase, every: float = 60.0) -> None:
    """The periodic expiry sweep, once per `every` seconds across all server processes; runs until cancelled.

    Each period is claimed by a unique-key insert (atomic on FerretDB too), so with several processes
    one of them sweeps (a sweep reads whole collections on FerretDB v1: N processes would do it N times).
    """
    while True:
        period = int(time.time() // every)
        try:
            if await claim_sweep(db, period, every):
                n = await sweep_expired(db)
                if n:
                    log.info("swept %d expired documents", n)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("expiry sweep failed")
        # sleep into the next period (a little jitter: the processes do not all knock at once)
        await asyncio.sleep((period + 1) * every - time.time() + random.uniform(0, min(1.0, every / 10)))
