"""POST /api/v1/auth/login (wx.login code → bearer token) and POST /api/v1/auth/logout."""

from __future__ import annotations

from handlers.base import PublicHandler
from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from server.accounts.sessions import SessionService
from server.lifecycle.tables import COLLECTION

register_schema(
    "LoginRequest",
    {
        "type": "object",
        "required": ["code"],
        "additionalProperties": False,
        "properties": {"code": {"type": "string", "maxLength": 256, "description": "wx.login() 返回的 code"}},
    },
)
register_schema(
    "LoginResponse",
    {
        "type": "object",
        "required": ["token", "expires_at", "record_status"],
        "properties": {
            "token": {"type": "string", "description": "之后每个请求放在 Authorization: Bearer <token>"},
            "expires_at": {"type": "string", "format": "date-time"},
            "record_status": {"$ref": "#/components/schemas/RecordStatus"},
        },
    },
)
register_schema(
    "RecordStatus",
    {
        "type": "string",
        "enum": list(COLLECTION.states),
        "x-enum-labels": COLLECTION.states,
        "description": "；".join(f"{k}：{v}" for k, v in COLLECTION.states.items()),
    },
)


class LoginHandler(PublicHandler):
    """Log in with a wx.login code."""

    openapi = {
        "post": {
            "summary": "小程序登录：用 wx.login 的 code 换取登录凭证",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("LoginRequest")},
            "responses": {
                "200": {"description": "登录成功", "content": json_schema_ref("LoginResponse")},
                "401": {"description": "微信拒绝该 code（wechat_code_invalid）", "content": json_schema_ref("Error")},
                "422": {"description": "缺少 code", "content": json_schema_ref("Error")},
            },
        }
    }

    async def post(self) -> None:
        self.write_json(await self.services.get(SessionService).login(self.json_body()))


class LogoutHandler(UserHandler):
    """Revoke the current token."""

    openapi = {
        "post": {
            "summary": "退出登录（使当前 token 失效）",
            "tags": ["mini-program"],
            "responses": {"204": {"description": "已退出"}, **UNAUTHORIZED},
        }
    }

    async def post(self) -> None:
        await self.services.get(SessionService).logout(self.user)
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/api/v1/auth/login", LoginHandler),
    (r"/api/v1/auth/logout", LogoutHandler),
]
