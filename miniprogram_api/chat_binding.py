"""POST /api/v1/me/chat-binding: a one-time code that links the official-account chat to the record."""

from __future__ import annotations

from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from server.chat.binding import ChatBinding

register_schema(
    "ChatBindingCode",
    {
        "type": "object",
        "required": ["code", "expires_at", "expires_in", "instruction"],
        "properties": {
            "code": {"type": "string", "pattern": "^[0-9]{6}$", "description": "6 位一次性绑定码"},
            "expires_at": {"type": "string", "format": "date-time"},
            "expires_in": {"type": "integer", "description": "有效秒数（600）"},
            "instruction": {"type": "string", "description": "给用户看的操作说明"},
        },
    },
)


class ChatBindingHandler(UserHandler):
    """Get a chat binding code."""

    openapi = {
        "post": {
            "summary": "获取公众号绑定码：在公众号内发送“绑定 123456”即可在聊天中查询审核进度",
            "tags": ["mini-program"],
            "responses": {
                "200": {
                    "description": "成功（此前未使用的绑定码随之失效）",
                    "content": json_schema_ref("ChatBindingCode"),
                },
                **UNAUTHORIZED,
            },
        }
    }

    async def post(self) -> None:
        issued = await self.services.get(ChatBinding).issue(self.user.openid, self.user.record_id)
        issued["instruction"] = f"请在 10 分钟内到公众号对话框发送“绑定 {issued['code']}”"
        self.write_json(issued)


default_handlers = [(r"/api/v1/me/chat-binding", ChatBindingHandler)]
