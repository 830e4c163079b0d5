"""The old register (原会计档案, server/legacy/) for staff: the import template, imports (preview,
confirm, history), the mismatch cases, and the people not yet collected per district.

Uploads are the file itself as the request body (`Content-Type: application/octet-stream`, or
the file's own type), its name in the query (`file_name`); an announced or actual body over
`LEGACY_IMPORT_MAX_MB` is answered 413 before it is buffered. A confirmation sends the same file
again (nothing of it is kept between the two steps).
"""

from __future__ import annotations

import tornado.web

from handlers.admin_base import StaffHandler
from handlers.base import MAX_PAGE_SIZE, int_argument
from handlers.openapi import register_schema
from server.errors import BadRequest
from server.legacy.matching import LegacyMatcher
from server.legacy.pending import LegacyPending
from server.legacy.register import LegacyRegister
from server.legacy.template import template_csv, template_xlsx

TAGS = ["admin", "legacy"]
IMPORT_ID = r"(?P<import_id>[0-9a-f]{24})"
CASE_ID = r"(?P<case_id>[0-9a-f]{24})"
REGION = r"(?P<region>[0-9]{6})"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _json(name: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


_ERR = _json("Error")
_PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
    {
        "name": "page_size",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 20},
    },
]
_FILE_BODY = {
    "required": True,
    "description": "文件本身（.xlsx，或 UTF-8 / GB18030 编码的 .csv）",
    "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}},
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
    },
}
_UPLOAD_ERRORS = {
    "400": {"description": "空文件（empty_file）", "content": _ERR},
    "413": {"description": "文件或行数超过上限（file_too_large / too_many_rows）", "content": _ERR},
    "415": {"description": "不是 .xlsx 或 .csv（unsupported_file_type）", "content": _ERR},
    "422": {
        "description": "文件无法读取（corrupt_file / undecodable_file / missing_columns）",
        "content": _ERR,
    },
    "503": {"description": "正在处理其他导入文件（legacy_import_busy）", "content": _ERR},
}

register_schema(
    "LegacyImport",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "state": {"type": "string", "enum": ["previewed", "confirming", "confirmed"]},
            "by": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "file_name": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "regions": {"type": "array", "items": {"type": "object"}},
            "counts": {
                "type": "object",
                "description": "rows 数据行；error_rows 有错误的行；valid 无错误的行；new 新增；changed 有变化；unchanged 无变化（跳过）",
                "properties": {
                    k: {"type": "integer"} for k in ("rows", "error_rows", "valid", "new", "changed", "unchanged")
                },
            },
            "errors": {
                "type": "array",
                "description": "每行的错误（row 为表格中的行号），不含该行内容",
                "items": {
                    "type": "object",
                    "properties": {
                        "row": {"type": "integer"},
                        "field": {"type": "string"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
            "errors_truncated": {"type": "boolean"},
            "confirmable": {"type": "boolean"},
            "confirmed_by": {"type": "string", "nullable": True},
            "confirmed_at": {"type": "string", "format": "date-time", "nullable": True},
            "written": {"type": "object", "nullable": True},
            "sample": {
                "type": "array",
                "items": {"type": "object"},
                "description": "预览时：前若干条新增/变化的行（脱敏）",
            },
        },
    },
)
register_schema(
    "LegacyMismatch",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "state": {"type": "string", "enum": ["open", "linked", "dismissed", "matched", "withdrawn"]},
            "state_label": {"type": "string"},
            "region_code": {"type": "string"},
            "region_name": {"type": "string"},
            "register_name": {"type": "string", "description": "原档案中的姓名"},
            "record_name": {"type": "string", "description": "本人填写的姓名"},
            "id_masked": {"type": "string"},
            "record_id": {"type": "string"},
            "opened_at": {"type": "string", "format": "date-time"},
            "resolved_by": {"type": "string", "nullable": True},
            "resolved_at": {"type": "string", "format": "date-time", "nullable": True},
            "note": {"type": "string", "nullable": True},
        },
    },
)
register_schema(
    "LegacyPendingDistrict",
    {
        "type": "object",
        "properties": {
            "region_code": {"type": "string"},
            "region_name": {"type": "string"},
            "state": {"type": "string", "nullable": True, "enum": ["building", "ready", "failed", None]},
            "ready": {"type": "boolean"},
            "not_collected": {"type": "integer", "description": "原档案中尚未完成采集的人数"},
            "register_people": {"type": "integer", "description": "原档案中该区的人数"},
            "scanned": {"type": "integer"},
            "computed_at": {"type": "string", "format": "date-time", "nullable": True},
            "requested_at": {"type": "string", "format": "date-time", "nullable": True},
            "error": {"type": "string", "nullable": True},
        },
    },
)


@tornado.web.stream_request_body
class _FileBody(StaffHandler):
    """Buffers the request body up to the import limit (413 beyond it, before buffering)."""

    async def prepare(self) -> None:
        await super().prepare()
        self.received = bytearray()
        self.limit = self.services.settings.legacy_import_max_bytes
        length = self.request.headers.get("Content-Length")
        if length is not None and not length.strip().isdigit():
            raise BadRequest("请求长度信息不正确", "invalid_content_length")
        if length is not None and int(length) > self.limit:
            raise self.services.get(LegacyRegister).too_large()

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        if len(self.received) + len(chunk) > self.limit:
            self.received = bytearray()
            exc = self.services.get(LegacyRegister).too_large()
            self.send_error(413, exc_info=(type(exc), exc, None))
            return
        self.received += chunk

    def body(self) -> bytes:
        data, self.received = bytes(self.received), bytearray()
        return data


class LegacyTemplateHandler(StaffHandler):
    """The import template."""

    openapi = {
        "get": {
            "summary": "下载原会计档案导入模板（format=xlsx 或 csv）",
            "tags": TAGS,
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["xlsx", "csv"], "default": "xlsx"},
                }
            ],
            "responses": {
                "200": {"description": "模板文件", "content": {XLSX: {}, "text/csv": {}}},
                "400": {"description": "format 不是 xlsx 或 csv（invalid_argument）", "content": _ERR},
                "503": {"description": "正在处理导入文件（legacy_import_busy），请稍后重试", "content": _ERR},
            },
        }
    }

    async def get(self) -> None:
        kind = self.get_query_argument("format", "xlsx")
        if kind == "csv":
            await self.send_bytes(
                "text/csv; charset=utf-8", "legacy-register-template.csv", template_csv(), inline=False
            )
        elif kind == "xlsx":
            data = await self.services.get(LegacyRegister).pool.run(template_xlsx)
            await self.send_bytes(XLSX, "legacy-register-template.xlsx", data, inline=False)
        else:
            raise BadRequest("参数 format 应为 xlsx 或 csv", "invalid_argument")


class LegacyImportsHandler(_FileBody):
    """Upload a file for preview; the import history."""

    openapi = {
        "get": {
            "summary": "导入记录（谁、何时、文件名、SHA-256、各项行数），最新在前",
            "tags": TAGS,
            "responses": {
                "200": {
                    "description": "成功",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/LegacyImport"}}
                                },
                            }
                        }
                    },
                }
            },
        },
        "post": {
            "summary": "上传原会计档案文件并预览：逐行检查、与已导入的原档案比较（新增/变化/无变化），不写入原档案",
            "tags": TAGS,
            "parameters": [{"name": "file_name", "in": "query", "schema": {"type": "string", "maxLength": 200}}],
            "requestBody": _FILE_BODY,
            "responses": {
                "201": {"description": "预览结果（已记入导入记录）", "content": _json("LegacyImport")},
                **_UPLOAD_ERRORS,
            },
        },
    }

    async def get(self) -> None:
        self.write_json({"items": await self.services.get(LegacyRegister).history(self.staff)})

    async def post(self) -> None:  # type: ignore[override]
        if self._finished:
            return
        name = self.get_query_argument("file_name", "")
        self.write_json(await self.services.get(LegacyRegister).preview(self.staff, self.body(), name), status=201)


class LegacyImportHandler(StaffHandler):
    """One import, with its row errors."""

    openapi = {
        "get": {
            "summary": "一次导入的详情（含逐行错误）",
            "tags": TAGS,
            "responses": {
                "200": {"description": "成功", "content": _json("LegacyImport")},
                "404": {"description": "没有这次导入（import_not_found）", "content": _ERR},
            },
        }
    }

    async def get(self, import_id: str) -> None:
        self.write_json(await self.services.get(LegacyRegister).get(self.staff, import_id))


class LegacyConfirmHandler(_FileBody):
    """Confirm a previewed import (the same file again)."""

    openapi = {
        "post": {
            "summary": "确认导入：再次上传预览过的同一文件，写入新增和有变化的行，无变化的行跳过",
            "tags": TAGS,
            "requestBody": _FILE_BODY,
            "responses": {
                "200": {"description": "已写入", "content": _json("LegacyImport")},
                "404": {"description": "没有这次导入，或不是本人预览的（import_not_found）", "content": _ERR},
                "409": {
                    "description": "文件与预览时不同（file_changed）、有错误行（import_has_errors）或已确认（import_already_confirmed）",
                    "content": _ERR,
                },
                **_UPLOAD_ERRORS,
            },
        }
    }

    async def post(self, import_id: str) -> None:  # type: ignore[override]
        if self._finished:
            return
        self.write_json(await self.services.get(LegacyRegister).confirm(self.staff, import_id, self.body()))


class LegacyMismatchesHandler(StaffHandler):
    """The open mismatch cases of the caller's districts."""

    openapi = {
        "get": {
            "summary": "姓名与原档案不一致、待核实的人员（姓名、证件号脱敏），按发现时间排序",
            "tags": TAGS,
            "parameters": [
                {"name": "region", "in": "query", "schema": {"$ref": "#/components/schemas/RecordDistricts"}}
            ]
            + _PAGING,
            "responses": {
                "200": {"description": "成功", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"description": "参数不正确（invalid_argument）", "content": _ERR},
                "404": {"description": "不是本人所辖区（region_not_found）", "content": _ERR},
            },
        }
    }

    async def get(self) -> None:
        region = self.get_query_argument("region", None) or None
        page = int_argument(self, "page", 1, 1, 100000)
        size = int_argument(self, "page_size", 20, 1, MAX_PAGE_SIZE)
        self.write_json(await self.services.get(LegacyMatcher).open_cases(self.staff, region, page, size))


class LegacyMismatchHandler(StaffHandler):
    """One case, with both names in full."""

    openapi = {
        "get": {
            "summary": "一条待核实记录：原档案姓名与本人填写的姓名",
            "tags": TAGS,
            "responses": {
                "200": {"description": "成功", "content": _json("LegacyMismatch")},
                "404": {"description": "没有这条记录（mismatch_not_found）", "content": _ERR},
            },
        }
    }

    async def get(self, case_id: str) -> None:
        self.write_json(await self.services.get(LegacyMatcher).get(self.staff, case_id))


class LegacyResolveHandler(StaffHandler):
    """Link after checking, or dismiss."""

    openapi = {
        "post": {
            "summary": "处理待核实记录：核实后关联原档案（link，预填并锁定原档案信息）或驳回（dismiss）",
            "tags": TAGS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["action"],
                            "properties": {
                                "action": {"type": "string", "enum": ["link", "dismiss"]},
                                "note": {"type": "string", "maxLength": 200, "nullable": True},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已处理", "content": _json("LegacyMismatch")},
                "400": {"description": "请求体不是 JSON 对象", "content": _ERR},
                "404": {"description": "没有这条记录（mismatch_not_found）", "content": _ERR},
                "409": {
                    "description": "已处理过（mismatch_closed），或该人员已提交/已更换证件号码（record_not_linkable）",
                    "content": _ERR,
                },
                "422": {"description": "action 或 note 不正确", "content": _ERR},
            },
        }
    }

    async def post(self, case_id: str) -> None:
        body = self.json_body()
        result = await self.services.get(LegacyMatcher).resolve(
            self.staff, case_id, body.get("action"), body.get("note")
        )
        self.write_json(result)


class LegacyPendingHandler(StaffHandler):
    """Per district of the caller: register people, and those not yet collected."""

    openapi = {
        "get": {
            "summary": "各区原档案人数与尚未完成采集的人数（名单生成时的统计）",
            "tags": TAGS,
            "responses": {
                "200": {
                    "description": "成功",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "items": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/LegacyPendingDistrict"},
                                    }
                                },
                            }
                        }
                    },
                }
            },
        }
    }

    async def get(self) -> None:
        self.write_json({"items": await self.services.get(LegacyPending).overview(self.staff)})


class LegacyPendingListHandler(StaffHandler):
    """A page of a district's people not yet collected (masked)."""

    openapi = {
        "get": {
            "summary": "某区原档案中尚未完成采集的人员（姓名、证件号脱敏，按拼音排序）",
            "tags": TAGS,
            "parameters": _PAGING,
            "responses": {
                "200": {"description": "成功", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"description": "参数不正确（invalid_argument）", "content": _ERR},
                "403": {"description": "不是本人所辖区（region_forbidden）", "content": _ERR},
                "404": {"description": "名单尚未生成（pending_list_not_ready）", "content": _ERR},
                "422": {"description": "不是本市的区", "content": _ERR},
            },
        }
    }

    async def get(self, region: str) -> None:
        page = int_argument(self, "page", 1, 1, 100000)
        size = int_argument(self, "page_size", 20, 1, MAX_PAGE_SIZE)
        self.write_json(await self.services.get(LegacyPending).page(self.staff, region, page, size))


class LegacyPendingRefreshHandler(StaffHandler):
    """Recompute a district's list now."""

    openapi = {
        "post": {
            "summary": "重新生成某区尚未完成采集的人员名单（后台生成，完成后 state 为 ready）",
            "tags": TAGS,
            "responses": {
                "202": {"description": "已开始生成", "content": _json("LegacyPendingDistrict")},
                "403": {"description": "不是本人所辖区（region_forbidden）", "content": _ERR},
                "422": {"description": "不是本市的区", "content": _ERR},
            },
        }
    }

    async def post(self, region: str) -> None:
        self.write_json(await self.services.get(LegacyPending).refresh(self.staff, region), status=202)


default_handlers = [
    (r"/admin/api/legacy/template", LegacyTemplateHandler),
    (r"/admin/api/legacy/imports", LegacyImportsHandler),
    (rf"/admin/api/legacy/imports/{IMPORT_ID}", LegacyImportHandler),
    (rf"/admin/api/legacy/imports/{IMPORT_ID}/confirm", LegacyConfirmHandler),
    (r"/admin/api/legacy/mismatches", LegacyMismatchesHandler),
    (rf"/admin/api/legacy/mismatches/{CASE_ID}", LegacyMismatchHandler),
    (rf"/admin/api/legacy/mismatches/{CASE_ID}/resolve", LegacyResolveHandler),
    (r"/admin/api/legacy/pending", LegacyPendingHandler),
    (rf"/admin/api/legacy/pending/{REGION}", LegacyPendingListHandler),
    (rf"/admin/api/legacy/pending/{REGION}/refresh", LegacyPendingRefreshHandler),
]
