"""GET /api/v1/campaign: the collection window (open, else next, else last) and today's rule (no login)."""

from __future__ import annotations

from handlers.base import PublicHandler
from handlers.openapi import register_schema
from miniprogram_api.base import json_schema_ref
from server.campaigns import Campaigns

register_schema(
    "Campaign",
    {
        "type": "object",
        "required": ["today", "always_open", "open", "window", "submission", "message"],
        "description": "信息采集时间：与公众号问答“采集时间”读取同一组日期",
        "properties": {
            "today": {"type": "string", "format": "date", "description": "今天（北京时间）"},
            "always_open": {"type": "boolean", "description": "未设置采集时间窗口：全年开放"},
            "open": {"type": "boolean", "description": "今天在采集时间内"},
            "window": {
                "allOf": [{"$ref": "#/components/schemas/CampaignWindow"}],
                "nullable": True,
                "description": "进行中的窗口，否则下一个，否则最近结束的一个；未设置时为 null",
            },
            "submission": {
                "type": "object",
                "required": ["allowed", "late", "rule"],
                "description": "今天提交信息采集会怎样",
                "properties": {
                    "allowed": {"type": "boolean", "description": "可以提交"},
                    "late": {"type": "boolean", "description": "提交将标记为逾期"},
                    "rule": {
                        "type": "string",
                        "enum": ["always_open", "open", "refuse", "mark_late"],
                        "description": "always_open 全年开放；open 采集期内；refuse 不受理；mark_late 受理并标记逾期",
                    },
                    "window_id": {"type": "string", "nullable": True, "description": "适用其规则的窗口"},
                },
            },
            "message": {"type": "string", "description": "一句话说明（中文）"},
        },
    },
)


class CampaignHandler(PublicHandler):
    """The collection window and today's rule."""

    openapi = {
        "get": {
            "summary": "信息采集时间窗口与今天的提交规则，无需登录",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功", "content": json_schema_ref("Campaign")}},
        }
    }

    async def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=60")
        self.write_json(await self.services.get(Campaigns).current())


default_handlers = [(r"/api/v1/campaign", CampaignHandler)]
