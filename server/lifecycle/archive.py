"""The archive (会计人员档案): the approved truth about one person, versioned.

`archives` `_id` = archive number: {region_code, openid, record_id (the first collection),
version, data: {the five sections, region_code}, documents, photo, rare_name,
versions: [{version, at, by, application_id, kind, diff: [{field, old, new}]}],
applied: [step keys already applied], changes: [ids of the archive's later applications:
changes and transfers, oldest first], open_change: the one open application that holds the
archive (a change or a transfer) | None, spot_checks: [...], transferred_out: {at,
application_id, to_region_name, sheet_no} once it left the deployment (then read-only),
created_at, updated_at}.

Only the lifecycle's effects write it (one conditional single-document update each,
guarded by `applied`, so deriving an effect twice applies it once).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from server.errors import Conflict
from server.lifecycle.store import Doc, LifecycleStore, step_key
from server.lifecycle.tables import kind_of
from server.lifecycle.types import DiffRow
from server.records.fields import LISTS, READ_ONLY, SECTIONS, field_label, value_at
from server.records.names import is_rare
from server.records.validation import archive_no

log = logging.getLogger("kjcj.lifecycle")
RETRIES = 8


def record_data(app: Doc) -> Doc:
    """The person's part of a first collection: the five sections, the lists (educations,
    qualifications, work_history), `legacy` when there is one, and region_code."""
    out: Doc = {name: dict(app.get(name) or {}) for name in SECTIONS}
    for name in LISTS:  # absent only in a document not yet moved to the fuller shape (migrate_shape.py)
        if name in app:
            out[name] = [dict(e) for e in app.get(name) or [] if isinstance(e, dict)]
    for name in READ_ONLY:
        if isinstance(app.get(name), dict):
            out[name] = dict(app[name])
    out["region_code"] = app.get("region_code")
    return out


def set_path(data: Doc, path: str, value: Any) -> None:
    """Set (or, for None, remove) a dotted `section.field` or top-level value."""
    section, _, name = path.partition(".")
    if not name:
        data[section] = value
        return
    body = data.setdefault(section, {})
    if value is None:
        body.pop(name, None)
    else:
        body[name] = value


def diff_of(before: Doc, after: Doc, paths: list[str]) -> list[DiffRow]:
    """[{field, old, new}] for the paths whose value differs (a list: stored keys may not hold dots)."""
    return [
        {"field": p, "old": value_at(before, p), "new": value_at(after, p)}
        for p in paths
        if value_at(before, p) != value_at(after, p)
    ]


def changes_of(app: Doc) -> dict[str, Any]:
    """{path: new value} of a change application's payload."""
    return {row["field"]: row.get("new") for row in (app.get("payload") or {}).get("changes") or []}


def archive_view(archive: Doc, for_staff: bool) -> Doc:
    """An archive's number, version, district and versions (diffs labelled); staff also see who
    decided and the spot checks, the person sees "财政局" for a reviewer's name."""
    out: Doc = {
        "archive_no": archive["_id"],
        "version": archive.get("version"),
        "region_code": archive.get("region_code"),
        "open_change": str(archive["open_change"]) if archive.get("open_change") else None,
        "versions": [
            {
                "version": v.get("version"),
                "at": v.get("at"),
                "kind": v.get("kind"),
                "application_id": str(v.get("application_id")),
                "by": v.get("by") if for_staff or v.get("by") == "self" else "财政局",
                "diff": [{**d, "label": field_label(d["field"])} for d in v.get("diff") or []],
            }
            for v in archive.get("versions") or []
        ],
    }
    if for_staff:
        out["spot_checks"] = archive.get("spot_checks") or []
    return out


class Archives:
    """Creates archives from approved collections and applies approved changes."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(LifecycleStore)

    async def create_from(self, app: Doc, step: Doc) -> None:
        """The archive of an approved first collection, version 1 (idempotent)."""
        number = app.get("archive_no")
        if not number:
            log.error("approved collection %s has no archive number", app["_id"])
            return
        data = record_data(app)
        admitted = step.get("action") == "admit" and app.get("transfer_in")  # a transfer in's held record
        doc = {
            "_id": number,
            "region_code": app.get("region_code"),
            "openid": app.get("openid"),
            "record_id": app["_id"],
            "version": 1,
            "data": data,
            "documents": app.get("documents") or {},
            "photo": app.get("photo"),
            "rare_name": bool(app.get("rare_name")),
            "versions": [
                {
                    "version": 1,
                    "at": step["at"],
                    "by": step["by"],
                    "application_id": app["transfer_in"] if admitted else app["_id"],
                    "kind": "transfer_in" if admitted else "collection",
                    "diff": [],
                }
            ],
            "applied": [step_key(app["_id"], step["n"])],
            "changes": [],
            "open_change": None,
            "spot_checks": [],
            "created_at": step["at"],
            "updated_at": step["at"],
        }
        try:
            await self.store.archives.insert_one(doc)
        except DuplicateKeyError:
            held = await self.store.archive(number)
            if held and held.get("record_id") != app["_id"]:
                log.error("archive %s already belongs to another record", number[-4:])

    async def write_version(
        self, app: Doc, step: Doc, change: Callable[[Doc], tuple[Doc, list[DiffRow]]]
    ) -> Doc | None:
        """Write the archive's next version for one step (idempotent on the step's key):
        `change(archive) -> (fields to set, diff rows)`; None when the step was applied already
        (or there is no archive). The open application the step ends releases the archive."""
        key = step_key(app["_id"], step["n"])
        for _ in range(RETRIES):
            arch = await self.store.archive(app.get("archive_no"))
            if arch is None or key in (arch.get("applied") or []):
                return None
            sets, diff = change(arch)
            version = int(arch.get("version") or 1) + 1
            sets = {**sets, "version": version, "updated_at": step["at"]}
            if arch.get("open_change") == app["_id"]:
                sets["open_change"] = None
            entry = {
                "version": version,
                "at": step["at"],
                "by": step["by"],
                "application_id": app["_id"],
                "kind": app.get("kind"),
                "diff": diff,
            }
            done = await self.services.atomic.update(
                self.store.archives,
                {"_id": arch["_id"], "version": arch.get("version")},
                {"$set": sets, "$push": {"versions": entry, "applied": key}},
            )
            if done is not None:
                return done
        raise Conflict("档案正忙，请稍后重试", "archive_busy")

    async def apply_change(self, app: Doc, step: Doc) -> None:
        """An approved change as the archive's next version (idempotent)."""
        changes = changes_of(app)

        def change(arch: Doc) -> tuple[Doc, list[DiffRow]]:
            data = copy.deepcopy(arch.get("data") or {})
            for path, value in changes.items():
                set_path(data, path, value)
            name = (data.get("profile") or {}).get("name") or ""
            sets = {"data": data, "rare_name": bool(name and is_rare(name))}
            return sets, diff_of(arch.get("data") or {}, data, list(changes))

        await self.write_version(app, step, change)

    async def release(self, app: Doc) -> None:
        """The archive no longer waits for this change (it was withdrawn or rejected), and a new ID
        number the change had claimed is free again."""
        number = app.get("archive_no")
        if number:
            await self.services.atomic.update(
                self.store.archives, {"_id": number, "open_change": app["_id"]}, {"$set": {"open_change": None}}
            )
        changes = changes_of(app)
        id_type = changes.get("profile.id_type")
        if id_type is None and number:  # the type stays: the archive's own
            id_type = ((((await self.store.archive(number)) or {}).get("data") or {}).get("profile") or {}).get(
                "id_type"
            )
        claimed = archive_no({"profile": {"id_type": id_type, "id_number": changes.get("profile.id_number")}})
        if claimed:
            claims = self.services.db["archive_numbers"]
            held = await claims.find_one({"_id": claimed})
            if held and held.get("record_id") == app.get("record_id") and claimed != number:
                await claims.delete_one({"_id": claimed})

    async def open_change(self, number: str, app_id: Any) -> Doc:
        """Reserve the archive for one open change (409 when another one is open)."""
        for _ in range(RETRIES):
            arch = await self.store.archive(number)
            if arch is None:
                raise Conflict("尚未建立会计人员档案，不能申请变更", "archive_missing")
            if arch.get("transferred_out"):
                raise Conflict("您的档案已调出本地，不能再办理变更或调转", "archive_transferred_out")
            held = arch.get("open_change")
            if held and held != app_id:
                other = await self.store.application(held, {"status": 1, "kind": 1})
                kind = kind_of((other or {}).get("kind"))
                if other is not None and kind is not None and other.get("status") in kind.open_states:
                    raise Conflict(
                        f"您已有一项{kind.label}申请正在办理，请等待办理结果或撤回后再申请",
                        "change_open" if kind.name == "change" else "application_open",
                        open_kind=kind.name,
                    )
            done = await self.services.atomic.update(
                self.store.archives,
                {"_id": number, "open_change": held},
                {"$set": {"open_change": app_id}, "$addToSet": {"changes": app_id}},
            )
            if done is not None:
                return done
        raise Conflict("档案正忙，请稍后重试", "archive_busy")

    async def record_unit_answer(self, record_id: Any, entry: Doc) -> Doc | None:
        """Record a unit's answer (报备确认) on a person's first collection: the current one in
        `unit_confirmation`, every one in `unit_answers` (idempotent on the entry id). Not a step:
        the version does not move, so a reviewer holding the record is not sent a 409."""
        return await self.services.atomic.update(
            self.store.applications,
            {"_id": record_id, "unit_answers.id": {"$ne": entry["id"]}},
            {"$set": {"unit_confirmation": entry}, "$push": {"unit_answers": entry}},
        )

    async def record_spot_check(self, number: str, entry: Doc) -> Doc | None:
        """Append a spot-check outcome to the archive (idempotent on the entry id)."""
        return await self.services.atomic.update(
            self.store.archives,
            {"_id": number, "applied": {"$ne": entry["id"]}},
            {"$push": {"spot_checks": entry, "applied": entry["id"]}},
        )
