"""The menu data file and `python -m server menu push`."""

from __future__ import annotations

import argparse
import json

import pytest

from server.chat.faq_service import build_engine
from server.chat.menu import MenuError, check_menu, faq_keys, load_menu
from server.commands import menu as menu_command


def test_the_menu_file_has_the_mini_program_faq_and_self_service_buttons(settings):
    menu = load_menu(
        settings.replace(
            miniprogram_appid="wx-mini-123",
            menu_miniprogram_page="pages/home/index",
            menu_fallback_url="https://example.gov.cn/kjcj",
        )
    )
    top = menu["button"]
    assert [b["name"] for b in top] == ["信息采集", "常见问题", "自助服务"]
    assert top[0] == {
        "type": "miniprogram",
        "name": "信息采集",
        "appid": "wx-mini-123",
        "pagepath": "pages/home/index",
        "url": "https://example.gov.cn/kjcj",
    }
    assert [(b["name"], b["type"], b.get("key")) for b in top[1]["sub_button"]] == [
        ("生僻字", "click", "FAQ:rare_characters"),
        ("登录与账号", "click", "FAQ:password_reset"),  # no password here: WeChat login, recovery
        ("调转", "click", "FAQ:transfer"),
        ("照片要求", "click", "FAQ:photo_spec"),
        ("通知公告", "miniprogram", None),
    ]
    # the announcements (GET /api/v1/announcements: city-wide ones and the person's district's)
    assert top[1]["sub_button"][4] == {
        "type": "miniprogram",
        "name": "通知公告",
        "appid": "wx-mini-123",
        "pagepath": "pages/announcements/index",
        "url": "https://example.gov.cn/kjcj",
    }
    assert top[2]["type"] == "click" and top[2]["key"].startswith("HELP:")
    engine = build_engine([])
    assert all(engine.topic(key) for key in faq_keys(menu))


@pytest.mark.parametrize(
    "menu",
    [
        {"button": []},
        {"button": [{"type": "click", "name": "一二三四五六七八九", "key": "k"}]},
        {"button": [{"type": "click", "name": "ok"}]},
        {"button": [{"type": "miniprogram", "name": "ok", "appid": "a", "pagepath": "p", "url": "ftp://x"}]},
        {"button": [{"name": "ok", "sub_button": [{"type": "click", "name": str(i), "key": "k"} for i in range(6)]}]},
    ],
)
def test_menus_wechat_would_refuse_are_caught_here(menu):
    with pytest.raises(MenuError):
        check_menu(menu)


async def test_menu_push_sends_the_menu_through_the_wechat_api(chat, fake_wechat):
    server, _ = await chat()
    parser = argparse.ArgumentParser()
    menu_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["menu", "push"])
    assert await menu_command.run(args, server.services) == 0
    assert fake_wechat.menus == [load_menu(server.services.settings)]
    assert fake_wechat.token_calls["/cgi-bin/stable_token"] == 1


async def test_menu_push_reports_a_refusal(chat, fake_wechat, capsys):
    server, _ = await chat()
    fake_wechat.fail_next("/cgi-bin/menu/create", errcode=40016)
    assert await menu_command.run(argparse.Namespace(action="push"), server.services) == 1
    assert "40016" in capsys.readouterr().out and fake_wechat.menus == []


async def test_menu_show_prints_without_sending(chat, fake_wechat, capsys):
    server, _ = await chat()
    assert await menu_command.run(argparse.Namespace(action="show"), server.services) == 0
    assert json.loads(capsys.readouterr().out)["button"][0]["type"] == "miniprogram"
    assert fake_wechat.menus == []


async def test_menu_push_refuses_buttons_for_disabled_topics(chat, fake_wechat, capsys):
    server, _ = await chat()
    await server.services.db["faq_topics"].insert_one({"_id": "transfer", "disabled": True})
    assert await menu_command.run(argparse.Namespace(action="push"), server.services) == 1
    assert "transfer" in capsys.readouterr().out and fake_wechat.menus == []
