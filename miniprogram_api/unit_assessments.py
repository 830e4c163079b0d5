"""Annual assessment (年度考评) for a unit's verified administrators: the year's confirmed people with
their results, one result at a time, and the sheet (template, upload with a preview, confirm)."""

from __future__ import annotations

import tornado.web
from tornado.ioloop import IOLoop

from handlers.openapi import multipart_file_body, register_schema
from miniprogram_api.base import json_schema_ref
from miniprogram_api.documents import MULTIPART_OVERHEAD, _multipart_file
from miniprogram_api.unit_base import UNIT_RESPONSES, USCC, UnitHandler, page_arguments, paging_parameters
from server.errors import BadRequest, TooLarge
from server.units.assessments import XLSX, Assessments
from server.units.assessments_rules import COMMENT_MAX, RESULTS

_ERR = json_schema_ref("Error")
YEAR = r"(?P<year>[0-9]{4})"
PERSON = r"(?P<record_id>[0-9a-f]{24})"
UPLOAD = r"(?P<upload_id>[0-9a-f]{24})"
PAGE_MAX = 100
_YEAR_422 = {"422": {"description": "考评年度不在可登记范围（year_invalid）", "content": _ERR}}
register_schema(
    "AssessmentResult",
    {"type": "string", "enum": list(RESULTS), "x-enum-labels": RESULTS, "description": "合格 / 基本合格 / 不合格"},
)
register_schema(
    "AssessmentPreview",
    {
        "type": "object",
        "description": "上传考评表的预览：counts（rows、new、changed、unchanged、error），errors（逐行错误），"
        "changes（将写入的行）；确认前不写入任何考评结果。",
        "properties": {
            "id": {"type": "string"},
            "state": {"type": "string", "enum": ["previewed", "confirmed"]},
            "counts": {"type": "object"},
            "errors": {"type": "array", "items": {"type": "object"}},
            "changes": {"type": "array", "items": {"type": "object"}},
            "truncated": {"type": "boolean"},
            "result": {"type": "object", "nullable": True},
        },
    },
)


class AssessmentYearHandler(UnitHandler):
    """The unit's confirmed people with their result of a year."""

    openapi = {
        "get": {
            "summary": "本单位已确认在职人员的年度考评结果（按年度；证件号码部分隐藏）",
            "tags": ["mini-program"],
            "parameters": [
                *paging_parameters(PAGE_MAX),
            ],
            "responses": {
                "200": {"description": "items、total、recorded（已登记人数）、results（可选结果）"},
                "400": {"description": "参数不正确", "content": _ERR},
                **UNIT_RESPONSES,
                **_YEAR_422,
            },
        }
    }

    async def get(self, uscc: str, year: str) -> None:
        service = self.services.get(Assessments)
        y = service.parse_year(year)
        page, size = page_arguments(self, PAGE_MAX)
        self.write_json(await service.year_page(self.unit, y, page, size))


class AssessmentPersonHandler(UnitHandler):
    """Record one person's result of a year."""

    openapi = {
        "put": {
            "summary": "登记（或修改）一名已确认在职人员的年度考评结果",
            "tags": ["mini-program"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["result"],
                            "additionalProperties": False,
                            "properties": {
                                "result": {"$ref": "#/components/schemas/AssessmentResult"},
                                "comment": {"type": "string", "maxLength": COMMENT_MAX},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已登记（changed=false：与已登记的相同，未改变）"},
                **UNIT_RESPONSES,
                "404": {"description": "该人员不存在或未填写本单位（person_not_found）", "content": _ERR},
                "409": {"description": "该人员尚未经本单位确认（not_confirmed）", "content": _ERR},
                "422": {"description": "结果或评语不正确、年度不在范围", "content": _ERR},
            },
        }
    }

    async def put(self, uscc: str, year: str, record_id: str) -> None:
        service = self.services.get(Assessments)
        y = service.parse_year(year)
        self.write_json(await service.record(self.user, self.unit, y, record_id, self.json_body()))


class AssessmentTemplateHandler(UnitHandler):
    """The sheet to fill in for a year (the unit's confirmed people prefilled)."""

    openapi = {
        "get": {
            "summary": "下载年度考评表模板（.xlsx，预填本单位已确认在职人员和已登记的结果）",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "Excel 文件", "content": {XLSX: {}}},
                **UNIT_RESPONSES,
                **_YEAR_422,
                "503": {"description": "正在处理其他表格（sheet_busy）", "content": _ERR},
            },
        }
    }

    async def get(self, uscc: str, year: str) -> None:
        service = self.services.get(Assessments)
        y = service.parse_year(year)
        data = await service.template(self.unit, y)
        await self.send_bytes(XLSX, f"assessment-{y}.xlsx", data, inline=False)


@tornado.web.stream_request_body
class AssessmentUploadHandler(UnitHandler):
    """Upload a filled sheet: its preview (nothing is written until confirmed)."""

    openapi = {
        "post": {
            "summary": "上传年度考评表（multipart/form-data，字段 file，.xlsx）：返回逐行检查结果，确认前不写入",
            "tags": ["mini-program"],
            "requestBody": multipart_file_body(),
            "responses": {
                "201": {"description": "预览", "content": json_schema_ref("AssessmentPreview")},
                "400": {"description": "缺少文件或不是 multipart（file_missing / not_multipart）", "content": _ERR},
                **UNIT_RESPONSES,
                "413": {"description": "文件过大（file_too_large）", "content": _ERR},
                "415": {"description": "不是 .xlsx（sheet_not_xlsx）", "content": _ERR},
                "422": {
                    "description": "无法读取、没有表头、没有数据行或行数过多（sheet_unreadable / sheet_headers_missing / "
                    "sheet_no_rows / sheet_too_many_rows）",
                    "content": _ERR,
                },
                "503": {"description": "正在处理其他表格（sheet_busy）", "content": _ERR},
            },
        }
    }

    async def prepare(self) -> None:
        await super().prepare()
        self.received = bytearray()
        self.limit = self.services.settings.upload_max_bytes + MULTIPART_OVERHEAD
        length = self.request.headers.get("Content-Length")
        if length is not None and not length.strip().isdigit():
            raise BadRequest("请求长度信息不正确", "invalid_content_length")
        if length is not None and int(length) > self.limit:
            raise self._too_large()

    def _too_large(self) -> TooLarge:
        return TooLarge(f"文件不能超过 {self.services.settings.upload_max_mb} MB", "file_too_large")

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        if len(self.received) + len(chunk) > self.limit:
            self.received = bytearray()
            exc = self._too_large()
            self.send_error(413, exc_info=(type(exc), exc, None))
            return
        self.received += chunk

    async def post(self, uscc: str) -> None:
        if self._finished:
            return
        ctype = self.request.headers.get("Content-Type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise BadRequest("请以 multipart/form-data 上传文件，文件字段名为 file", "not_multipart")
        received, self.received = self.received, bytearray()
        data = await IOLoop.current().run_in_executor(None, _multipart_file, ctype, received)
        if not data:
            raise BadRequest("未收到文件，请在字段 file 中上传", "file_missing")
        preview = await self.services.get(Assessments).preview(self.user, self.unit, data)
        self.write_json(preview, status=201)


class AssessmentConfirmHandler(UnitHandler):
    """Write a previewed sheet."""

    openapi = {
        "post": {
            "summary": "确认登记已预览的考评表（再次确认返回同一结果，不重复写入）",
            "tags": ["mini-program"],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "skip_errors": {"type": "boolean", "description": "有错误行时只登记没有错误的行"}
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "已登记：result（written、unchanged、skipped_errors）",
                    "content": json_schema_ref("AssessmentPreview"),
                },
                **UNIT_RESPONSES,
                "404": {"description": "没有该上传或已过期（upload_not_found）", "content": _ERR},
                "409": {
                    "description": "有错误行且未选择跳过（sheet_has_errors），或正在登记（upload_confirming）",
                    "content": _ERR,
                },
                "422": {"description": "字段不正确", "content": _ERR},
            },
        }
    }

    async def post(self, uscc: str, upload_id: str) -> None:
        service = self.services.get(Assessments)
        self.write_json(await service.confirm(self.user, self.unit, upload_id, self.json_body()))


default_handlers = [
    (rf"/api/v1/unit/{USCC}/assessments/uploads", AssessmentUploadHandler),
    (rf"/api/v1/unit/{USCC}/assessments/uploads/{UPLOAD}/confirm", AssessmentConfirmHandler),
    (rf"/api/v1/unit/{USCC}/assessments/{YEAR}", AssessmentYearHandler),
    (rf"/api/v1/unit/{USCC}/assessments/{YEAR}/template\.xlsx", AssessmentTemplateHandler),
    (rf"/api/v1/unit/{USCC}/assessments/{YEAR}/people/{PERSON}", AssessmentPersonHandler),
]
