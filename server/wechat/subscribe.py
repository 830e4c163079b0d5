"""Mini-program subscribe messages.

Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
"""

from __future__ import annotations

from server.wechat.transport import WeChatTransport


async def send(
    transport: WeChatTransport,
    openid: str,
    template_id: str,
    data: dict[str, str],
    page: str | None = None,
    state: str = "formal",
) -> dict:
    """POST /cgi-bin/message/subscribe/send; `data` maps template keys to values."""
    body = {
        "touser": openid,
        "template_id": template_id,
        "miniprogram_state": state,
        "lang": "zh_CN",
        "data": {key: {"value": value} for key, value in data.items()},
    }
    if page:
        body["page"] = page
    return await transport.call("POST", "/cgi-bin/message/subscribe/send", json=body)
