"""Rebuild every read model from the sources of truth in one pass (after a migration, or to repair).

Reads `applications` (and the archives' current names and contacts) and `audit_log` once,
computes every list's entries with the same functions the live sync uses (`wanted`, `row`,
`audit.entry row`), writes each list whole with `bulk_load` (under the list's mutex), records
each application's `listed`, and recounts the submissions per day. Run it while nothing else
writes the lists (start-up runs it before serving): a list rewritten whole loses a concurrent
put.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from pymongo import UpdateOne

from server.lifecycle.readmodel import audit_name, row, shows_archive, stamp, wanted
from server.lifecycle.store import LifecycleStore, step_key
from server.lists import bulk_load
from server.notify.template import CHINA
from server.review import audit, stats

log = logging.getLogger("kjcj.rebuild")

PERSON_FIELDS = {
    "record_id": 1,
    "data.profile.name": 1,
    "data.profile.id_number": 1,
    "data.contact.mobile": 1,
    "data.employment.unit_name": 1,
    "data.employment.unit_credit_code": 1,  # the units' lists (server/units/answers.py)
    "transferred_out": 1,
}
# FerretDB v1.24 stops answering an update command of 100 or more statements (measured: 50 take
# 0.09 s, 100 never return); MongoDB takes any number.
BATCH = 50


async def rebuild_read_models(services) -> dict[str, int]:
    """Every list, every application's `listed` and the per-day submission counts, from the sources."""
    store = services.get(LifecycleStore)
    archives = {a["_id"]: a async for a in store.archives.find({}, PERSON_FIELDS)}
    lists: dict[str, dict[str, dict]] = defaultdict(dict)
    listed_updates: list[UpdateOne] = []
    days: dict[str, dict[str, Any]] = defaultdict(lambda: {"counts": defaultdict(int), "applied": []})
    apps = 0
    async for app in store.applications.find({}):
        apps += 1
        archive = archives.get(app.get("archive_no") or "") if shows_archive(app) else None
        want = wanted(app, archive)
        the_row = row(app, archive)
        for name, key in want.items():
            lists[name][key] = the_row
        if want != (app.get("listed") or {}):
            listed_updates.append(UpdateOne({"_id": app["_id"]}, {"$set": {"listed": want}}))
        if app.get("kind", "collection") == "collection" and app.get("region_code"):
            for step in app.get("history") or []:
                at = step.get("at")
                if step.get("status") == "submitted" and isinstance(at, dt.datetime) and isinstance(step.get("n"), int):
                    counted = days[at.astimezone(CHINA).date().isoformat()]
                    counted["counts"][app["region_code"]] += 1
                    counted["applied"].append(step_key(app["_id"], step["n"]))
    entries = 0
    async for entry in services.db[audit.COLLECTION].find({}):
        key = f"{stamp(entry.get('at'))}|{entry['_id']}"
        audit_row = audit.public(entry)
        for region in audit.entry_regions(entry):
            lists[audit_name(region)][key] = audit_row
        entries += 1
    for name, rows in lists.items():
        await bulk_load(services.db, name, rows.items(), atomic=services.atomic)
    for i in range(0, len(listed_updates), BATCH):
        await store.applications.bulk_write(listed_updates[i : i + BATCH], ordered=False)
    daily = services.db[stats.DAILY]
    for day, doc in days.items():
        await daily.replace_one(
            {"_id": day}, {"_id": day, "counts": dict(doc["counts"]), "applied": doc["applied"]}, upsert=True
        )
    result = {"applications": apps, "audit_entries": entries, "lists": len(lists), "days": len(days)}
    log.info("read models rebuilt: %s", result)
    return result
