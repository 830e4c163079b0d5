"""Continuing-education compliance for staff (server/duties/reports.py): counts per district and
year, the people behind a count, the Excel file, and a city administrator's "count again"."""

from __future__ import annotations

import logging
import time
from contextlib import aclosing
from urllib.parse import quote

from tornado.iostream import StreamClosedError

from handlers.admin_base import StaffHandler
from handlers.base import int_argument
from server.duties.reports import CATEGORIES, PAGE_MAX, YEAR_MAX, YEAR_MIN, ComplianceReports

TAGS = ["admin", "duties"]
_JSON = "application/json"
_ERR = {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}
_YEAR = {
    "name": "year",
    "in": "query",
    "schema": {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX},
    "description": "年度（默认上一年度）",
}
_REGION = {"name": "region", "in": "query", "schema": {"$ref": "#/components/schemas/RecordDistricts"}}
_BAD = {"400": {"description": "参数不正确（invalid_year、invalid_category、invalid_argument）", "content": _ERR}}
_NOT_FOUND = {"404": {"description": "所在区不在本人辖区内（district_not_found）", "content": _ERR}}
log = logging.getLogger("kjcj.export")


class ComplianceHandler(StaffHandler):
    """Counts per district of the caller for one year, and completion per year."""

    openapi = {
        "get": {
            "summary": "继续教育合规统计：本人辖区各区某年度已完成、未完成人数，当前异动、非在岗人数，及各年度完成情况",
            "tags": TAGS,
            "parameters": [_YEAR],
            "responses": {"200": {"description": "成功"}, **_BAD},
        }
    }

    async def get(self) -> None:
        reports = self.services.get(ComplianceReports)
        self.write_json(await reports.report(self.staff, self.get_query_argument("year", None)))


class CompliancePeopleHandler(StaffHandler):
    """The people behind one count (paged, archive numbers masked)."""

    openapi = {
        "get": {
            "summary": "继续教育合规统计明细：某区某年度某类人员（证件号码已隐去部分，分页）",
            "tags": TAGS,
            "parameters": [
                _REGION,
                _YEAR,
                {
                    "name": "category",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "enum": list(CATEGORIES), "x-enum-labels": CATEGORIES},
                },
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
                {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}},
            ],
            "responses": {"200": {"description": "成功"}, **_BAD, **_NOT_FOUND},
        }
    }

    async def get(self) -> None:
        page = int_argument(self, "page", 1, 1, 100000)
        size = int_argument(self, "page_size", 20, 1, PAGE_MAX)
        reports = self.services.get(ComplianceReports)
        self.write_json(
            await reports.people(
                self.staff,
                self.get_query_argument("region", None) or None,
                self.get_query_argument("category", ""),
                self.get_query_argument("year", None),
                page,
                size,
            )
        )


class ComplianceExportHandler(StaffHandler):
    """One year's compliance of the caller's districts as an Excel file (streamed)."""

    openapi = {
        "get": {
            "summary": "导出继续教育合规统计（Excel：各区统计和人员明细）",
            "tags": TAGS,
            "parameters": [_YEAR, _REGION],
            "responses": {
                "200": {
                    "description": "xlsx 文件",
                    "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                },
                **_BAD,
                **_NOT_FOUND,
            },
        }
    }

    async def get(self) -> None:
        job = await self.services.get(ComplianceReports).export(
            self.staff, self.get_query_argument("year", None), self.get_query_argument("region", None) or None
        )
        self.set_header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        self.set_header(
            "Content-Disposition",
            f'attachment; filename="ce-compliance-{job.year}.xlsx"; '
            f"filename*=UTF-8''{quote(f'继续教育合规统计-{job.year}.xlsx')}",
        )
        self.set_header("X-Record-Count", str(job.count))
        started, sent = time.monotonic(), 0
        try:
            async with aclosing(job.chunks()) as chunks:
                async for chunk in chunks:
                    self.write(chunk)
                    sent += len(chunk)
                    await self.flush()
        except StreamClosedError:
            log.info("compliance export: the client left after %d bytes", sent)
            return
        except Exception:
            if not sent:
                raise
            log.exception("compliance export: failed after %d bytes; connection closed", sent)
            self.request.connection.close()  # type: ignore[union-attr]
            return
        log.info("compliance export: %d people, %d bytes in %.1f s", job.count, sent, time.monotonic() - started)
        self.finish()


class ComplianceRebuildHandler(StaffHandler):
    """A city administrator asks for the counts again now (the pass runs in the background)."""

    openapi = {
        "post": {
            "summary": "重新统计继续教育合规情况（市级管理员；后台进行，完成后统计时间更新）",
            "tags": TAGS,
            "responses": {
                "202": {"description": "已开始（或正在进行）"},
                "403": {"description": "只有市级管理员可以重新统计（compliance_admin_only）", "content": _ERR},
            },
        }
    }

    async def post(self) -> None:
        self.write_json(await self.services.get(ComplianceReports).request_rebuild(self.staff), status=202)


default_handlers = [
    (r"/admin/api/compliance", ComplianceHandler),
    (r"/admin/api/compliance/people", CompliancePeopleHandler),
    (r"/admin/api/compliance/export\.xlsx", ComplianceExportHandler),
    (r"/admin/api/compliance/rebuild", ComplianceRebuildHandler),
]
