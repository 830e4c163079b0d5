"""`python -m server menu push|show`: send the official account's menu (config/menu.json).

Without OFFICIAL_ACCOUNT_APPID (demo mode) `push` sends the menu to the fake WeChat API, not to WeChat.
"""

from __future__ import annotations

import json

from faq import kb
from server.chat.faq_store import FaqStore
from server.chat.menu import MenuError, faq_keys, load_menu
from server.wechat import menu as wxmenu
from server.wechat.errors import WeChatError
from server.wechat.fake import FakeWeChat
from server.wechat.transport import WeChatTransport


def add_parser(subparsers) -> None:
    """Register `menu push` and `menu show`."""
    parser = subparsers.add_parser("menu", help="the official account's custom menu")
    parser.add_argument(
        "action", choices=["push", "show"], help="push: send config/menu.json to WeChat; show: print what would be sent"
    )


async def run(args, services) -> int:
    """Show or push the menu; 1 when the file is invalid, names unknown topics or WeChat refuses it."""
    try:
        menu = load_menu(services.settings)
    except (MenuError, ValueError, OSError) as exc:
        print(f"menu file refused: {exc}")
        return 1
    # the active topics: the knowledge base's files plus staff edits (no engine needed)
    topics = kb.merge_topics(kb.builtin_topics(), await services.get(FaqStore).extra_topics())
    unknown = [key for key in faq_keys(menu) if key not in topics]
    if unknown:
        print(f"menu file refused: FAQ buttons for unknown or disabled topics: {', '.join(unknown)}")
        return 1
    if args.action == "show":
        print(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    if not services.settings.official_account_appid:
        return await _push_to_the_fake(services, menu)
    try:
        await wxmenu.create(services.official_account, menu)
    except WeChatError as exc:
        print(f"WeChat refused the menu: errcode {exc.errcode} {exc.errmsg}")
        return 1
    print(f"menu pushed to {services.official_account.appid}: {len(menu['button'])} buttons")
    return 0


async def _push_to_the_fake(services, menu: dict) -> int:
    """Demo mode (no OFFICIAL_ACCOUNT_APPID): send the menu to a fake WeChat API on loopback, never to WeChat."""
    fake = await FakeWeChat().start()
    oa = services.official_account
    transport = WeChatTransport(
        fake.url, oa.appid, oa.secret, services.db, services.atomic, services.settings.wechat_api_timeout
    )
    try:
        await wxmenu.create(transport, menu)
    except WeChatError as exc:
        print(f"the fake WeChat API refused the menu: errcode {exc.errcode} {exc.errmsg}")
        return 1
    finally:
        await transport.close()
        await fake.stop()
    print(
        f"OFFICIAL_ACCOUNT_APPID is unset (demo mode): the menu ({len(menu['button'])} buttons) went to a fake "
        "WeChat API on loopback, nothing was sent to WeChat; set OFFICIAL_ACCOUNT_APPID and "
        "OFFICIAL_ACCOUNT_SECRET to push it to the official account"
    )
    return 0
