"""Staff announcements (公告): list in the caller's scope, publish, edit, withdraw."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.base import MAX_PAGE_SIZE, int_argument
from handlers.openapi import register_schema
from server.announcements import Announcements
from server.announcements.model import (
    BODY_MAX,
    BODY_PATTERN,
    CITY,
    CITY_LABEL,
    PUSH_STATES,
    STATES,
    TITLE_MAX,
    TITLE_PATTERN,
)
from server.districts import deployment_districts
from server.errors import BadRequest

TAGS = ["admin", "announcements"]
_JSON = "application/json"
AID = r"(?P<announcement_id>[0-9a-f]{24})"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(name: str) -> dict:
    return {_JSON: {"schema": _ref(name)}}


def _err(description: str) -> dict:
    return {"description": description, "content": _content("Error")}


def register_scope_schema(codes: list[str]) -> None:
    """The scope enum: "city" (全市) or one of the deployment's districts."""
    register_schema(
        "AnnouncementScope",
        {"type": "string", "enum": [CITY, *codes], "description": f"{CITY}：{CITY_LABEL}；或区划代码"},
    )


register_scope_schema([])  # the deployment's districts are filled in at start-up (on_startup)

_FIELDS = {
    "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX, "pattern": TITLE_PATTERN},
    "body": {
        "type": "string",
        "minLength": 1,
        "maxLength": BODY_MAX,
        "pattern": BODY_PATTERN,
        "description": "纯文字，可换行，不能含其他控制字符",
    },
    "scope": _ref("AnnouncementScope"),
    "publish_at": {"type": "string", "format": "date-time", "description": "发布时间（含时区）；不填为立即发布"},
    "expire_at": {"type": "string", "format": "date-time", "description": "截止时间（含时区），须晚于现在和发布时间"},
    "pinned": {"type": "boolean", "description": "置顶"},
    "push": {"type": "boolean", "description": "推送给48小时内与公众号互动过的已绑定关注者（仅全市公告）"},
}
register_schema(
    "AnnouncementInput",
    {
        "type": "object",
        "required": ["title", "body", "scope", "expire_at"],
        "additionalProperties": False,
        "properties": _FIELDS,
    },
)
register_schema(
    "AnnouncementPatch",
    {
        "type": "object",
        "additionalProperties": False,
        "description": "只传要修改的字段；version 为读取时的版本（不一致时 409）",
        "properties": {**_FIELDS, "version": {"type": "integer"}},
    },
)
_NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
_NULLABLE_TEXT = {"type": "string", "nullable": True}
register_schema(
    "Announcement",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "scope": {"type": "string"},
            "scope_name": {"type": "string"},
            "region_code": _NULLABLE_TEXT,
            "pinned": {"type": "boolean"},
            "publish_at": {"type": "string", "format": "date-time"},
            "expire_at": {"type": "string", "format": "date-time"},
            "state": {"type": "string", "enum": list(STATES), "x-enum-labels": STATES},
            "state_label": {"type": "string"},
            "push": {"type": "boolean"},
            "push_state": {"type": "string", "enum": list(PUSH_STATES), "x-enum-labels": PUSH_STATES},
            "push_state_label": {"type": "string"},
            "push_recipients": {"type": "integer", "nullable": True},
            "version": {"type": "integer"},
            "created_at": _NULLABLE_TIME,
            "created_by": _NULLABLE_TEXT,
            "updated_at": _NULLABLE_TIME,
            "updated_by": _NULLABLE_TEXT,
            "withdrawn_at": _NULLABLE_TIME,
            "withdrawn_by": _NULLABLE_TEXT,
            "editable": {"type": "boolean", "description": "本人可修改、撤回"},
        },
    },
)
register_schema(
    "AnnouncementList",
    {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref("Announcement")},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "total": {"type": "integer"},
        },
    },
)
_WRITE_ERRORS = {
    "403": _err("无权发布该范围的公告（announcement_scope_forbidden）"),
    "422": _err("内容不符合要求（fields 列出每一项）"),
}
_ONE_ERRORS = {
    "404": _err("公告不存在或不在本人辖区（announcement_not_found）"),
    "409": _err("公告已撤回、已被他人修改或已开始推送"),
}


class AnnouncementsHandler(StaffHandler):
    """The caller's announcements (city-wide ones and their districts'), newest first; publish one."""

    openapi = {
        "get": {
            "summary": "公告列表（全市公告及本人辖区的公告，最新在前）",
            "tags": TAGS,
            "parameters": [
                {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(STATES)}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                {
                    "name": "page_size",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 20},
                },
            ],
            "responses": {"200": {"description": "成功", "content": _content("AnnouncementList")}},
        },
        "post": {
            "summary": "发布公告：市级管理员可发布全市或任一区的公告，区级审核员只能发布本人所辖区的公告",
            "tags": TAGS,
            "requestBody": {"required": True, "content": _content("AnnouncementInput")},
            "responses": {"201": {"description": "已发布", "content": _content("Announcement")}, **_WRITE_ERRORS},
        },
    }

    async def get(self) -> None:
        state = self.get_query_argument("state", None) or None
        if state is not None and state not in STATES:
            raise BadRequest("参数 state 不正确", "invalid_argument")
        page = int_argument(self, "page", 1, 1, 100000)
        page_size = int_argument(self, "page_size", 20, 1, MAX_PAGE_SIZE)
        self.write_json(await self.services.get(Announcements).list_for(self.staff, page, page_size, state))

    async def post(self) -> None:
        self.write_json(await self.services.get(Announcements).create(self.staff, self.json_body()), status=201)


class AnnouncementHandler(StaffHandler):
    """One announcement: read, edit, withdraw."""

    openapi = {
        "get": {
            "summary": "公告详情",
            "tags": TAGS,
            "responses": {"200": {"description": "成功", "content": _content("Announcement")}, **_ONE_ERRORS},
        },
        "patch": {
            "summary": "修改公告（只传要修改的字段；已撤回的不能修改）",
            "tags": TAGS,
            "requestBody": {"required": True, "content": _content("AnnouncementPatch")},
            "responses": {
                "200": {"description": "已修改", "content": _content("Announcement")},
                **_WRITE_ERRORS,
                **_ONE_ERRORS,
            },
        },
        "delete": {
            "summary": "撤回公告（不再显示，尚未发出的推送不再发送；重复撤回无影响）",
            "tags": TAGS,
            "responses": {
                "200": {"description": "已撤回", "content": _content("Announcement")},
                "403": _err("无权撤回该公告（announcement_scope_forbidden）"),
                "404": _err("公告不存在或不在本人辖区（announcement_not_found）"),
            },
        },
    }

    async def get(self, announcement_id: str) -> None:
        self.write_json(await self.services.get(Announcements).get(self.staff, announcement_id))

    async def patch(self, announcement_id: str) -> None:
        body = self.json_body()
        self.write_json(await self.services.get(Announcements).update(self.staff, announcement_id, body))

    async def delete(self, announcement_id: str) -> None:
        self.write_json(await self.services.get(Announcements).withdraw(self.staff, announcement_id))


async def on_startup(services, background: bool) -> None:
    """Publish the deployment's districts in the scope enum."""
    register_scope_schema([d["code"] for d in deployment_districts(services.settings).districts])


default_handlers = [
    (r"/admin/api/announcements", AnnouncementsHandler),
    (rf"/admin/api/announcements/{AID}", AnnouncementHandler),
]
