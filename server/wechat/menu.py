"""Official-account custom menu.

Docs: https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html
"""

from __future__ import annotations

from server.wechat.transport import WeChatTransport


async def create(transport: WeChatTransport, menu: dict) -> dict:
    """POST /cgi-bin/menu/create with {"button": [...]}."""
    return await transport.call("POST", "/cgi-bin/menu/create", json=menu)
