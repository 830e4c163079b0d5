"""Continuing-education credits for staff (server/duties/): providers' files (preview, import once,
list, undo; city administrators), a person's credits and standing, manual entries, and the decision
on an equivalence claim (视同继续教育) with the credits granted."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.base import MAX_PAGE_SIZE, int_argument
from handlers.openapi import json_schema_ref, multipart_file_body, register_schema
from server.duties.claims import ClaimService
from server.duties.credits import CREDITS_MAX, NOTE_MAX, TEXT_MAX
from server.duties.imports import MAX_ROWS, CreditImports
from server.duties.manual import ManualCredits
from server.errors import BadRequest

TAGS = ["admin", "duties"]
ARCHIVE = r"(?P<archive_no>[0-9A-Za-z]{5,30})"
IMPORT = r"(?P<import_id>[0-9a-f]{24})"


_ERR = json_schema_ref("Error")
_FILE_BODY = multipart_file_body(
    "Excel（.xlsx）或 CSV",
    {"skip_invalid": {"type": "string", "enum": ["0", "1"], "description": "1：只导入正确的行"}},
)
_FILE_ERRORS = {
    "400": {"description": "不是 multipart 或缺少 file（not_multipart / file_missing / empty_file）", "content": _ERR},
    "403": {"description": "只有市级管理员可以导入（ce_import_city_admin_only）", "content": _ERR},
    "422": {
        "description": f"文件无法读取、缺少列、超过{MAX_ROWS}行（file_unreadable / missing_columns / too_many_rows）；"
        "导入时有错误行（import_has_errors，未写入任何学分）",
        "content": _ERR,
    },
}
register_schema(
    "CreditImport",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "digest": {"type": "string", "description": "文件的 SHA-256"},
            "filename": {"type": "string"},
            "by": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "state": {"type": "string", "enum": ["applying", "done", "undoing", "undone"]},
            "state_label": {"type": "string"},
            "counts": {
                "type": "object",
                "description": "rows、valid、invalid、people、credits、added、already_present",
            },
            "already_imported": {"type": "boolean"},
        },
    },
)
register_schema(
    "CreditImportPreview",
    {
        "type": "object",
        "properties": {
            "digest": {"type": "string"},
            "rows": {"type": "integer"},
            "valid": {"type": "integer"},
            "invalid": {"type": "integer"},
            "people": {"type": "integer"},
            "errors": {
                "type": "array",
                "items": {"type": "object", "description": "row、field、code、message、id_number（部分隐藏）、name"},
            },
            "error_count": {"type": "integer"},
            "already_imported": {"$ref": "#/components/schemas/CreditImport", "nullable": True},
        },
    },
)
register_schema(
    "CreditEntryRequest",
    {
        "type": "object",
        "required": ["archive_no", "year", "credits", "type", "course"],
        "additionalProperties": False,
        "properties": {
            "archive_no": {"type": "string", "maxLength": 40, "description": "档案号（证件号码）"},
            "year": {"type": "integer", "minimum": 2000},
            "credits": {"type": "number", "minimum": 0.1, "maximum": CREDITS_MAX},
            "type": {"type": "string", "enum": ["professional", "general"]},
            "course": {"type": "string", "minLength": 1, "maxLength": TEXT_MAX},
            "provider": {"type": "string", "maxLength": TEXT_MAX},
            "note": {"type": "string", "maxLength": NOTE_MAX},
        },
    },
)
register_schema(
    "PersonCredits",
    {
        "type": "object",
        "properties": {
            "archive_no": {"type": "string"},
            "name": {"type": "string"},
            "standing": {"type": "string", "enum": ["normal", "abnormal", "not_in_post"]},
            "standing_label": {"type": "string"},
            "years": {"type": "array", "items": {"type": "object"}},
            "entries": {"type": "array", "items": {"type": "object"}},
        },
    },
)
register_schema(
    "ClaimDecision",
    {
        "type": "object",
        "required": ["decision", "version"],
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "version": {"type": "integer", "minimum": 1},
            "credits_granted": {"type": "number", "minimum": 0.1, "description": "认定时必填，不超过申请的学分"},
            "type": {
                "type": "string",
                "enum": ["professional", "general"],
                "description": "认定的科目类型（默认按申请）",
            },
            "reason": {"type": "string", "maxLength": 200, "description": "不予认定时必填"},
            "reason_codes": {"type": "array", "items": {"type": "string"}},
        },
    },
)


class _FileHandler(StaffHandler):
    def _file(self) -> tuple[bytes, str]:
        if not self.request.headers.get("Content-Type", "").lower().startswith("multipart/form-data"):
            raise BadRequest("请以 multipart/form-data 上传文件，文件字段名为 file", "not_multipart")
        parts = self.request.files.get("file")
        if not parts:
            raise BadRequest("未收到文件，请在字段 file 中上传", "file_missing")
        return parts[0]["body"], parts[0].get("filename") or ""


class ImportsHandler(_FileHandler):
    """Every import (newest first); import a file."""

    openapi = {
        "get": {
            "summary": "继续教育学分导入记录（最新在前）",
            "tags": TAGS,
            "parameters": [
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                {
                    "name": "page_size",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                },
            ],
            "responses": {"200": {"description": "成功"}, "400": {"description": "参数不正确", "content": _ERR}},
        },
        "post": {
            "summary": "导入培训机构的学分文件（同一文件再次导入不改变任何数据；有错误行时不导入，除非 skip_invalid=1）",
            "tags": TAGS,
            "requestBody": _FILE_BODY,
            "responses": {
                "201": {"description": "已导入", "content": json_schema_ref("CreditImport")},
                "200": {
                    "description": "该文件已导入过（already_imported），未改变任何数据",
                    "content": json_schema_ref("CreditImport"),
                },
                **_FILE_ERRORS,
            },
        },
    }

    async def get(self) -> None:
        page = int_argument(self, "page", 1, 1, 100000)
        size = int_argument(self, "page_size", 20, 1, MAX_PAGE_SIZE)
        self.write_json(await self.services.get(CreditImports).list(self.staff, page, size))

    async def post(self) -> None:
        data, name = self._file()
        skip = (self.get_body_argument("skip_invalid", None) or self.get_query_argument("skip_invalid", "0")) == "1"
        result, created = await self.services.get(CreditImports).commit(self.staff, data, name, skip)
        self.write_json(result, status=201 if created else 200)


class ImportPreviewHandler(_FileHandler):
    """What an import of a file would do (nothing is written)."""

    openapi = {
        "post": {
            "summary": "预览学分文件：逐行检查（无档案、姓名不符、年度或学分有误、文件内重复），不写入任何数据",
            "tags": TAGS,
            "requestBody": _FILE_BODY,
            "responses": {
                "200": {"description": "预览", "content": json_schema_ref("CreditImportPreview")},
                **_FILE_ERRORS,
            },
        }
    }

    async def post(self) -> None:
        data, name = self._file()
        self.write_json(await self.services.get(CreditImports).preview(self.staff, data, name))


class ImportHandler(StaffHandler):
    """One import with its first bad rows."""

    openapi = {
        "get": {
            "summary": "一次学分导入的详情",
            "tags": TAGS,
            "responses": {
                "200": {"description": "成功", "content": json_schema_ref("CreditImport")},
                "404": {"description": "不存在（import_not_found）", "content": _ERR},
            },
        }
    }

    async def get(self, import_id: str) -> None:
        self.write_json(await self.services.get(CreditImports).get(self.staff, import_id))


class ImportUndoHandler(StaffHandler):
    """Undo an import: exactly its credits are removed, the standings recomputed."""

    openapi = {
        "post": {
            "summary": "撤销一次学分导入（只删除该次导入的学分，重新计算人员状态）",
            "tags": TAGS,
            "responses": {
                "200": {"description": "已撤销", "content": json_schema_ref("CreditImport")},
                "403": {"description": "只有市级管理员可以撤销", "content": _ERR},
                "404": {"description": "不存在（import_not_found）", "content": _ERR},
                "409": {"description": "已经撤销（import_undone）", "content": _ERR},
            },
        }
    }

    async def post(self, import_id: str) -> None:
        self.write_json(await self.services.get(CreditImports).undo(self.staff, import_id))


class CreditsHandler(StaffHandler):
    """A manual entry of credits (audited)."""

    openapi = {
        "post": {
            "summary": "财政局录入继续教育学分（记入审核日志，重新计算人员状态）",
            "tags": TAGS,
            "requestBody": {"required": True, "content": json_schema_ref("CreditEntryRequest")},
            "responses": {
                "201": {"description": "已录入", "content": json_schema_ref("PersonCredits")},
                "404": {"description": "没有该档案或不在本人管辖地区（archive_not_found）", "content": _ERR},
                "422": {"description": "字段不正确（fields 逐项说明）", "content": _ERR},
            },
        }
    }

    async def post(self) -> None:
        self.write_json(await self.services.get(ManualCredits).add_manual(self.staff, self.json_body()), status=201)


class PersonCreditsHandler(StaffHandler):
    """A person's credits by year and their standing."""

    openapi = {
        "get": {
            "summary": "某人的继续教育学分（按年度）和人员状态",
            "tags": TAGS,
            "responses": {
                "200": {"description": "成功", "content": json_schema_ref("PersonCredits")},
                "404": {"description": "没有该档案或不在本人管辖地区", "content": _ERR},
            },
        }
    }

    async def get(self, archive_no: str) -> None:
        self.write_json(await self.services.get(ManualCredits).person(self.staff, archive_no))


class CreditEntryHandler(StaffHandler):
    """Remove one manual entry."""

    openapi = {
        "delete": {
            "summary": "删除一条财政局录入的学分（导入的学分请撤销该次导入）",
            "tags": TAGS,
            "responses": {
                "200": {"description": "已删除", "content": json_schema_ref("PersonCredits")},
                "404": {"description": "不存在（archive_not_found / credit_not_found）", "content": _ERR},
            },
        }
    }

    async def delete(self, archive_no: str, key: str) -> None:
        self.write_json(await self.services.get(ManualCredits).remove_manual(self.staff, archive_no, key))


class ClaimDecisionHandler(StaffHandler):
    """Approve an equivalence claim with the credits granted, or reject it with a reason."""

    openapi = {
        "post": {
            "summary": "视同继续教育审核：认定（填写认定学分，可少于申请）或不予认定（填写原因）",
            "tags": TAGS,
            "requestBody": {"required": True, "content": json_schema_ref("ClaimDecision")},
            "responses": {
                "200": {"description": "已审核（申请详情）"},
                "403": {"description": "不是本人管辖地区的步骤", "content": _ERR},
                "404": {"description": "申请不存在", "content": _ERR},
                "409": {"description": "已被他人处理或版本不一致（record_changed）", "content": _ERR},
                "422": {
                    "description": "认定学分缺失或超过申请（credits_required / bad_credits）、原因缺失",
                    "content": _ERR,
                },
            },
        }
    }

    async def post(self, claim_id: str) -> None:
        self.write_json(await self.services.get(ClaimService).decide(self.staff, claim_id, self.json_body()))


default_handlers = [
    (r"/admin/api/ce-imports", ImportsHandler),
    (r"/admin/api/ce-imports/preview", ImportPreviewHandler),
    (rf"/admin/api/ce-imports/{IMPORT}", ImportHandler),
    (rf"/admin/api/ce-imports/{IMPORT}/undo", ImportUndoHandler),
    (r"/admin/api/ce-credits", CreditsHandler),
    (rf"/admin/api/ce-credits/{ARCHIVE}", PersonCreditsHandler),
    (rf"/admin/api/ce-credits/{ARCHIVE}/(?P<key>[a-z]-[0-9a-f]{{8,40}})", CreditEntryHandler),
    (r"/admin/api/ce-claims/(?P<claim_id>[0-9a-f]{24})/decision", ClaimDecisionHandler),
]
