"""GET/PATCH /api/v1/me/record and POST /api/v1/me/record/submit."""

from __future__ import annotations

from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from server.errors import TooLarge
from server.records import Districts, openapi_components
from server.records.fields import LISTS, SECTIONS
from server.records.service import RecordService

MAX_JSON_BYTES = 64 * 1024


def register_record_schemas(districts: Districts | None) -> None:
    """The record's component schemas (sections, enums, districts) in the OpenAPI document."""
    for name, schema in openapi_components(districts, openapi_version="3.0.3")["schemas"].items():
        register_schema(name, schema)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


_SECTION_REFS = {s: {"$ref": f"#/components/schemas/Record{s.capitalize()}"} for s in SECTIONS}
_FIELD_ITEM = {
    "type": "object",
    "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}},
}
register_schema(
    "RecordView",
    {
        "type": "object",
        "description": "本人的会计人员信息；字段名与 RecordPatch 一致，另有状态、版本、档案号、历史等。",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/RecordStatus"},
            "version": {"type": "integer"},
            "editable": {"type": "boolean", "description": "草稿或被退回时可修改"},
            **_SECTION_REFS,
            **{
                name: {"type": "array", "items": {"$ref": f"#/components/schemas/Record{_camel(name)}Entry"}}
                for name in LISTS
            },
            "accounting_years": {"type": "number", "description": "会计工作年限（按会计工作履历计算，保留一位小数）"},
            "locked_fields": {
                "type": "array",
                "description": "来自原会计档案、不能修改的字段",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "label": {"type": "string"},
                        "source": {"type": "string"},
                        "source_label": {"type": "string"},
                    },
                },
            },
            "region_code": {"type": "string", "nullable": True},
            "region": {"type": "object", "nullable": True, "description": "所选区的财政局（名称、电话、地址）"},
            "archive_no": {"type": "string", "nullable": True, "description": "档案号：证件号码，全局唯一"},
            "rare_name": {"type": "boolean", "description": "姓名含 GB 2312 以外的字（生僻字），供审核人员留意"},
            "rare_characters": {"type": "array", "items": {"type": "string"}},
            "documents": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Document"}},
            "photo": {"type": "object", "nullable": True},
            "missing": {"type": "array", "items": _FIELD_ITEM, "description": "提交前仍缺少的字段、照片与材料"},
            "history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "status": {"$ref": "#/components/schemas/RecordStatus"},
                        "at": {"type": "string", "format": "date-time"},
                        "by": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                },
            },
            "decision": {"type": "object", "nullable": True},
            "submitted_at": {"type": "string", "format": "date-time", "nullable": True},
            "decided_at": {"type": "string", "format": "date-time", "nullable": True},
            "unread_messages": {"type": "integer"},
        },
    },
)
register_schema(
    "SubmitRequest",
    {
        "type": "object",
        "required": ["commitment"],
        "additionalProperties": False,
        "properties": {"commitment": {"type": "boolean", "enum": [True], "description": "已阅读并同意《承诺书》"}},
    },
)
_LOCKED = {
    "409": {
        "description": "已提交或已审核通过，不能修改（record_locked）；证件号码不能在本账号使用（archive_no_taken）",
        "content": json_schema_ref("Error"),
    }
}
_INVALID = {"422": {"description": "字段校验失败，error.fields 逐项列出", "content": json_schema_ref("Error")}}
_TOO_MANY = {
    "429": {
        "description": "本账号或本网络地址近一小时内多次填写了不能使用的证件号码（id_number_checks_exceeded，Retry-After）",
        "content": json_schema_ref("Error"),
    }
}


class RecordHandler(UserHandler):
    """The caller's record."""

    openapi = {
        "get": {
            "summary": "读取本人的会计人员信息",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功", "content": json_schema_ref("RecordView")}, **UNAUTHORIZED},
        },
        "patch": {
            "summary": "保存草稿：可只提交部分信息项与字段（null 或空字符串表示清除）",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("RecordPatch")},
            "responses": {
                "200": {"description": "已保存", "content": json_schema_ref("RecordView")},
                **UNAUTHORIZED,
                **_LOCKED,
                **_INVALID,
                **_TOO_MANY,
            },
        },
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(RecordService).get(self.user))

    async def patch(self) -> None:
        if len(self.request.body) > MAX_JSON_BYTES:
            raise TooLarge("提交的内容过大", "body_too_large")
        service = self.services.get(RecordService)
        self.write_json(await service.patch(self.user, self.json_body(), address=self.request.remote_ip))


class SubmitHandler(UserHandler):
    """Submit the record for review."""

    openapi = {
        "post": {
            "summary": "提交审核（须同意承诺书；缺项时 422 逐项说明缺少的字段、照片与材料）",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("SubmitRequest")},
            "responses": {
                "200": {"description": "已提交", "content": json_schema_ref("RecordView")},
                **UNAUTHORIZED,
                **_LOCKED,
                **_INVALID,
            },
        }
    }

    async def post(self) -> None:
        self.write_json(await self.services.get(RecordService).submit(self.user, self.json_body()))


async def on_startup(services, background: bool) -> None:
    """Publish the deployment's districts in the OpenAPI enums."""
    register_record_schemas(services.get(RecordService).districts)


default_handlers = [
    (r"/api/v1/me/record", RecordHandler),
    (r"/api/v1/me/record/submit", SubmitHandler),
]
