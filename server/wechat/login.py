"""Mini-program login: exchange a wx.login code for the user's openid.

Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
"""

from __future__ import annotations

from dataclasses import dataclass

from server.wechat.transport import WeChatTransport


@dataclass(frozen=True)
class WeChatSession:
    """What code2session tells about the user."""

    openid: str
    unionid: str | None
    session_key: str


async def code2session(transport: WeChatTransport, code: str) -> WeChatSession:
    """GET /sns/jscode2session; raises InvalidCode when WeChat refuses the code."""
    body = await transport.request(
        "GET",
        "/sns/jscode2session",
        params={
            "appid": transport.appid,
            "secret": transport.secret,
            "js_code": code,
            "grant_type": "authorization_code",
        },
    )
    return WeChatSession(openid=body["openid"], unionid=body.get("unionid"), session_key=body.get("session_key", ""))
