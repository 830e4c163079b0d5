"""Indexes of the bureau side, declared at import (created at start-up by server.db)."""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from server.db import declare_indexes

declare_indexes("records",
                IndexModel([("outbox_due_at", ASCENDING)], name="outbox_due_at_1"),
                IndexModel([("region_code", ASCENDING), ("status", ASCENDING), ("submitted_at", ASCENDING)],
                           name="region_code_1_status_1_submitted_at_1"))
declare_indexes("audit_log",
                IndexModel([("region_code", ASCENDING), ("at", DESCENDING)], name="region_code_1_at_-1"),
                IndexModel([("record_id", ASCENDING), ("at", DESCENDING)], name="record_id_1_at_-1"))
declare_indexes("staff_sessions", IndexModel([("username", ASCENDING)], name="username_1"))
