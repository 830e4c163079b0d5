"""Compliance reports (继续教育合规统计): per district and year, how many people completed their
continuing education, how many did not, and how many stand 异动 / 非在岗; the people behind each
number (paged, ID numbers masked); and the same as an Excel file.

Shaped for FerretDB at city scale: no request filters `standings` (every filter there decodes the
whole collection). One pass over `standings` (the standing runner's documents, `_id` archive
number) builds, per district:
- `compliance_summary` (`_id` district code): {region_code, years: [{year, complete, incomplete}],
  standing: {normal, abnormal, not_in_post}, total, built_at}: the report reads one document per
  district of the caller;
- sorted lists of archive numbers (server/lists.py, `bulk_load`): `ce|<district>|<year>|complete`,
  `ce|<district>|<year>|incomplete`, `ce|<district>|abnormal`, `ce|<district>|not_in_post`: a
  page of people is 2-3 `_id` reads of the list, then the page's standings and archives by `_id`.
The rows hold nothing but the key, so the pass keeps one string per archive (shared by its lists)
in memory. 异动 and 非在岗 are the current standings (the runner's), not per year. A year's
"incomplete" count includes, for the current year, people still in progress.

The pass runs under a lease (`compliance_builds`, `_id` "summary"; server/duties/lease.py) in one
process at a time: every REFRESH, after the nightly standing run (its `ce_standing_runs` record is
newer than the last pass), when `stale()` asked for it, or when a city administrator asks
(`POST /admin/api/compliance/rebuild`). The report says when it was built. A standing recomputed
during the day (an import, a claim) shows in the people's rows at once (they read the standing
by `_id`) and in the counts at the next pass.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from server.db import utcnow
from server.districts import deployment_districts, district_name
from server.duties.lease import EPOCH, JobLease
from server.duties.runner import NIGHTLY, RUNS
from server.errors import BadRequest, Forbidden, NotFound
from server.lifecycle.store import ARCHIVES
from server.lists import SortedList, bulk_load, counts, drop, merged_page
from server.masking import mask_id_number
from server.notify.template import CHINA
from server.review.export import merged_entries
from server.staff.model import Staff
from server.xlsxstream import SheetSpec, XlsxStream

log = logging.getLogger("kjcj.duties")

STANDINGS = "standings"
SUMMARY = "compliance_summary"
BUILDS = "compliance_builds"
BUILD_KEY = "summary"
YEAR_CATEGORIES = ("complete", "incomplete")
STANDING_CATEGORIES = ("abnormal", "not_in_post")
CATEGORIES = {"complete": "已完成", "incomplete": "未完成", "abnormal": "异动", "not_in_post": "非在岗"}
STANDING_LABELS = {"normal": "正常", "abnormal": "异动", "not_in_post": "非在岗"}
LEASE = dt.timedelta(minutes=5)
REFRESH = dt.timedelta(hours=1)  # the summary is rebuilt at least this often (by one process)
POLL_SECONDS = 60.0
BATCH = 1000  # standings per read batch; the loop is given back after each
PAGE_MAX = 100
FETCH = 12  # standings and archives read at once for a page or an export batch
YEAR_MIN, YEAR_MAX = 2000, 2100
EMPTY: dict = {}
ARCHIVE_PROJECTION = {"record_id": 1, "region_code": 1, "data.profile.name": 1, "data.employment.unit_name": 1}


def list_name(region: str, category: str, year: int | None = None) -> str:
    return f"ce|{region}|{year}|{category}" if category in YEAR_CATEGORIES else f"ce|{region}|{category}"


def current_year(now: dt.datetime | None = None) -> int:
    return (now or utcnow()).astimezone(CHINA).year


def _year_entry(standing: dict, year: int) -> dict:
    for entry in standing.get("years") or []:
        if isinstance(entry, dict) and entry.get("year") == year:
            return entry
    return {}


def _years(value: Any) -> str:
    return "、".join(str(y) for y in value or [])


class ComplianceReports:
    """Builds the compliance summary and answers the reports (see module doc); one per process."""

    def __init__(self, services):
        self.services = services
        self.db = services.db
        self.standings = services.db[STANDINGS]
        self.summary = services.db[SUMMARY]
        self.builds = services.db[BUILDS]
        self.archives = services.db[ARCHIVES]

    # --- the pass --------------------------------------------------------------------------

    async def rebuild(self, force: bool = False) -> dict | None:
        """One pass if one is due (or `force`) and no other process is at it: its outline, else None."""
        lease = JobLease(self.services, self.builds, BUILD_KEY, LEASE)
        state = await lease.take(due_only=not force)
        if state is None:
            return None
        try:
            outline = await self._build(lease, state)
        except BaseException:
            await lease.release(next_at=utcnow() + dt.timedelta(minutes=1))
            raise
        await lease.release(next_at=utcnow() + REFRESH, **outline)
        log.info(
            "compliance summary built: %d standings, %d lists in %.1f s",
            outline["standings"],
            len(outline["lists"]),
            outline["seconds"],
        )
        return outline

    async def stale(self) -> None:
        """Ask for a new pass soon (by whichever process polls first): after a standing run."""
        await self.builds.update_one({"_id": BUILD_KEY}, {"$set": {"next_at": EPOCH}})

    async def _build(self, lease: JobLease, state: dict) -> dict[str, Any]:
        started = time.monotonic()
        keys: dict[str, list[str]] = defaultdict(list)
        years: dict[str, dict[int, list[int]]] = defaultdict(dict)  # region -> year -> [complete, incomplete]
        standing: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STANDING_LABELS, 0))
        n = 0
        renewed = time.monotonic()
        async for doc in self.standings.find({}, {"region_code": 1, "standing": 1, "years": 1}, batch_size=BATCH):
            region, archive_no = doc.get("region_code"), doc.get("_id")
            if not isinstance(region, str) or not region or not isinstance(archive_no, str):
                continue
            for entry in doc.get("years") or []:
                year = entry.get("year") if isinstance(entry, dict) else None
                if not isinstance(year, int):
                    continue
                category = "complete" if entry.get("complete") else "incomplete"
                keys[list_name(region, category, year)].append(archive_no)
                pair = years[region].setdefault(year, [0, 0])
                pair[0 if category == "complete" else 1] += 1
            code = doc.get("standing") if doc.get("standing") in STANDING_LABELS else "normal"
            standing[region][code] += 1
            if code in STANDING_CATEGORIES:
                keys[list_name(region, code)].append(archive_no)
            n += 1
            if n % BATCH == 0:
                await asyncio.sleep(0)
                if time.monotonic() - renewed > LEASE.total_seconds() / 4:
                    await lease.renew()
                    renewed = time.monotonic()
        for region in standing:
            for category in STANDING_CATEGORIES:
                keys.setdefault(list_name(region, category), [])
        for name in sorted(keys):
            await bulk_load(self.db, name, ((k, EMPTY) for k in keys[name]), atomic=self.services.atomic)
            keys[name] = []  # let the strings go as we go
            await lease.renew()
        for name in set(state.get("lists") or []) - set(keys):
            await drop(self.db, name)
        built_at = utcnow()
        for region, tally in standing.items():
            await self.summary.replace_one(
                {"_id": region},
                {
                    "_id": region,
                    "region_code": region,
                    "years": [
                        {"year": y, "complete": c, "incomplete": i} for y, (c, i) in sorted(years[region].items())
                    ],
                    "standing": tally,
                    "total": sum(tally.values()),
                    "built_at": built_at,
                },
                upsert=True,
            )
        for region in set(state.get("regions") or []) - set(standing):
            await self.summary.delete_one({"_id": region})
        return {
            "built_at": built_at,
            "standings": n,
            "regions": sorted(standing),
            "lists": sorted(keys),
            "years": sorted({y for r in years.values() for y in r}),
            "seconds": round(time.monotonic() - started, 3),
        }

    async def _after_standing_run(self) -> None:
        """Ask for a pass when the nightly standing run finished after the last one."""
        run = await self.db[RUNS].find_one({"_id": NIGHTLY}, {"last": 1}) or {}
        ran = (run.get("last") or {}).get("at")
        build = await self.builds.find_one({"_id": BUILD_KEY}, {"built_at": 1, "next_at": 1}) or {}
        if ran and (not build.get("built_at") or ran > build["built_at"]) and (build.get("next_at") or EPOCH) > ran:
            await self.stale()

    async def run_forever(self, every: float = POLL_SECONDS) -> None:
        """Build the summary whenever it is due (any process may); until cancelled."""
        while True:
            try:
                await self._after_standing_run()
                await self.rebuild()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("compliance summary failed")
            await asyncio.sleep(every)

    async def request_rebuild(self, staff: Staff) -> dict:
        """A city administrator's "count again now": the pass runs in the background of this process."""
        if not staff.is_city_admin:
            raise Forbidden("只有市级管理员可以重新统计", "compliance_admin_only")
        build = await self.builds.find_one({"_id": BUILD_KEY}) or {}
        if (build.get("lease_until") or EPOCH) > utcnow():
            return {"started": False, "building": True}
        self.services.spawn(lambda: self._rebuild_now(), "compliance-rebuild")
        return {"started": True, "building": True}

    async def _rebuild_now(self) -> None:
        try:
            await self.rebuild(force=True)
        except Exception:
            log.exception("compliance summary failed")

    # --- the reports -----------------------------------------------------------------------

    def _year(self, raw: Any, default: int) -> int:
        if raw is None or raw == "":
            return default
        try:
            year = int(raw)
        except (TypeError, ValueError):
            raise BadRequest("年度必须是四位数字", "invalid_year") from None
        if not YEAR_MIN <= year <= YEAR_MAX:
            raise BadRequest(f"年度必须在{YEAR_MIN}到{YEAR_MAX}之间", "invalid_year")
        return year

    async def report(self, staff: Staff, year: Any = None) -> dict:
        """Counts per district of the caller for one year (default: the last ended year), and per year."""
        regions = [d for d in deployment_districts(self.services.settings).districts if staff.can_see(d["code"])]
        docs = await asyncio.gather(*[self.summary.find_one({"_id": d["code"]}) for d in regions])
        build = await self.builds.find_one({"_id": BUILD_KEY}, {"built_at": 1, "lease_until": 1}) or {}
        this_year = current_year()
        chosen = self._year(year, this_year - 1)
        per_year: dict[int, list[int]] = {}
        rows = []
        totals = dict.fromkeys((*CATEGORIES, "people", "total"), 0)
        for district, doc in zip(regions, docs):
            doc = doc or {}
            for y in doc.get("years") or []:
                pair = per_year.setdefault(y["year"], [0, 0])
                pair[0] += y.get("complete", 0)
                pair[1] += y.get("incomplete", 0)
            entry: dict = next((y for y in doc.get("years") or [] if y.get("year") == chosen), {})
            row = {
                "region_code": district["code"],
                "region_name": district["name"],
                "complete": entry.get("complete", 0),
                "incomplete": entry.get("incomplete", 0),
                "abnormal": (doc.get("standing") or {}).get("abnormal", 0),
                "not_in_post": (doc.get("standing") or {}).get("not_in_post", 0),
                "total": doc.get("total", 0),
            }
            row["people"] = row["complete"] + row["incomplete"]
            row["rate"] = round(row["complete"] / row["people"], 4) if row["people"] else None
            for k in totals:
                totals[k] += row[k]
            rows.append(row)
        totals_out: dict[str, Any] = dict(totals)
        totals_out["rate"] = round(totals["complete"] / totals["people"], 4) if totals["people"] else None
        return {
            "year": chosen,
            "current_year": this_year,
            "years": sorted(set(per_year) | {chosen}),
            "categories": CATEGORIES,
            "built_at": build.get("built_at"),
            "building": (build.get("lease_until") or EPOCH) > utcnow(),
            "districts": rows,
            "totals": totals_out,
            "per_year": [
                {"year": y, "complete": c, "incomplete": i, "in_progress": y == this_year}
                for y, (c, i) in sorted(per_year.items())
            ],
        }

    def _lists(self, staff: Staff, region: str | None, category: str, year: int) -> list[SortedList]:
        """The caller's lists of one category (one district, or all of theirs)."""
        if category not in CATEGORIES:
            raise BadRequest("统计类别不正确", "invalid_category")
        codes = deployment_districts(self.services.settings).codes
        if region:
            if region not in codes or not staff.can_see(region):
                raise NotFound("所在区不存在或不在您的辖区内", "district_not_found")
            regions = [region]
        else:
            regions = [c for c in staff.regions if c in codes]
        return [SortedList(self.db, self.services.atomic, list_name(r, category, year)) for r in regions]

    async def _rows(self, keys: list[str], year: int, masked: bool) -> list[dict]:
        """People by archive number: their standing of now and their archive's name and unit."""
        out: list[dict] = []
        for at in range(0, len(keys), FETCH):
            part = keys[at : at + FETCH]
            found = await asyncio.gather(
                *[self.standings.find_one({"_id": k}) for k in part],
                *[self.archives.find_one({"_id": k}, ARCHIVE_PROJECTION) for k in part],
            )
            for k, st, arch in zip(part, found[: len(part)], found[len(part) :]):
                out.append(self._person(k, st or {}, arch or {}, year, masked))
        return out

    def _person(self, archive_no: str, st: dict, arch: dict, year: int, masked: bool) -> dict:
        entry = _year_entry(st, year)
        data = arch.get("data") or {}
        region = st.get("region_code") or arch.get("region_code")
        code = st.get("standing") or "normal"
        return {
            "archive_no": mask_id_number(archive_no) if masked else archive_no,
            "name": (data.get("profile") or {}).get("name") or "",
            "unit_name": (data.get("employment") or {}).get("unit_name") or "",
            "region_code": region,
            "region_name": district_name(self.services.settings, region),
            "record_id": str(arch["record_id"]) if arch.get("record_id") else None,
            "year": year,
            "credits_total": entry.get("credits_total"),
            "credits_professional": entry.get("credits_professional"),
            "required_total": entry.get("required_total"),
            "complete": entry.get("complete") if entry else None,
            "in_progress": bool(entry.get("in_progress")),
            "assessment": entry.get("assessment"),
            "standing": code,
            "standing_label": STANDING_LABELS.get(code, code),
            "incomplete_years": list(st.get("incomplete_years") or []),
            "missing_assessment_years": list(st.get("missing_assessment_years") or []),
        }

    async def people(
        self, staff: Staff, region: str | None, category: str, year: Any, page: int, page_size: int
    ) -> dict:
        """One page of the people behind a count (archive numbers masked), in archive-number order."""
        chosen = self._year(year, current_year() - 1)
        lists = self._lists(staff, region, category, chosen)
        total = sum(await counts(lists)) if lists else 0
        entries = await merged_page(lists, (page - 1) * page_size, page_size) if lists else []
        return {
            "region_code": region,
            "category": category,
            "category_label": CATEGORIES[category],
            "year": chosen,
            "page": page,
            "page_size": page_size,
            "total": total,
            "items": await self._rows([k for k, _ in entries], chosen, masked=True),
        }

    async def export(self, staff: Staff, year: Any, region: str | None) -> ComplianceExport:
        """The caller's compliance of one year as an .xlsx (checked before anything is sent)."""
        chosen = self._year(year, current_year() - 1)
        lists = [lst for c in YEAR_CATEGORIES for lst in self._lists(staff, region, c, chosen)]
        report = await self.report(staff, chosen)
        if region:
            report["districts"] = [d for d in report["districts"] if d["region_code"] == region]
        return ComplianceExport(self, chosen, report, lists)


SUMMARY_SHEET, PEOPLE_SHEET = "合规统计", "人员明细"
SUMMARY_HEADERS = ["所在区", "年度", "应参加人数", "已完成", "未完成", "完成率", "异动（当前）", "非在岗（当前）"]
PEOPLE_HEADERS = [
    "所在区",
    "档案号",
    "姓名",
    "工作单位",
    "年度",
    "已取得学分",
    "其中专业科目",
    "要求学分",
    "本年度",
    "当前状态",
    "未完成年度",
    "缺少考核年度",
]
PEOPLE_WIDTHS = [10, 22, 12, 30, 8, 10, 12, 10, 10, 10, 20, 16]


def _summary_row(year: int, row: dict) -> list:
    rate = f"{row['rate'] * 100:.1f}%" if row.get("rate") is not None else ""
    return [
        row.get("region_name", "合计"),
        year,
        row["people"],
        row["complete"],
        row["incomplete"],
        rate,
        row["abnormal"],
        row["not_in_post"],
    ]


def _people_row(p: dict) -> list:
    state = "已完成" if p["complete"] else ("进行中" if p["in_progress"] else "未完成")
    return [
        p["region_name"],
        p["archive_no"],
        p["name"],
        p["unit_name"],
        p["year"],
        p["credits_total"],
        p["credits_professional"],
        p["required_total"],
        state,
        p["standing_label"],
        _years(p["incomplete_years"]),
        _years(p["missing_assessment_years"]),
    ]


@dataclass
class ComplianceExport:
    """One caller's export of a year: the summary sheet, then every person of the year (streamed)."""

    reports: ComplianceReports
    year: int
    report: dict
    lists: list[SortedList]

    @property
    def count(self) -> int:
        return sum(d["people"] for d in self.report["districts"])

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The .xlsx, chunk by chunk; people read a page of the lists at a time, their documents FETCH at a time."""
        book = XlsxStream(
            [
                SheetSpec(SUMMARY_SHEET, [12, 8, 12, 10, 10, 10, 12, 14]),
                SheetSpec(PEOPLE_SHEET, PEOPLE_WIDTHS, freeze_header=True),
            ]
        )
        finished = False
        try:
            book.open_sheet()
            rows = [SUMMARY_HEADERS] + [_summary_row(self.year, d) for d in self.report["districts"]]
            rows.append(_summary_row(self.year, {**self.report["totals"], "region_name": "合计"}))
            book.write(book.rows_xml(rows))
            book.close_sheet()
            book.open_sheet()
            book.write(book.rows_xml([PEOPLE_HEADERS]))
            yield book.take()
            pages = merged_entries(self.lists)
            try:
                async for page in pages:
                    people = await self.reports._rows([k for k, _ in page], self.year, masked=False)
                    await book.awrite(book.rows_xml([_people_row(p) for p in people]))
                    if out := book.take():
                        yield out
            finally:
                await pages.aclose()  # type: ignore[attr-defined]
            book.close_sheet()
            book.close()
            finished = True
            yield book.take()
        finally:
            if not finished:
                book.discard()
