"""Staff import the old register: upload → preview → confirm, and the import history.

**Preview** (`preview`): the file is parsed off the IOLoop (`server/legacy/parse.py`, in a
one-thread bounded pool; `LEGACY_IMPORT_MAX_MB`, `LEGACY_IMPORT_MAX_ROWS`), each good row is
compared with the register by its digest (new / changed / unchanged), and rows outside the
caller's districts become errors too (a district reviewer imports only their districts, and
cannot move a person registered in another district: `region_forbidden`, `other_region`).
Nothing is written to the register; the import is recorded (`state: "previewed"`) with who,
when, file name, size, sha256 and the counts. The file itself is not kept (it is personal data
of many people): **confirm** (`confirm`) takes the same file again, refuses another one
(409 `file_changed`: its sha256 differs) and a file with errors (409 `import_has_errors`),
then parses and compares again (the register may have changed meanwhile) and writes: new
rows inserted, changed rows updated, unchanged rows skipped. Importing a file twice thus
writes nothing the second time and says so in its counts. One confirmation per import
(`previewed` → `confirming` → `confirmed`, taken with a conditional update); every write is
keyed by `_id` and carries the row's content, so a confirmation cut short can be confirmed
again (a `confirming` older than `STALE_CONFIRM`).

The comparison reads the register's **index**, not the register: the sorted list
`legacy-register-index` (server/lists.py), keyed by archive number, rows `{d: digest, r:
district}`. FerretDB answers an `_id` lookup in `legacy_register` by scanning the table (measured:
~5 ms a lookup at 5,000 rows, growing with the table) and a scan of it at ~0.3-1.3 ms a document,
while the index is a few hundred small packed chunks read by `_id`: a file of up to
`INDEX_GETS_UP_TO` rows looks its numbers up one by one (two reads each), a larger one reads the
whole index in pages (measured at 2,000 rows: one by one took 6-12 s, the whole index well under 1 s). A confirmation writes the register first, then the index, so a confirmation cut short
between the two finds those rows "new" or "changed" again and rewrites them (idempotent).

Documents (see also `server/publicquery.py`, which reads the register):
- `legacy_register`, `_id` = archive number: `{name, region_code, archive_no_old,
  old_certificate_no, first_work_date ("YYYY-MM-DD" | None), past_employers: [{unit_name,
  from, to}], ce_years: [{year, credits? , status? ("passed" | "failed" | "absent")}],
  integrity_notes: [str], digest, import_id, created_at, updated_at}`.
- `legacy_imports`, `_id` = ObjectId: `{state: "previewed" | "confirming" | "confirmed", by,
  at, file_name, size, sha256, regions: [codes touched], counts: {rows, error_rows, valid, new,
  changed, unchanged}, errors: [{row, field, code, message}] (the first `MAX_ERRORS`),
  confirmed_by, confirmed_at, written: {new, changed}}`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import unicodedata
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from server.db import utcnow
from server.districts import deployment_districts, district_name
from server.errors import BadRequest, Conflict, Invalid, NotFound, TooLarge, UnsupportedMedia
from server.legacy.parse import FileProblem, Parsed, parse_file
from server.legacy.pending import LegacyPending
from server.lists import SortedList
from server.masking import mask_id_number, mask_name
from server.pool import BoundedPool
from server.publicquery import REGISTER
from server.records.service import today
from server.staff import Staff

log = logging.getLogger("kjcj.legacy")

IMPORTS = "legacy_imports"
MAX_ERRORS = 500  # errors kept and shown per import (the count is always whole)
SAMPLE = 50  # new / changed rows shown in a preview
INDEX = "legacy-register-index"
INDEX_GETS_UP_TO = 100  # files up to this many rows look their numbers up in the index one by one
INDEX_GETS_AT_ONCE = 50
INDEX_PAGE = 4096  # entries per page when reading the whole index
INDEX_APPLY = 1024  # entries per index write
WRITE_BATCH = 50  # documents per bulk write (FerretDB's limit)
HISTORY = 100
STALE_CONFIRM = dt.timedelta(minutes=15)
CONTENT = (
    "name",
    "region_code",
    "archive_no_old",
    "old_certificate_no",
    "first_work_date",
    "past_employers",
    "ce_years",
    "integrity_notes",
    "digest",
)
_FILE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def clean_file_name(raw: object) -> str:
    """The file name as recorded (no path, no control characters, at most 120 characters)."""
    text = unicodedata.normalize("NFC", raw if isinstance(raw, str) else "").strip()
    text = _FILE_NAME.sub("_", text)[-120:]
    return text or "未命名文件"


def import_id(raw: str) -> ObjectId:
    try:
        return ObjectId(raw)
    except (InvalidId, TypeError):
        raise NotFound("没有这次导入", "import_not_found") from None


class LegacyRegister:
    """Preview, confirm and list the imports of the old register."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.register = services.db[REGISTER]
        self.imports = services.db[IMPORTS]
        self.districts = deployment_districts(services.settings)
        self.pool = BoundedPool(
            1, 2, "legacy-import", "正在处理其他导入文件，请稍后重试", "legacy_import_busy", retry_after=10
        )

    async def close(self) -> None:
        self.pool.close()

    # -- parsing and comparing -------------------------------------------------------------

    async def _parse(self, data: bytes, file_name: str) -> Parsed:
        if len(data) > self.settings.legacy_import_max_bytes:
            raise self.too_large()
        try:
            return await self.pool.run(
                parse_file, data, file_name, self.districts, today(), self.settings.legacy_import_max_rows
            )
        except FileProblem as p:
            if p.status == 400:
                raise BadRequest(p.message, p.code) from None
            if p.status == 413:
                raise TooLarge(p.message, p.code) from None
            if p.status == 415:
                raise UnsupportedMedia(p.message, p.code) from None
            raise Invalid([{"field": "file", "code": p.code, "message": p.message}], p.message, p.code) from None

    def too_large(self) -> TooLarge:
        return TooLarge(f"文件不能超过 {self.settings.legacy_import_max_mb} MB", "file_too_large")

    def index(self) -> SortedList:
        """The register's index: number → {d: digest, r: district} (see the module doc)."""
        return SortedList(self.services.db, self.services.atomic, INDEX)

    async def _existing(self, numbers: list[str]) -> dict[str, dict]:
        """{number: {digest, region_code}} of the register rows among `numbers` (from the index)."""
        index = self.index()
        found: dict[str, dict] = {}
        if len(numbers) <= INDEX_GETS_UP_TO:
            for i in range(0, len(numbers), INDEX_GETS_AT_ONCE):
                part = numbers[i : i + INDEX_GETS_AT_ONCE]
                rows = await asyncio.gather(*(index.get(n) for n in part))
                found.update((n, {"digest": r["d"], "region_code": r["r"]}) for n, r in zip(part, rows) if r)
            return found
        wanted = set(numbers)
        offset = 0
        while True:
            entries = await index.page(offset, INDEX_PAGE)
            for key, row in entries:
                if key in wanted:
                    found[key] = {"digest": row["d"], "region_code": row["r"]}
            if len(entries) < INDEX_PAGE:
                return found
            offset += len(entries)

    async def _compare(self, staff: Staff, parsed: Parsed) -> dict:
        """Classify the parsed rows against the register: {new, changed, unchanged, errors, ...}."""
        existing = await self._existing([r["_id"] for r in parsed.rows])
        new: list[dict] = []
        changed: list[dict] = []
        unchanged = 0
        errors = list(parsed.errors)
        error_rows = parsed.error_rows
        regions: set[str] = set()
        for i, row in enumerate(parsed.rows):
            if i % 2000 == 1999:
                await asyncio.sleep(0)
            old = existing.get(row["_id"])
            problem = None
            if not staff.can_see(row["region_code"]):
                problem = ("region", "region_forbidden", "只能导入本人所辖区的人员")
            elif old is not None and not staff.can_see(old.get("region_code")):
                problem = ("id_number", "other_region", "该人员已在其他区的原档案中，请联系市级管理员处理")
            if problem:
                error_rows += 1
                errors.append({"row": row["_row"], "field": problem[0], "code": problem[1], "message": problem[2]})
                continue
            if old is None:
                new.append(row)
            elif old.get("digest") != row["digest"]:
                changed.append(row)
                regions.update({row["region_code"], old.get("region_code")} - {None})
            else:
                unchanged += 1
            if old is None:
                regions.add(row["region_code"])
        errors.sort(key=lambda e: e["row"])
        return {
            "new": new,
            "changed": changed,
            "unchanged": unchanged,
            "errors": errors,
            "counts": {
                "rows": parsed.total,
                "error_rows": error_rows,
                "valid": parsed.total - error_rows,
                "new": len(new),
                "changed": len(changed),
                "unchanged": unchanged,
            },
            "regions": sorted(regions),
        }

    def _sample(self, result: dict) -> list[dict]:
        rows = [("new", r) for r in result["new"][:SAMPLE]]
        rows += [("changed", r) for r in result["changed"][: SAMPLE - len(rows)]]
        return sorted(
            (
                {
                    "row": r["_row"],
                    "status": status,
                    "name_masked": mask_name(r["name"]),
                    "id_masked": mask_id_number(r["_id"]),
                    "region_code": r["region_code"],
                    "region_name": district_name(self.settings, r["region_code"]),
                    "first_work_date": r.get("first_work_date"),
                    "ce_years": len(r.get("ce_years") or []),
                    "past_employers": len(r.get("past_employers") or []),
                }
                for status, r in rows
            ),
            key=lambda x: x["row"],
        )

    # -- the staff's steps ----------------------------------------------------------------------

    async def preview(self, staff: Staff, data: bytes, file_name: object) -> dict:
        """Parse and compare a file; record the import as previewed; write nothing to the register."""
        name = clean_file_name(file_name)
        parsed = await self._parse(data, name)
        result = await self._compare(staff, parsed)
        doc = {
            "_id": ObjectId(),
            "state": "previewed",
            "by": staff.username,
            "at": utcnow(),
            "file_name": name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "regions": result["regions"],
            "counts": result["counts"],
            "errors": result["errors"][:MAX_ERRORS],
            "confirmed_by": None,
            "confirmed_at": None,
            "written": None,
        }
        await self.imports.insert_one(doc)
        log.info(
            "legacy register previewed by %s: %d rows, %d with errors",
            staff.username,
            parsed.total,
            result["counts"]["error_rows"],
        )
        return {**self.view(doc), "sample": self._sample(result)}

    async def _visible(self, staff: Staff, raw_id: str) -> dict:
        doc = await self.imports.find_one({"_id": import_id(raw_id)})
        if doc is None or not self._sees(staff, doc):
            raise NotFound("没有这次导入", "import_not_found")
        return doc

    @staticmethod
    def _sees(staff: Staff, doc: dict) -> bool:
        return (
            staff.is_city_admin
            or doc.get("by") == staff.username
            or any(staff.can_see(r) for r in doc.get("regions") or [])
        )

    async def get(self, staff: Staff, raw_id: str) -> dict:
        """One import (NotFound when it is not the caller's to see)."""
        return self.view(await self._visible(staff, raw_id))

    async def confirm(self, staff: Staff, raw_id: str, data: bytes) -> dict:
        """Write a previewed import, given the same file again (see the module doc)."""
        doc = await self._visible(staff, raw_id)
        if doc.get("by") != staff.username:
            raise NotFound("没有这次导入", "import_not_found")  # only the one who previewed confirms
        if doc["state"] == "confirmed":
            raise Conflict("这次导入已经确认过了", "import_already_confirmed")
        if hashlib.sha256(data).hexdigest() != doc["sha256"]:
            raise Conflict("文件与预览时不同，请重新上传预览", "file_changed")
        parsed = await self._parse(data, doc["file_name"])
        result = await self._compare(staff, parsed)
        if result["counts"]["error_rows"]:
            await self.imports.update_one(
                {"_id": doc["_id"]}, {"$set": {"counts": result["counts"], "errors": result["errors"][:MAX_ERRORS]}}
            )
            raise Conflict("文件中有错误行，请修改后重新上传", "import_has_errors")
        now = utcnow()
        taken = await self.services.atomic.update(
            self.imports,
            {
                "_id": doc["_id"],
                "$or": [
                    {"state": "previewed"},
                    {"state": "confirming", "confirm_started": {"$lt": now - STALE_CONFIRM}},
                ],
            },
            {"$set": {"state": "confirming", "confirm_started": now, "confirmed_by": staff.username}},
        )
        if taken is None:
            raise Conflict("这次导入正在确认或已经确认", "import_already_confirmed")
        await self._write(doc["_id"], result["new"], result["changed"], now)
        written = {"new": len(result["new"]), "changed": len(result["changed"])}
        done = await self.services.atomic.update(
            self.imports,
            {"_id": doc["_id"]},
            {
                "$set": {
                    "state": "confirmed",
                    "confirmed_at": utcnow(),
                    "counts": result["counts"],
                    "regions": result["regions"],
                    "errors": [],
                    "written": written,
                }
            },
        )
        log.info(
            "legacy register import confirmed by %s: %d new, %d changed, %d unchanged",
            staff.username,
            written["new"],
            written["changed"],
            result["counts"]["unchanged"],
        )
        if written["new"] or written["changed"]:
            self.services.get(LegacyPending).refresh_later(result["regions"], staff.username)
        return self.view(done or doc)

    async def _write(self, import_id: ObjectId, new: list[dict], changed: list[dict], now: dt.datetime) -> None:
        """Insert the new rows and update the changed ones (bulk writes of `WRITE_BATCH`)."""

        def content(row: dict) -> dict:
            return {**{k: row.get(k) for k in CONTENT}, "import_id": import_id, "updated_at": now}

        for i in range(0, len(new), WRITE_BATCH):
            docs = [{"_id": r["_id"], **content(r), "created_at": now} for r in new[i : i + WRITE_BATCH]]
            try:
                await self.register.insert_many(docs, ordered=False)
            except BulkWriteError:  # some were inserted meanwhile (a concurrent import, a retried confirm)
                ops = [
                    UpdateOne({"_id": d["_id"]}, {"$set": content(r), "$setOnInsert": {"created_at": now}}, upsert=True)
                    for d, r in zip(docs, new[i : i + WRITE_BATCH])
                ]
                await self.register.bulk_write(ops, ordered=False)
        for i in range(0, len(changed), WRITE_BATCH):
            ops = [UpdateOne({"_id": r["_id"]}, {"$set": content(r)}) for r in changed[i : i + WRITE_BATCH]]
            await self.register.bulk_write(ops, ordered=False)
        entries = sorted((r["_id"], {"d": r["digest"], "r": r["region_code"]}) for r in [*new, *changed])
        index = self.index()
        for i in range(0, len(entries), INDEX_APPLY):
            await index.apply(entries[i : i + INDEX_APPLY], [])

    async def history(self, staff: Staff) -> list[dict]:
        """The latest imports the caller may see, newest first (a small collection: one document per file)."""
        docs = [d async for d in self.imports.find({}, {"errors": 0}).sort("at", -1).limit(HISTORY * 4)]
        return [self.view(d) for d in docs if self._sees(staff, d)][:HISTORY]

    def view(self, doc: dict) -> dict[str, Any]:
        """An import as staff see it."""
        counts = doc.get("counts") or {}
        return {
            "id": str(doc["_id"]),
            "state": doc.get("state"),
            "by": doc.get("by"),
            "at": doc.get("at"),
            "file_name": doc.get("file_name"),
            "size": doc.get("size"),
            "sha256": doc.get("sha256"),
            "regions": [{"code": r, "name": district_name(self.settings, r)} for r in doc.get("regions") or []],
            "counts": counts,
            "errors": doc.get("errors") or [],
            "errors_truncated": int(counts.get("error_rows") or 0) > 0 and len(doc.get("errors") or []) >= MAX_ERRORS,
            "confirmable": doc.get("state") == "previewed" and not counts.get("error_rows"),
            "confirmed_by": doc.get("confirmed_by"),
            "confirmed_at": doc.get("confirmed_at"),
            "written": doc.get("written"),
        }
