"""Moving a deployment's data from the first version's shape to the lifecycle's.

The first version kept one `records` document per person, with its notices inside
(`notices.<id>`, `outbox_due_at`) and a history of {status, at, by, reason}. This turns
each into: a first-collection application (same `_id`, so sessions, file metadata, chat
links and audit entries keep pointing at it) with numbered steps; an account; the archive
(for an approved record); its notices in the outbox (pending ones with their delivery
entry). Then the read models (list rows, audit lists, submissions per day) are rebuilt in one
pass over the sources (server/lifecycle/rebuild.py). Nothing is deleted: `records` stays as
it was.

Idempotent and resumable: each record is migrated by upserts keyed by `_id`, and marked
with the version it was migrated at (`migrated_version` on the application), so a second
run skips it and a run interrupted half way picks up where it stopped. Start-up runs it
unless the `meta` document says a run finished.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.errors import DuplicateKeyError

from server.db import utcnow
from server.lifecycle.archive import Archives
from server.lifecycle.rebuild import rebuild_read_models
from server.lifecycle.store import Doc, LifecycleStore
from server.notify.notices import due_at
from server.notify.outbox import Outbox
from server.review import audit

log = logging.getLogger("kjcj.migrate")

OLD = "records"
META = "meta"
MARKER = "migration:records-to-lifecycle"
ACTIONS = {"draft": "create", "submitted": "submit", "approved": "approve", "rejected": "reject"}
DROPPED = ("notices", "outbox_due_at")


def steps_of(history: list[Doc]) -> list[Doc]:
    """Old history entries as numbered steps (entries already numbered are kept)."""
    out, before = [], None
    for i, entry in enumerate(history or []):
        if not isinstance(entry, dict):
            continue
        status = entry.get("status")
        step = dict(entry)
        step.setdefault("n", i + 1)
        step.setdefault("action", ACTIONS.get(status or "", status))
        step.setdefault("from", before)
        step.setdefault("role", "applicant" if entry.get("by") == "self" else "reviewer")
        out.append(step)
        before = status
    return out


def application_of(record: Doc) -> Doc:
    """The first-collection application of an old record."""
    app = {k: v for k, v in record.items() if k not in DROPPED}
    app["kind"] = "collection"
    app["history"] = steps_of(record.get("history") or [])
    app["effects_done"] = len(app["history"])  # its effects (notices, audit) exist already
    app["legacy_notices"] = sorted((record.get("notices") or {}).keys())
    app["migrated_version"] = record.get("version")
    return app


def notice_of(record: Doc, notice: Doc) -> Doc:
    """An old embedded notice as an outbox document."""
    return {
        **notice,
        "_id": notice["id"],
        "openid": record.get("openid"),
        "application_id": record["_id"],
        "template": None,
    }


async def migrate_record(services, record: Doc, audit_ids: list[Any]) -> bool:
    """Migrate one old record; False when it was migrated at this version already."""
    store = services.get(LifecycleStore)
    existing = await store.application(record["_id"], {"migrated_version": 1})
    if existing is not None and existing.get("migrated_version") == record.get("version"):
        return False
    app = application_of(record)
    app["legacy_audit"] = [str(i) for i in audit_ids]
    if existing is not None and "migrated_version" not in existing:
        return False  # written by this version since: it is the truth now
    await store.applications.replace_one({"_id": app["_id"]}, app, upsert=True)
    if record.get("openid"):
        try:
            await store.accounts.insert_one(
                {
                    "_id": record["openid"],
                    "record_id": record["_id"],
                    "created_at": record.get("created_at") or utcnow(),
                }
            )
        except DuplicateKeyError:
            pass
    if record.get("unionid") and record.get("openid"):
        key = f"u:{record['unionid']}"
        await store.account_keys.replace_one({"_id": key}, {"_id": key, "openid": record["openid"]}, upsert=True)
    outbox = services.get(Outbox)
    for notice in (record.get("notices") or {}).values():
        if isinstance(notice, dict) and notice.get("id"):
            doc = notice_of(record, notice)
            try:
                await outbox.notices.insert_one(doc)
            except DuplicateKeyError:
                pass
            when = due_at(doc)
            if when is not None:
                await outbox.deliveries.replace_one(
                    {"_id": doc["_id"]}, {"_id": doc["_id"], "due_at": when}, upsert=True
                )
    approvals = [s for s in app["history"] if s.get("status") == "approved"]
    if app.get("status") == "approved" and approvals:
        await services.get(Archives).create_from(app, approvals[-1])
    return True  # its list rows, audit list entries and submission counts: rebuild_read_models


async def migrate(services) -> dict:
    """Migrate every old record (idempotent); {"records", "migrated", "skipped"}."""
    old = services.db[OLD]
    audit_ids: dict[str, list[Any]] = {}
    async for entry in services.db[audit.COLLECTION].find({}, {"record_id": 1}):
        audit_ids.setdefault(str(entry.get("record_id")), []).append(entry["_id"])
    finished_before = await services.db[META].find_one({"_id": MARKER}) is not None
    migrated = skipped = 0
    async for record in old.find({}):
        if await migrate_record(services, record, audit_ids.get(str(record["_id"]), [])):
            migrated += 1
        else:
            skipped += 1
    # One pass over the sources writes every list whole (per-record puts took ~0.1 s a record); also
    # when nothing was left to migrate but no run had finished (an earlier run died in the rebuild).
    if migrated:  # the applications just written are in the first shape: bring them to the fuller one
        from server.records.migrate_shape import migrate_shape

        await migrate_shape(services)
    if migrated or (skipped and not finished_before):
        await rebuild_read_models(services)
    result = {"records": migrated + skipped, "migrated": migrated, "skipped": skipped}
    await services.db[META].replace_one({"_id": MARKER}, {"_id": MARKER, "done_at": utcnow(), **result}, upsert=True)
    if migrated:
        log.info("migrated %d records to archives and applications (%d unchanged)", migrated, skipped)
    return result


async def migrate_if_needed(services) -> dict | None:
    """Run the migration at start-up unless a finished run is on record (one `_id` read)."""
    if await services.db[META].find_one({"_id": MARKER}):
        return None
    return await migrate(services)
