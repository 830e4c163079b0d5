"""The caller's inbox: GET /api/v1/me/messages, POST /api/v1/me/messages/{id}/read."""

from __future__ import annotations

from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from server.notify.notices import MESSAGE_KINDS
from server.records.service import InboxService

register_schema(
    "Message",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": MESSAGE_KINDS},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "data": {"type": "object", "description": "result、reason、name、time"},
            "created_at": {"type": "string", "format": "date-time"},
            "read_at": {"type": "string", "format": "date-time", "nullable": True},
            "read": {"type": "boolean"},
        },
    },
)
register_schema(
    "MessageList",
    {
        "type": "object",
        "properties": {
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
            "unread": {"type": "integer"},
        },
    },
)


class MessagesHandler(UserHandler):
    """The caller's messages, newest first."""

    openapi = {
        "get": {
            "summary": "财政局发给本人的消息（最新在前，含已读标记）",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功", "content": json_schema_ref("MessageList")}, **UNAUTHORIZED},
        }
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(InboxService).list(self.user))


class MessageReadHandler(UserHandler):
    """Mark one message read."""

    openapi = {
        "post": {
            "summary": "标记一条消息为已读",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "成功", "content": json_schema_ref("Message")},
                **UNAUTHORIZED,
                "404": {"description": "消息不存在", "content": json_schema_ref("Error")},
            },
        }
    }

    async def post(self, message_id: str) -> None:
        self.write_json(await self.services.get(InboxService).mark_read(self.user, message_id))


default_handlers = [
    (r"/api/v1/me/messages", MessagesHandler),
    (r"/api/v1/me/messages/(?P<message_id>[A-Za-z0-9_-]{1,64})/read", MessageReadHandler),
]
