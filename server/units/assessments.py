"""Annual assessment (年度考评): a unit records a result per year for each of its confirmed people.

One by one (`record`), or by uploading a sheet (`preview` then `confirm`): the preview reads the
sheet in the worker pool, checks every row (server/units/assessments_sheet.py) and stores what
confirming would write; nothing is written to the results until `confirm`. Re-uploading the same
sheet previews every row as "unchanged" and confirming it writes nothing. The rule that two years
without an assessment make a person 非在岗 is `assessments_rules.assessment_standing` (pure).

Where the results live (every read a range or a key of a sorted list, server/lists.py: a unit's
5,000 people and a city's 100,000 archives cost a few `_id` reads per page, none scans):

- list `assessments|<year>` keyed "<credit code>|<record id>": the unit's results of a year, one
  contiguous range per unit (its page, its template, its preview read ~10 chunks for 5,000 people):
  {r (result code), c (comment), n (name), at, by (the administrator's application id)};
- list `assessments|person` keyed "<record id>|<year>|<credit code>": the same results by person
  (the person's view, the staff detail, the standing rules: one range per person): {r, c, u (unit
  name), at}.
  `record id` is the person's first collection (the id the units' people lists use; it survives a
  change of ID number and an account recovery). A result is written to the person list first, then
  to the unit's; a confirm interrupted between the two is finished by confirming again (puts are
  idempotent, the upload stays "confirming" until both are written).
- `assessment_uploads` (`_id` upload id, expiring after UPLOAD_TTL): {uscc, by, state "previewed" |
  "confirming" | "confirmed", rows (packed: the rows to write), counts, errors, result?}.

The unit's people (who may be assessed, with their names) are the units' confirmation lists
(`unit|<credit code>|*`, server/units/answers.py): a person the unit has not confirmed is refused
(`not_confirmed`), one it does not have is `unknown_person`, and another unit's person is a 404.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import bson
from bson import Binary, ObjectId

from server.accounts.sessions import SessionUser
from server.db import declare_indexes, utcnow
from server.errors import BadRequest, Conflict, Invalid, NotFound, TooLarge, UnsupportedMedia
from server.lifecycle.store import LifecycleStore
from server.lists import SortedList
from server.masking import mask_id_number
from server.pool import BoundedPool
from server.units import answers
from server.units.access import admin_application
from server.units.appointments import Appointments
from server.units.assessments_rules import (
    ASSESSMENT_MISSING,
    COMMENT_MAX,
    IN_POST,
    NO_CURRENT_PERIOD,
    RESULTS,
    assessment_standing,
    periods_of,
    result_code,
    year_problem,
)
from server.units.assessments_sheet import Checked, Row, SheetProblem, check_rows, read_sheet, template

log = logging.getLogger("kjcj.units")

UPLOADS = "assessment_uploads"
PERSON_LIST = "assessments|person"
UPLOAD_TTL = dt.timedelta(hours=2)
CONFIRM_LEASE = dt.timedelta(minutes=2)  # a confirm that died mid-way may be taken over after this
PREVIEW_ROWS_MAX = 500  # rows of each kind shown in a preview (counts are always complete)
LOOKUPS_AT_ONCE = 200
WRITE_BATCH = 2000  # entries per list apply (a unit's range is contiguous: a few chunks each)
STREAM_BATCH = 1000
STANDING_PROJECTION = {"record_id": 1, "data.work_history": 1, "data.employment": 1}
CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

declare_indexes(UPLOADS, expiring=True)

Doc = dict[str, Any]


def today() -> dt.date:
    return dt.datetime.now(CHINA_TZ).date()


def year_list_name(year: int) -> str:
    return f"assessments|{year}"


def _pack(rows: list[dict]) -> Binary:
    return Binary(zlib.compress(bson.encode({"rows": rows}), 1))


def _unpack(data: bytes) -> list[dict]:
    return list(bson.decode(zlib.decompress(data)).get("rows") or [])


def result_view(year: int, row: Mapping[str, Any], uscc: str | None = None) -> Doc:
    """One stored result as people read it."""
    code = row.get("r") or ""
    out = {
        "year": year,
        "result": code,
        "result_label": RESULTS.get(code, ""),
        "comment": row.get("c") or "",
        "recorded_at": row.get("at"),
    }
    if uscc is not None:
        out.update(unit_credit_code=uscc, unit_name=row.get("u") or "")
    return out


class Assessments:
    """The units' annual assessments and the standing they imply."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.uploads = services.db[UPLOADS]
        self.person_list = SortedList(services.db, services.atomic, PERSON_LIST)
        self.pool = BoundedPool(1, 2, "assessment-sheets", "正在处理其他表格，请稍后重试", "sheet_busy", 2.0)
        # told the first collections' ids of people whose results were written (wired in server/app.py:
        # the yearly-duties standing is recomputed at once)
        self.on_written: list[Callable[[list[Any]], Awaitable[Any]]] = []

    async def close(self) -> None:
        self.pool.close()

    @property
    def first_year(self) -> int:
        return int(self.settings.assessment_first_year)

    def year_list(self, year: int) -> SortedList:
        return SortedList(self.services.db, self.services.atomic, year_list_name(year))

    def parse_year(self, raw: str) -> int:
        """A path's year, or 422 `year_invalid`."""
        year = int(raw) if raw.isdigit() and len(raw) == 4 else None
        problem = year_problem(year, today(), self.first_year) if year is not None else "考评年度应为四位数字年份"
        if problem:
            raise Invalid([{"field": "year", "code": "year_invalid", "message": problem}], problem, "year_invalid")
        assert year is not None
        return year

    # -- the unit's people ---------------------------------------------------------------------

    async def people(self, uscc: str) -> dict[str, Doc]:
        """{record id: {name, id_number (masked), confirmed}} of everyone naming the unit (a range read)."""
        lst = SortedList(self.services.db, self.services.atomic, answers.list_name(uscc))
        out: dict[str, Doc] = {}
        offset = 0
        while True:
            rows = await lst.page(offset, 2000)
            for _, row in rows:
                out[str(row.get("id"))] = {
                    "record_id": str(row.get("id")),
                    "name": row.get("name") or "",
                    "masked": row.get("id_number") or "",
                    "confirmed": row.get("unit_confirmation") == "confirmed",
                }
            if len(rows) < 2000:
                return out
            offset += len(rows)

    async def recorded(self, uscc: str, years: Iterable[int]) -> dict[tuple[int, str], Doc]:
        """{(year, record id): {result, comment}} of the unit's stored results of these years."""
        out: dict[tuple[int, str], Doc] = {}
        for year in set(years):
            rows = await self.year_list(year).range(f"{uscc}|", f"{uscc}|\uffff", 1_000_000)
            for key, row in rows:
                out[(year, key.split("|", 1)[1])] = {"result": row.get("r"), "comment": row.get("c") or ""}
        return out

    async def _person(self, unit: Doc, record_id: str) -> Doc:
        """One of the unit's confirmed people, else 404 (another unit's person, unknown) or 409."""
        people = await self.people(unit["_id"])
        person = people.get(record_id) if ObjectId.is_valid(record_id) else None
        if person is None:
            raise NotFound("该人员不存在，或未填写本单位为工作单位", "person_not_found")
        if not person["confirmed"]:
            raise Conflict("该人员尚未经本单位确认在职，请先在“报备确认”中确认", "not_confirmed")
        return person

    # -- one by one ----------------------------------------------------------------------------

    async def year_page(self, unit: Doc, year: int, page: int, page_size: int) -> Doc:
        """A page of the unit's confirmed people with their result of the year (newest first)."""
        lst = SortedList(self.services.db, self.services.atomic, answers.list_name(unit["_id"], "confirmed"))
        rows = await lst.page((page - 1) * page_size, page_size, reverse=True)
        recorded = await self.recorded(unit["_id"], [year])
        items = []
        for _, row in rows:
            rid = str(row.get("id"))
            got = recorded.get((year, rid))
            items.append(
                {
                    "id": rid,
                    "name": row.get("name") or "",
                    "id_number": row.get("id_number") or "",
                    "result": (got or {}).get("result"),
                    "result_label": RESULTS.get((got or {}).get("result") or "", ""),
                    "comment": (got or {}).get("comment") or "",
                }
            )
        return {
            "year": year,
            "items": items,
            "page": page,
            "page_size": page_size,
            "total": await lst.count(),
            "recorded": sum(1 for (y, _) in recorded if y == year),
            "results": [{"code": c, "label": label} for c, label in RESULTS.items()],
        }

    async def record(self, user: SessionUser, unit: Doc, year: int, record_id: str, body: Any) -> Doc:
        """Record (or change) one person's result of a year."""
        if not isinstance(body, dict):
            raise BadRequest("请求内容必须是 JSON 对象", "body_not_object")
        errors = [
            {"field": k, "code": "unknown_field", "message": "不支持的字段"}
            for k in body
            if k not in ("result", "comment")
        ]
        result = result_code(body.get("result"))
        if result is None:
            errors.append(
                {
                    "field": "result",
                    "code": "result_invalid",
                    "message": "考评结果应为：" + " / ".join(RESULTS.values()),
                }
            )
        comment = body.get("comment") or ""
        if not isinstance(comment, str) or len(comment.strip()) > COMMENT_MAX:
            errors.append(
                {"field": "comment", "code": "comment_too_long", "message": f"评语不能超过 {COMMENT_MAX} 个字"}
            )
        if errors:
            raise Invalid(errors)
        person = await self._person(unit, record_id)
        by = await self._by(user, unit)
        assert result is not None
        row = {
            "record_id": record_id,
            "year": year,
            "result": result,
            "comment": comment.strip(),
            "name": person["name"],
        }
        before = (await self.recorded(unit["_id"], [year])).get((year, record_id))
        changed = before is None or before["result"] != result or before["comment"] != row["comment"]
        if changed:
            await self._write(unit, [row], by)
        return {
            **result_view(year, {"r": result, "c": row["comment"], "at": utcnow()}),
            "id": record_id,
            "changed": changed,
        }

    async def _by(self, user: SessionUser, unit: Doc) -> str:
        admin = await admin_application(self.services, user, unit)
        if admin is None:
            from server.units.access import not_unit_admin

            raise not_unit_admin()
        return str(admin["_id"])

    async def _write(self, unit: Doc, rows: list[Doc], by: str) -> None:
        """Store results: the person list first, then the unit's year lists (idempotent puts)."""
        now = utcnow()
        unit_name = unit.get("name") or ""
        person_puts = [
            (
                f"{r['record_id']}|{r['year']}|{unit['_id']}",
                {"r": r["result"], "c": r["comment"], "u": unit_name, "at": now},
            )
            for r in rows
        ]
        for at in range(0, len(person_puts), WRITE_BATCH):
            await self.person_list.apply(person_puts[at : at + WRITE_BATCH], [])
        by_year: dict[int, list] = {}
        for r in rows:
            by_year.setdefault(r["year"], []).append(
                (
                    f"{unit['_id']}|{r['record_id']}",
                    {"r": r["result"], "c": r["comment"], "n": r["name"], "at": now, "by": by},
                )
            )
        for year, puts in by_year.items():
            for at in range(0, len(puts), WRITE_BATCH):
                await self.year_list(year).apply(puts[at : at + WRITE_BATCH], [])
        written = list(dict.fromkeys(r["record_id"] for r in rows))
        for hook in self.on_written:
            await hook(written)

    # -- the sheet -----------------------------------------------------------------------------

    async def template(self, unit: Doc, year: int) -> bytes:
        """The sheet to fill in for a year: the unit's confirmed people, their result if recorded."""
        people = [p for p in (await self.people(unit["_id"])).values() if p["confirmed"]]
        recorded = await self.recorded(unit["_id"], [year])
        rows = [
            {
                "record_id": p["record_id"],
                "id_number": p["masked"],
                "name": p["name"],
                **(recorded.get((year, p["record_id"])) or {}),
            }
            for p in sorted(people, key=lambda p: p["name"])
        ]
        return await self.pool.run(template, year, rows)

    async def preview(self, user: SessionUser, unit: Doc, data: bytes) -> Doc:
        """Read and check a sheet; store what confirming would write (201). Nothing else is written."""
        if len(data) > self.settings.upload_max_bytes:
            raise TooLarge(f"文件不能超过 {self.settings.upload_max_mb} MB", "file_too_large")
        if not data.startswith(b"PK"):
            raise UnsupportedMedia("请上传 Excel（.xlsx）格式的考评表", "sheet_not_xlsx")
        try:
            rows: list[Row] = await self.pool.run(read_sheet, data, int(self.settings.assessment_sheet_max_rows))
        except SheetProblem as exc:
            raise Invalid(
                [{"field": "file", "code": exc.code, "message": exc.message}], exc.message, exc.code
            ) from None
        if not rows:
            message = "表格中没有数据行"
            raise Invalid([{"field": "file", "code": "sheet_no_rows", "message": message}], message, "sheet_no_rows")
        people = await self.people(unit["_id"])
        resolved = await self._resolve(rows, people)
        years = {y for r in rows if isinstance((y := _year_of(r.year)), int)}
        recorded = await self.recorded(unit["_id"], [y for y in years if not year_problem(y, today(), self.first_year)])
        checked = check_rows(rows, people, resolved, recorded, today(), self.first_year)
        by = await self._by(user, unit)
        counts = _counts(checked)
        writes = [
            {
                "record_id": c.record_id,
                "year": c.year,
                "result": c.result,
                "comment": c.comment,
                "name": people[c.record_id or ""]["name"],
            }
            for c in checked
            if c.status in ("new", "changed")
        ]
        now = utcnow()
        upload_id = str(ObjectId())
        errors = [c.view() for c in checked if c.status == "error"]
        doc = {
            "_id": upload_id,
            "uscc": unit["_id"],
            "by": by,
            "openid": user.openid,
            "state": "previewed",
            "created_at": now,
            "expires_at": now + UPLOAD_TTL,
            "rows": _pack(writes),
            "counts": counts,
        }
        await self.uploads.insert_one(doc)
        log.info("unit %s assessment sheet previewed: %s", unit["_id"], counts)
        return {
            "id": upload_id,
            "state": "previewed",
            "counts": counts,
            "errors": errors[:PREVIEW_ROWS_MAX],
            "changes": [c.view() for c in checked if c.status in ("new", "changed")][:PREVIEW_ROWS_MAX],
            "truncated": counts["error"] > PREVIEW_ROWS_MAX or counts["new"] + counts["changed"] > PREVIEW_ROWS_MAX,
            "expires_at": doc["expires_at"],
        }

    async def _resolve(self, rows: list[Row], people: Mapping[str, Doc]) -> dict[str, str]:
        """{full ID number: record id} for the rows naming a person by number only (no 人员编号), looked
        up by `_id` in `archive_numbers` when the number's masked form is one of the unit's people."""
        masks = {p["masked"] for p in people.values()}
        wanted = sorted(
            {
                r.id_number
                for r in rows
                if r.id_number and "*" not in r.id_number and mask_id_number(r.id_number) in masks
            }
        )
        claims = self.services.db["archive_numbers"]
        out: dict[str, str] = {}
        for at in range(0, len(wanted), LOOKUPS_AT_ONCE):
            part = wanted[at : at + LOOKUPS_AT_ONCE]
            found = await asyncio.gather(*[claims.find_one({"_id": n}, {"record_id": 1}) for n in part])
            out.update({n: str(f["record_id"]) for n, f in zip(part, found, strict=True) if f and f.get("record_id")})
        return out

    async def confirm(self, user: SessionUser, unit: Doc, upload_id: str, body: Any) -> Doc:
        """Write a previewed sheet's rows (409 `sheet_has_errors` unless `skip_errors` is true when some
        rows had errors). Confirming again returns the same outcome; nothing is written twice."""
        if not isinstance(body, dict):
            raise BadRequest("请求内容必须是 JSON 对象", "body_not_object")
        problems = [
            {"field": k, "code": "unknown_field", "message": "不支持的字段"} for k in body if k != "skip_errors"
        ]
        if not isinstance(body.get("skip_errors", False), bool):
            problems.append(
                {"field": "skip_errors", "code": "invalid_type", "message": "skip_errors 应为 true 或 false"}
            )
        if problems:
            raise Invalid(problems)
        skip = body.get("skip_errors") is True
        doc = await self.uploads.find_one({"_id": upload_id}) if ObjectId.is_valid(upload_id) else None
        if doc is None or doc.get("uscc") != unit["_id"] or doc.get("expires_at") <= utcnow():
            raise NotFound("没有找到该上传记录（可能已过期），请重新上传", "upload_not_found")
        if doc.get("state") == "confirmed":
            return {"id": upload_id, "state": "confirmed", "counts": doc["counts"], "result": doc.get("result")}
        if doc["counts"]["error"] and not skip:
            raise Conflict(
                f"表格中有 {doc['counts']['error']} 行有错误：请修改后重新上传，或确认只登记没有错误的行（skip_errors）",
                "sheet_has_errors",
            )
        by = await self._by(user, unit)
        now = utcnow()
        taken = await self.services.atomic.update(
            self.uploads,
            {"_id": upload_id, "$or": [{"state": "previewed"}, {"state": "confirming", "lease_until": {"$lt": now}}]},
            {"$set": {"state": "confirming", "lease_until": now + CONFIRM_LEASE}},
        )
        if taken is None:
            raise Conflict("该表格正在登记中，请稍后刷新查看", "upload_confirming")
        # the people and results may have changed since the preview: check the rows again
        rows = _unpack(taken["rows"])
        people = await self.people(unit["_id"])
        recorded = await self.recorded(unit["_id"], {r["year"] for r in rows})
        writes, unchanged, dropped = [], 0, 0
        for r in rows:
            person = people.get(r["record_id"])
            if person is None or not person["confirmed"]:
                dropped += 1
                continue
            before = recorded.get((r["year"], r["record_id"]))
            if before and before["result"] == r["result"] and before["comment"] == r["comment"]:
                unchanged += 1
                continue
            writes.append({**r, "name": person["name"]})
        await self._write(unit, writes, by)
        result = {
            "written": len(writes),
            "unchanged": doc["counts"]["unchanged"] + unchanged,
            "skipped_errors": doc["counts"]["error"],
            "no_longer_confirmed": dropped,
        }
        await self.services.atomic.update(
            self.uploads,
            {"_id": upload_id},
            {"$set": {"state": "confirmed", "result": result, "confirmed_at": utcnow()}, "$unset": {"rows": ""}},
        )
        log.info("unit %s assessment sheet confirmed: %s", unit["_id"], result)
        return {"id": upload_id, "state": "confirmed", "counts": doc["counts"], "result": result}

    # -- the person and staff -------------------------------------------------------------------

    async def of_record(self, record_id: Any) -> list[Doc]:
        """Every result recorded for a person (oldest year first)."""
        rid = str(record_id)
        rows = await self.person_list.range(f"{rid}|", f"{rid}|\uffff", 500)
        out = []
        for key, row in rows:
            _, year, uscc = key.split("|", 2)
            out.append(result_view(int(year), row, uscc))
        return out

    async def standing_of(self, record_id: Any, data: Mapping[str, Any], number: str | None) -> Doc:
        """{assessments, standing, appointments} of a person: the results, the standing the rule gives
        from their work periods (a period whose unit ended the appointment closed at its end), the units'
        registrations of them."""
        results = await self.of_record(record_id)
        appointments = self.services.get(Appointments)
        ended = await appointments.ended_units(number)
        standing = assessment_standing(periods_of(data, ended), [r["year"] for r in results], today(), self.first_year)
        return {"assessments": results, "standing": standing, "appointments": await appointments.person_view(number)}

    async def for_user(self, user: SessionUser) -> Doc:
        """The caller's assessments and standing (GET /api/v1/me/assessments)."""
        from server.records.store import RecordStore, record_fields

        doc = await self.services.get(RecordStore).load(user.record_id, user.openid)
        archive = await self.services.get(LifecycleStore).archive_of(doc)
        data = (archive or {}).get("data") or record_fields(doc)
        return await self.standing_of(doc["_id"], data, doc.get("archive_no"))

    async def for_staff(self, app: Mapping[str, Any], archive: Mapping[str, Any] | None) -> Doc | None:
        """The block of a first collection's staff detail (None for other kinds)."""
        if (app.get("kind") or "collection") != "collection":
            return None
        data = (archive or {}).get("data") or app
        return await self.standing_of(app["_id"], data, app.get("archive_no"))

    async def assessed_years_all(self) -> dict[str, set[int]]:
        """{record id: years with a result} of every person (a stream over the person list, for the
        standing rules over a whole city)."""
        out: dict[str, set[int]] = {}
        lo = ""
        while True:
            rows = await self.person_list.range(lo, None, 4096)
            for key, _ in rows:
                rid, year, _ = key.split("|", 2)
                out.setdefault(rid, set()).add(int(year))
            if len(rows) < 4096:
                return out
            lo = rows[-1][0] + "\x00"

    async def standing_counts(self, on: dt.date | None = None) -> Doc:
        """The rule over every archive: {archives, in_post, no_current_period, assessment_missing, warned}.
        One stream of the person list (the years of each person) and one of `archives` with the fields
        the rule reads; the loop is given back every STREAM_BATCH archives. (An appointment a unit ended
        is applied in the person's own view; here the periods are the archive's.)"""
        on = on or today()
        years = await self.assessed_years_all()
        counts = {"archives": 0, IN_POST: 0, NO_CURRENT_PERIOD: 0, ASSESSMENT_MISSING: 0, "warned": 0}
        cursor = self.services.get(LifecycleStore).archives.find({}, STANDING_PROJECTION, batch_size=STREAM_BATCH)
        async for archive in cursor:
            data = archive.get("data") or {}
            got = years.get(str(archive.get("record_id")), ())
            standing = assessment_standing(periods_of(data), got, on, self.first_year)
            counts["archives"] += 1
            counts[standing["code"]] += 1
            counts["warned"] += standing["warning"] is not None
            if counts["archives"] % STREAM_BATCH == 0:
                await asyncio.sleep(0)
        return counts


async def results_for(services, numbers: list[str]) -> dict[str, dict[int, str]]:
    """{archive number: {year: result label}} of these archives (the yearly-duties rules' reader,
    server/duties/assessed.py): each archive's record id by `_id`, then its range of the person list."""
    store = services.get(LifecycleStore)
    assessments = services.get(Assessments)
    out: dict[str, dict[int, str]] = {}
    for at in range(0, len(numbers), LOOKUPS_AT_ONCE):
        part = numbers[at : at + LOOKUPS_AT_ONCE]
        found = await asyncio.gather(*[store.archives.find_one({"_id": n}, {"record_id": 1}) for n in part])
        ranges = await asyncio.gather(
            *[assessments.of_record(a["record_id"]) for a in found if a and a.get("record_id")]
        )
        for archive, results in zip([a for a in found if a and a.get("record_id")], ranges, strict=True):
            if results:
                out[archive["_id"]] = {r["year"]: r["result_label"] for r in results}
    return out


def _year_of(raw: Any) -> int | None:
    from server.units.assessments_rules import parse_year

    return parse_year(raw)


def _counts(checked: list[Checked]) -> Doc:
    out = {"rows": len(checked), "new": 0, "changed": 0, "unchanged": 0, "error": 0}
    for c in checked:
        out[c.status] += 1
    return out
