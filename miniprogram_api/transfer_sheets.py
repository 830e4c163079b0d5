"""GET /api/v1/public/transfer-sheets/{number}?code=: another region checks a transfer sheet."""

from __future__ import annotations

from handlers.base import PublicHandler
from miniprogram_api.base import json_schema_ref
from server.ratelimit import PublicLimits
from server.transfers import sheets

_ERR = json_schema_ref("Error")


class TransferSheetCheckHandler(PublicHandler):
    """Validity, name and masked ID number of a sheet whose number and code match; nothing else."""

    openapi = {
        "get": {
            "summary": "核验调转信息表（编号 + 验证码；只返回是否有效、姓名和部分隐藏的证件号码），无需登录",
            "tags": ["public"],
            "parameters": [{"name": "code", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "有效"},
                "400": {"description": "缺少验证码（code_required）", "content": _ERR},
                "404": {"description": "编号或验证码不正确（sheet_not_found）", "content": _ERR},
                "429": {"description": "查询过于频繁（Retry-After）", "content": _ERR},
            },
        }
    }

    async def get(self, number: str) -> None:
        self.services.get(PublicLimits).sheet_checks.hit(self.request.remote_ip or "")
        self.set_header("Cache-Control", "no-store")
        self.write_json(await sheets.verify(self.services, number, self.get_query_argument("code", None)))


default_handlers = [(r"/api/v1/public/transfer-sheets/(?P<number>[0-9A-Za-z]{1,40})", TransferSheetCheckHandler)]
