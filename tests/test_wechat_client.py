"""The outbound WeChat client against the fake WeChat server over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from server.wechat import login, menu, subscribe
from server.wechat.errors import InvalidCode, NoSubscription, WeChatUnavailable


async def test_code2session_demo_code_and_refused_code(server):
    mp = server.services.miniprogram
    session = await login.code2session(mp, "demo:alice")
    assert session.openid == "demo-openid-alice"
    with pytest.raises(InvalidCode) as err:
        await login.code2session(mp, "not-a-real-code")
    assert err.value.errcode == 40029


async def test_two_instances_fetch_the_token_once(make_server, fake_wechat):
    a, b = await make_server(), await make_server()
    results = await asyncio.gather(
        *[
            subscribe.send(s.services.miniprogram, f"openid-{i}", "tpl", {"thing1": "x"})
            for i, s in enumerate([a, b] * 5)
        ]
    )
    assert all(r["errcode"] == 0 for r in results)
    assert fake_wechat.token_calls["/cgi-bin/stable_token"] == 1
    assert len(fake_wechat.subscribe_messages) == 10


async def test_an_expired_token_forces_exactly_one_refresh(make_server, fake_wechat):
    a, b = await make_server(), await make_server()
    await menu.create(a.services.official_account, {"button": [{"type": "click", "name": "x", "key": "k"}]})
    assert fake_wechat.token_calls["/cgi-bin/stable_token"] == 1
    fake_wechat.expire_tokens()  # WeChat now answers 40001 to the cached token
    await asyncio.gather(
        menu.create(a.services.official_account, {"button": [{"type": "click", "name": "y", "key": "k"}]}),
        menu.create(b.services.official_account, {"button": [{"type": "click", "name": "z", "key": "k"}]}),
    )
    assert fake_wechat.token_calls["/cgi-bin/stable_token"] == 2
    assert [m["button"][0]["name"] for m in fake_wechat.menus][0] == "x"
    assert len(fake_wechat.menus) == 3


async def test_errcodes_become_typed_errors(server, fake_wechat):
    mp = server.services.miniprogram
    fake_wechat.fail_next("/cgi-bin/message/subscribe/send", errcode=43101)
    with pytest.raises(NoSubscription):
        await subscribe.send(mp, "o", "tpl", {"thing1": "x"})
    fake_wechat.fail_next("/cgi-bin/message/subscribe/send", status=502)
    with pytest.raises(WeChatUnavailable):
        await subscribe.send(mp, "o", "tpl", {"thing1": "x"})
    assert fake_wechat.subscribe_messages == []


async def test_unreachable_wechat_is_unavailable(make_server):
    running = await make_server(wechat_api_base="http://127.0.0.1:9")
    with pytest.raises(WeChatUnavailable):
        await login.code2session(running.services.miniprogram, "demo:x")
