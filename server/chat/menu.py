"""The official account's custom menu: `config/menu.json` with settings filled in, checked
against WeChat's limits before it is sent."""

from __future__ import annotations

import json
from pathlib import Path

from settings import ROOT, Settings

FAQ_KEY = "FAQ:"  # a click button's key "FAQ:<topic id>" answers that topic

MENU_FILE = ROOT / "config" / "menu.json"
MAX_TOP, MAX_SUB = 3, 5
NAME_BYTES = {True: 16, False: 60}  # top-level / sub-menu name limits (UTF-8 bytes)
KEY_BYTES = 128


class MenuError(ValueError):
    """The menu file breaks one of WeChat's rules."""


def load_menu(settings: Settings, path: Path = MENU_FILE) -> dict:
    """The menu as WeChat's /cgi-bin/menu/create body, placeholders filled from settings."""
    values = {
        "miniprogram_appid": settings.miniprogram_appid or "demo-mp-appid",
        "pagepath": settings.menu_miniprogram_page,
        "fallback_url": settings.menu_fallback_url,
    }
    menu = _fill(json.loads(Path(path).read_text(encoding="utf-8")), values)
    check_menu(menu)
    return menu


def _fill(node, values: dict):
    """Replace `{name}` placeholders in every string of the JSON tree."""
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    if isinstance(node, str):
        for name, value in values.items():
            node = node.replace("{" + name + "}", str(value))
    return node


def check_menu(menu: dict) -> None:
    """Raise MenuError when the menu would be refused by WeChat."""
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_TOP:
        raise MenuError(f"the menu needs 1 to {MAX_TOP} top-level buttons")
    for button in buttons:
        _check_button(button, top=True)
        subs = button.get("sub_button")
        if subs is not None:
            if not isinstance(subs, list) or not 1 <= len(subs) <= MAX_SUB:
                raise MenuError(f"{button['name']}: 1 to {MAX_SUB} sub-buttons")
            for sub in subs:
                _check_button(sub, top=False)


def _check_button(button: dict, top: bool) -> None:
    """One button: a name within limits and what its type needs."""
    name = button.get("name")
    if not isinstance(name, str) or not name or len(name.encode()) > NAME_BYTES[top]:
        raise MenuError(f"button name {name!r} is empty or longer than {NAME_BYTES[top]} bytes")
    kind = button.get("type")
    if kind is None and top and button.get("sub_button"):
        return
    if kind == "click":
        key = button.get("key")
        if not isinstance(key, str) or not key or len(key.encode()) > KEY_BYTES:
            raise MenuError(f"{name}: a click button needs a key of at most {KEY_BYTES} bytes")
    elif kind == "miniprogram":
        for field in ("appid", "pagepath", "url"):
            if not button.get(field) or "{" in button[field]:
                raise MenuError(f"{name}: a mini-program button needs {field}")
        if not button["url"].startswith(("http://", "https://")):
            raise MenuError(f"{name}: the fallback url must be http(s)")
    elif kind == "view":
        if not str(button.get("url", "")).startswith(("http://", "https://")):
            raise MenuError(f"{name}: a view button needs an http(s) url")
    else:
        raise MenuError(f"{name}: unsupported button type {kind!r}")


def faq_keys(menu: dict) -> list[str]:
    """The FAQ topic ids the menu's click buttons refer to."""
    keys = []
    for button in menu["button"]:
        for b in [button, *button.get("sub_button", [])]:
            key = b.get("key", "")
            if b.get("type") == "click" and key.startswith(FAQ_KEY):
                keys.append(key[len(FAQ_KEY) :])
    return keys
