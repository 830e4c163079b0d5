"""Start-up migration `unit_lists_v1`: the read models gained the units' lists (the people of each
unit per answer, server/units/answers.py) and two row fields (`unit_credit_code`,
`unit_confirmation`); applications stored before get them from one rebuild of every read model
(server/lifecycle/rebuild.py, the same functions the live sync uses). Marked done in `meta`; a
database without applications is only marked."""

from __future__ import annotations

import logging

from server.db import utcnow
from server.lifecycle.rebuild import rebuild_read_models
from server.lifecycle.store import LifecycleStore

log = logging.getLogger("kjcj.units")

META = "meta"
MARKER = "unit_lists_v1"


async def migrate_units_if_needed(services) -> dict | None:
    """Rebuild the read models once so the units' lists hold the people stored before (idempotent)."""
    meta = services.db[META]
    if await meta.find_one({"_id": MARKER}):
        return None
    any_app = await services.get(LifecycleStore).applications.find_one({}, {"_id": 1})  # empty-filter limit
    result = await rebuild_read_models(services) if any_app else {"applications": 0}
    await meta.replace_one({"_id": MARKER}, {"_id": MARKER, "done_at": utcnow(), **result}, upsert=True)
    if any_app:
        log.info("units' lists built from the stored applications: %s", result)
    return result
