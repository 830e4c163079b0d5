"""The async MongoDB client, index declarations and the expiry sweep.

Modules declare their indexes at import time with `declare_indexes`; `ensure_indexes`
creates them all at start-up (idempotent). Expiring documents carry `expires_at`, which
reads check; `sweep_expired` deletes stale ones periodically, since FerretDB v1 has no
TTL indexes (on real MongoDB a TTL index is added as well).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

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


def connect(uri: str, **kwargs) -> AsyncMongoClient:
    """An AsyncMongoClient with timezone-aware datetimes and short timeouts."""
    opts: dict[str, Any] = dict(tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=3000, appname="kjcj")
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


async def sweep_forever(db: AsyncDatabase, every: float = 60.0) -> None:
    """The periodic expiry sweep; runs until cancelled."""
    while True:
        try:
            n = await sweep_expired(db)
            if n:
                log.info("swept %d expired documents", n)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("expiry sweep failed")
        await asyncio.sleep(every)
