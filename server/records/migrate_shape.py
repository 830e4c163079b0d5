"""Moving stored records to the fuller shape (issue #14): the lists educations / qualifications /
work_history, the summary sections derived from them, the national post codes.

What it rewrites:
- first collections (applications of kind "collection", every state): the one `education` dict
  becomes the first entry of `educations` (its `graduated_on` the entry's `to`), a qualification
  other than "none" the first of `qualifications`, the employment of a person in post the current
  period of `work_history` (from `accounting_since`, the best date the old shape had). An old
  single `diploma` / `qualification_certificate` / `work_proof` document becomes the proof of that
  first entry (the document keeps its key; the entry's `proof` names it). Old post codes are
  mapped (options.OLD_POSTS). The summary sections are then derived as on every write.
- archives: their current `data` the same way (their `versions` keep the diffs written then:
  their paths still name fields of the derived sections and read as before).
- open changes (submitted or ordered) whose payload names fields that are now derived: education
  and qualification rows become the archive's list with its first entry changed; employment rows a
  new current period from the day the change was submitted (the earlier one ending the day before)
  or, for "not in post", the end of the current period; the derived rows follow.

Idempotent: a document that has its lists is left alone, so a second run (or a run after an
interruption) changes nothing; entry ids are derived from the document's `_id`, so two runs that
raced would write the same. Start-up runs it until the `meta` marker says a run finished.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from server.db import utcnow
from server.lifecycle.archive import diff_of, set_path
from server.lifecycle.tables import CHANGE

from .derived import EMPLOYER_FIELDS, with_derived
from .fields import LISTS, all_field_paths, is_derived
from .options import OLD_POSTS

log = logging.getLogger("kjcj.migrate")

MARKER = "migration:record-shape-v2"
META = "meta"
CHINA = dt.timezone(dt.timedelta(hours=8))


def entry_id(owner: Any, name: str) -> str:
    """A stable 8-letter id for the first entry of list `name` of the document `owner`."""
    digest = hashlib.sha256(f"{owner}:{name}".encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:8])


def _clean(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if v not in (None, "")}


def is_new_shape(data: Mapping[str, Any]) -> bool:
    """True when every list is there."""
    return all(isinstance(data.get(name), list) for name in LISTS)


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    return value if isinstance(value, Mapping) else {}


def _post(code: Any) -> Any:
    return OLD_POSTS.get(code, code) if isinstance(code, str) else code


def lists_of(data: Mapping[str, Any], documents: Mapping[str, Any] | None, owner: Any) -> dict[str, list[dict]]:
    """The lists an old-shape record's sections stand for."""
    docs = documents or {}
    edu, qual, job = (_section(data, name) for name in ("education", "qualification", "employment"))
    out: dict[str, list[dict]] = {name: [] for name in LISTS}
    if any(edu.get(k) for k in ("level", "school", "major", "graduated_on", "degree")):
        out["educations"] = [
            _clean(
                {
                    "id": entry_id(owner, "educations"),
                    "level": edu.get("level"),
                    "school": edu.get("school"),
                    "major": edu.get("major"),
                    "mode": edu.get("mode"),
                    "to": edu.get("graduated_on"),
                    "degree": edu.get("degree"),
                    "proof": "diploma" if "diploma" in docs else None,
                }
            )
        ]
    if qual.get("level") and qual.get("level") != "none":
        out["qualifications"] = [
            _clean(
                {
                    "id": entry_id(owner, "qualifications"),
                    **{k: qual.get(k) for k in ("level", "obtained_by", "obtained_on", "certificate_no", "issuer")},
                    "proof": "qualification_certificate" if "qualification_certificate" in docs else None,
                }
            )
        ]
    if job.get("in_post") is True:
        out["work_history"] = [
            _clean(
                {
                    "id": entry_id(owner, "work_history"),
                    **{k: job.get(k) for k in EMPLOYER_FIELDS},
                    "post": _post(job.get("post")),
                    "from": job.get("accounting_since"),
                    "proof": "work_proof" if "work_proof" in docs else None,
                }
            )
        ]
    return out


def new_shape(data: Mapping[str, Any], documents: Mapping[str, Any] | None, owner: Any) -> dict:
    """The record (or archive data) in the new shape, summary sections derived."""
    out = dict(data)
    out.update(lists_of(data, documents, owner))
    return with_derived(out)


def _day(value: Any) -> str | None:
    """A stored datetime as its China date (ISO)."""
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA).date().isoformat()


def change_rows(rows: list[dict], base: Mapping[str, Any], submitted: str | None) -> list[dict] | None:
    """An open change's diff rows against an archive's new-shape `base`, or None when no row
    names a field that is now derived."""
    if not any(is_derived(r.get("field") or "") for r in rows):
        return None
    after = copy.deepcopy(dict(base))
    for row in rows:
        if not is_derived(row.get("field") or ""):
            set_path(after, row["field"], row.get("new"))
    wanted: dict[str, dict[str, Any]] = {}
    for row in rows:
        field = row.get("field") or ""
        if is_derived(field):
            section, _, name = field.partition(".")
            wanted.setdefault(section, {})[name] = row.get("new")
    if "education" in wanted:
        entries = [dict(e) for e in after.get("educations") or []]
        values = {("to" if k == "graduated_on" else k): v for k, v in wanted["education"].items()}
        if entries:
            entries[0] = _clean({**entries[0], **values})
        else:
            entries = [_clean({"id": entry_id(base.get("record_id"), "educations-change"), **values})]
        after["educations"] = entries
    if "qualification" in wanted:
        values = wanted["qualification"]
        if values.get("level") == "none":
            after["qualifications"] = []
        else:
            entries = [dict(e) for e in after.get("qualifications") or []]
            if entries:
                entries[0] = _clean({**entries[0], **values})
            else:
                entries = [_clean({"id": entry_id(base.get("record_id"), "qualifications-change"), **values})]
            after["qualifications"] = entries
    if "employment" in wanted:
        after["work_history"] = _employment_change(after, wanted["employment"], submitted)
    result = with_derived(after)
    return [dict(row) for row in diff_of(dict(base), result, all_field_paths())]


def _employment_change(after: Mapping[str, Any], values: dict, submitted: str | None) -> list[dict]:
    """The work history an old employment change stands for."""
    entries = [dict(e) for e in after.get("work_history") or []]
    current = next((e for e in entries if not e.get("to")), None)
    start = submitted or dt.datetime.now(CHINA).date().isoformat()
    day_before = (dt.date.fromisoformat(start) - dt.timedelta(days=1)).isoformat()
    if values.get("in_post") is False:
        if current is not None:
            current["to"] = max(day_before, current.get("from") or day_before)
        return entries
    employer = {k: (_post(v) if k == "post" else v) for k, v in values.items() if k in EMPLOYER_FIELDS}
    if current is not None:
        employer = {**{k: current.get(k) for k in EMPLOYER_FIELDS}, **employer}
        current["to"] = max(day_before, current.get("from") or day_before)
    entries.append(
        _clean({"id": entry_id(f"{after.get('record_id')}:{start}", "work_history"), **employer, "from": start})
    )
    return entries


async def migrate_shape(services) -> dict:
    """Bring every stored record to the new shape (idempotent); counts of what was rewritten."""
    db = services.db
    counts = {"applications": 0, "archives": 0, "changes": 0}
    apps = db["applications"]
    async for app in apps.find({"kind": "collection"}):
        if is_new_shape(app):
            continue
        data = new_shape(app, app.get("documents"), app["_id"])
        sets = {k: data[k] for k in (*LISTS, "education", "qualification", "employment")}
        await services.atomic.update(apps, {"_id": app["_id"], "version": app.get("version")}, {"$set": sets})
        counts["applications"] += 1
    archives = db["archives"]
    async for arch in archives.find({}, {"data": 1, "documents": 1, "record_id": 1, "version": 1}):
        data = arch.get("data") or {}
        if not is_new_shape(data):
            data = new_shape(data, arch.get("documents"), arch.get("record_id"))
            await services.atomic.update(
                archives, {"_id": arch["_id"], "version": arch.get("version")}, {"$set": {"data": data}}
            )
            counts["archives"] += 1
    async for app in apps.find({"kind": "change"}, {"history": 0, "documents": 0}):
        if app.get("status") not in CHANGE.open_states or app.get("shape_migrated"):
            continue
        arch = await archives.find_one({"_id": app.get("archive_no")}, {"data": 1, "record_id": 1})
        rows = (app.get("payload") or {}).get("changes") or []
        base = {**(arch.get("data") or {}), "record_id": arch.get("record_id")} if arch else None
        new_rows = change_rows(rows, base, _day(app.get("submitted_at"))) if base else None
        if new_rows is None:
            continue
        await services.atomic.update(
            apps,
            {"_id": app["_id"], "version": app.get("version")},
            {"$set": {"payload.changes": new_rows, "shape_migrated": True}},
        )
        counts["changes"] += 1
    await db[META].replace_one({"_id": MARKER}, {"_id": MARKER, "done_at": utcnow(), **counts}, upsert=True)
    if any(counts.values()):
        log.info("records moved to the fuller shape: %s", counts)
    return counts


async def migrate_shape_if_needed(services) -> dict | None:
    """Run at start-up unless the `meta` marker says a run finished (one `_id` read)."""
    if await services.db[META].find_one({"_id": MARKER}):
        return None
    return await migrate_shape(services)
