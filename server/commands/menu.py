"""`python -m server menu push|show`: send the official account's menu (config/menu.json)."""

from __future__ import annotations

import json

from faq import kb
from server.chat.faq_store import FaqStore
from server.chat.menu import MenuError, faq_keys, load_menu
from server.wechat import menu as wxmenu
from server.wechat.errors import WeChatError


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
    try:
        await wxmenu.create(services.official_account, menu)
    except WeChatError as exc:
        print(f"WeChat refused the menu: errcode {exc.errcode} {exc.errmsg}")
        return 1
    print(f"menu pushed to {services.official_account.appid}: {len(menu['button'])} buttons")
    return 0
