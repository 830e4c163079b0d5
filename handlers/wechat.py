"""The official account's webhook `/wechat`: WeChat's URL check (GET) and messages (POST)."""

from __future__ import annotations

from handlers.base import ApiHandler
from server.chat.inbound import MAX_BODY
from server.chat.webhook import Query, Webhook
from server.errors import TooLarge

_QUERY_PARAMS = [
    {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
    for n in ("signature", "timestamp", "nonce")
]


class WeChatWebhookHandler(ApiHandler):
    """WeChat server callbacks for the official account (signed; AES in safe mode)."""

    auth = "signature"  # every request's signature is checked by the Webhook service it calls
    auth_base = True
    route_first = True  # WeChat's callbacks are most of the traffic; an exact path overlaps nothing
    openapi = {
        "get": {
            "summary": "微信服务器地址校验（回显 echostr）",
            "tags": ["wechat"],
            "parameters": _QUERY_PARAMS
            + [{"name": "echostr", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "echostr 原样返回", "content": {"text/plain": {}}},
                "403": {"description": "签名错误"},
            },
        },
        "post": {
            "summary": "接收公众号消息与事件，被动回复（明文、兼容、安全模式）",
            "tags": ["wechat"],
            "parameters": _QUERY_PARAMS
            + [
                {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                for n in ("encrypt_type", "msg_signature", "openid")
            ],
            "requestBody": {"content": {"text/xml": {"schema": {"type": "string"}}}},
            "responses": {
                "200": {"description": "回复 XML，或 success", "content": {"application/xml": {}, "text/plain": {}}},
                "400": {"description": "XML 无效或含 DTD/实体"},
                "403": {"description": "签名或消息签名错误"},
            },
        },
    }

    def set_default_headers(self) -> None:
        """Only the content type: the reader is WeChat's server, not a browser (errors set JSON)."""
        self.set_header("Content-Type", "text/plain; charset=utf-8")

    def _query(self) -> Query:
        """The signature arguments (last value of each, as WeChat sends one)."""
        args = self.request.query_arguments

        def arg(name: str) -> str:
            values = args.get(name)
            return values[-1].decode("utf-8", "replace").strip() if values else ""

        return Query(
            arg("signature"), arg("timestamp"), arg("nonce"), arg("echostr"), arg("encrypt_type"), arg("msg_signature")
        )

    def get(self) -> None:
        echo = self.services.get(Webhook).echo(self._query())
        self.finish(echo)

    async def post(self) -> None:
        if len(self.request.body) > MAX_BODY:
            raise TooLarge("消息过大", "message_too_large")
        content_type, body = await self.services.get(Webhook).receive(self._query(), self.request.body)
        self.set_header("Content-Type", content_type)
        self.finish(body)


default_handlers = [(r"/wechat", WeChatWebhookHandler)]
