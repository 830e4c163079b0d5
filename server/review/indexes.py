"""Indexes of the bureau side, created one per call at start-up.

FerretDB v1 drops the connection when one createIndexes call re-creates two or more
existing indexes, and `server.db.ensure_indexes` passes a collection's declared indexes
in one call; so collections shared with other modules (records) or with several indexes
get theirs here, one `create_indexes([model])` each (idempotent, safe on every start).
"""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

INDEXES: dict[str, list[IndexModel]] = {
    "records": [
        IndexModel([("outbox_due_at", ASCENDING)], name="outbox_due_at_1"),
        IndexModel([("region_code", ASCENDING), ("status", ASCENDING), ("submitted_at", ASCENDING)],
                   name="region_code_1_status_1_submitted_at_1"),
    ],
    "audit_log": [
        IndexModel([("region_code", ASCENDING), ("at", DESCENDING)], name="region_code_1_at_-1"),
        IndexModel([("record_id", ASCENDING), ("at", DESCENDING)], name="record_id_1_at_-1"),
    ],
    "staff_sessions": [IndexModel([("username", ASCENDING)], name="username_1")],
}


async def ensure_review_indexes(db: AsyncDatabase) -> None:
    """Create each index with its own call."""
    for collection, models in INDEXES.items():
        for model in models:
            await db[collection].create_indexes([model])
