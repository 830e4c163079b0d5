"""Collection campaign windows (采集时间窗口) for staff: every staff member reads them, a city
administrator adds, edits and removes them (server/campaigns)."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.openapi import register_schema
from server.campaigns import Campaigns
from server.campaigns.rules import (
    ID_PATTERN,
    LATE_RULES,
    REMINDER_DAYS_MAX,
    TITLE_MAX,
    WINDOW_KINDS,
)

TAGS = ["admin", "campaigns"]
_JSON = "application/json"
_NO_CONTROL = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
CAMPAIGN_ID = r"(?P<campaign_id>[a-z0-9][a-z0-9-]{1,39})"

_FIELDS = {
    "title": {
        "type": "string",
        "minLength": 1,
        "maxLength": TITLE_MAX,
        "pattern": _NO_CONTROL,
        "description": "名称，如“2027年会计人员信息采集”",
    },
    "start": {"type": "string", "format": "date", "description": "开始日期（含当日，北京时间）"},
    "end": {
        "type": "string",
        "format": "date",
        "description": "结束日期（含当日，北京时间），不早于开始日期，最长一年",
    },
    "kinds": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "enum": list(WINDOW_KINDS), "x-enum-labels": WINDOW_KINDS},
        "description": "适用的业务（默认 collection：信息采集）；同一业务的时间窗口不能重叠",
    },
    "late_rule": {
        "type": "string",
        "enum": list(LATE_RULES),
        "x-enum-labels": LATE_RULES,
        "description": "窗口外提交的处理：refuse 不受理（409 outside_collection_window，注明日期）；"
        "mark_late 受理并标记为逾期",
    },
    "freeze_transfers": {"type": "boolean", "description": "窗口期间暂停办理调转（默认 false）"},
    "reminder_days": {
        "type": "integer",
        "minimum": 0,
        "maximum": REMINDER_DAYS_MAX,
        "description": "截止前几天提醒尚未提交的人员（默认 7，0 为不提醒）",
    },
}
register_schema(
    "CampaignRequest",
    {
        "type": "object",
        "required": ["title", "start", "end", "late_rule"],
        "additionalProperties": False,
        "properties": {
            "id": {
                "type": "string",
                "pattern": f"^{ID_PATTERN.pattern}$",
                "description": "编号（可选，小写字母、数字、连字符）；不填则自动生成",
            },
            **_FIELDS,
        },
    },
)
register_schema(
    "CampaignPatch",
    {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            **_FIELDS,
            "version": {"type": "integer", "minimum": 1, "description": "读取时的版本号（可选）：不一致时 409"},
        },
    },
)
register_schema(
    "CampaignWindow",
    {
        "type": "object",
        "required": ["id", "title", "start", "end", "label", "state", "late_rule"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"},
            "label": {"type": "string", "description": "如 2027年3月1日至2027年4月30日"},
            "state": {"type": "string", "enum": ["upcoming", "open", "ended"]},
            "kinds": {"type": "array", "items": {"type": "string"}},
            "late_rule": {"type": "string", "enum": list(LATE_RULES)},
            "late_rule_label": {"type": "string"},
            "freeze_transfers": {"type": "boolean"},
            "days_to_end": {
                "type": "integer",
                "nullable": True,
                "description": "进行中：距截止还有几天（截止当日为 0）",
            },
        },
    },
)
register_schema(
    "CampaignAdmin",
    {
        "allOf": [
            {"$ref": "#/components/schemas/CampaignWindow"},
            {
                "type": "object",
                "properties": {
                    "reminder_days": {"type": "integer"},
                    "reminder_on": {"type": "string", "format": "date", "nullable": True},
                    "reminder": {
                        "type": "object",
                        "nullable": True,
                        "description": "截止前提醒的进度：end（针对的截止日）、queued（已生成的提醒数）、done_at",
                    },
                    "reminded_at": {"type": "string", "format": "date-time", "nullable": True},
                    "version": {"type": "integer"},
                    "created_by": {"type": "string", "nullable": True},
                    "created_at": {"type": "string", "format": "date-time", "nullable": True},
                    "updated_by": {"type": "string", "nullable": True},
                    "updated_at": {"type": "string", "format": "date-time", "nullable": True},
                },
            },
        ]
    },
)


def _content(schema: str) -> dict:
    return {_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


_ERR = _content("Error")
_FORBIDDEN = {"403": {"description": "只有市级管理员可以修改（campaign_admin_only）", "content": _ERR}}
_NOT_FOUND = {"404": {"description": "不存在（campaign_not_found）", "content": _ERR}}
_INVALID = {
    "422": {
        "description": "字段不正确（fields 逐项说明），或与其他窗口时间重叠（overlaps_window）",
        "content": _ERR,
    }
}


class CampaignsHandler(StaffHandler):
    """The campaign windows; add one."""

    openapi = {
        "get": {
            "summary": "采集时间窗口列表（全部工作人员可查看）及今日适用的规则",
            "tags": TAGS,
            "responses": {
                "200": {
                    "description": "成功",
                    "content": {
                        _JSON: {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "campaigns": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/CampaignAdmin"},
                                    },
                                    "current": {"$ref": "#/components/schemas/Campaign"},
                                    "can_edit": {"type": "boolean"},
                                },
                            }
                        }
                    },
                }
            },
        },
        "post": {
            "summary": "新增采集时间窗口（市级管理员）",
            "tags": TAGS,
            "requestBody": {"required": True, "content": _content("CampaignRequest")},
            "responses": {
                "201": {"description": "已新增", "content": _content("CampaignAdmin")},
                **_FORBIDDEN,
                "409": {"description": "编号已存在（campaign_exists）", "content": _ERR},
                **_INVALID,
            },
        },
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(Campaigns).overview(self.staff))

    async def post(self) -> None:
        self.write_json(await self.services.get(Campaigns).create(self.staff, self.json_body()), status=201)


class CampaignHandler(StaffHandler):
    """One campaign window: read, change, remove."""

    openapi = {
        "get": {
            "summary": "采集时间窗口详情",
            "tags": TAGS,
            "responses": {"200": {"description": "成功", "content": _content("CampaignAdmin")}, **_NOT_FOUND},
        },
        "patch": {
            "summary": "修改采集时间窗口（市级管理员）；修改截止日期后按新的截止日期再提醒一次",
            "tags": TAGS,
            "requestBody": {"required": True, "content": _content("CampaignPatch")},
            "responses": {
                "200": {"description": "已修改", "content": _content("CampaignAdmin")},
                **_FORBIDDEN,
                **_NOT_FOUND,
                "409": {"description": "已被他人修改（campaign_changed）", "content": _ERR},
                **_INVALID,
            },
        },
        "delete": {
            "summary": "删除采集时间窗口（市级管理员）",
            "tags": TAGS,
            "responses": {"204": {"description": "已删除"}, **_FORBIDDEN, **_NOT_FOUND},
        },
    }

    async def get(self, campaign_id: str) -> None:
        self.write_json(await self.services.get(Campaigns).get(self.staff, campaign_id))

    async def patch(self, campaign_id: str) -> None:
        self.write_json(await self.services.get(Campaigns).update(self.staff, campaign_id, self.json_body()))

    async def delete(self, campaign_id: str) -> None:
        await self.services.get(Campaigns).delete(self.staff, campaign_id)
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/admin/api/campaigns", CampaignsHandler),
    (rf"/admin/api/campaigns/{CAMPAIGN_ID}", CampaignHandler),
]
