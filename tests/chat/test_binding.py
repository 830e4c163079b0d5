"""The chat binding flow (mini-program code → "绑定 123456") and status questions by chat."""

from __future__ import annotations

import datetime as dt

from server.db import utcnow
from tests.chat.conftest import WeChatSender, next_msg_id, text_xml


async def _login(http, name: str) -> str:
    r = await http.post("/api/v1/auth/login", json={"code": f"demo:{name}"})
    assert r.status == 200, r.text
    http.token = r.json["token"]
    return http.token


async def _code(http) -> str:
    r = await http.post("/api/v1/me/chat-binding")
    assert r.status == 200, r.text
    assert r.json["expires_in"] == 600 and r.json["code"] in r.json["instruction"]
    return r.json["code"]


async def test_the_binding_code_needs_a_logged_in_user(chat):
    _, sender = await chat()
    r = await sender.http.post("/api/v1/me/chat-binding", token="")
    assert r.status == 401


async def test_bind_then_query_status_through_every_state(chat):
    server, sender = await chat()
    await _login(sender.http, "ann")
    assert "绑定" in (await sender.ask("o-chat-ann", "查询进度")).content
    code = await _code(sender.http)
    stored = [d async for d in server.services.db["chat_binding_codes"].find({})]
    assert len(stored) == 1 and code not in str(stored[0])
    reply = await sender.ask("o-chat-ann", f"绑定 {code}")
    assert "绑定成功" in reply.content
    records = server.services.db["applications"]
    record = await records.find_one({"openid": "demo-openid-ann"})
    assert record["chat_openid"] == "o-chat-ann"
    assert "尚未提交" in (await sender.ask("o-chat-ann", "查询进度")).content
    await records.update_one(
        {"_id": record["_id"]},
        {"$set": {"status": "submitted", "submitted_at": dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)}},
    )
    reply = await sender.ask("o-chat-ann", "审核结果")
    assert "审核中" in reply.content and "2026年3月2日" in reply.content
    await records.update_one(
        {"_id": record["_id"]},
        {"$set": {"status": "approved", "archive_no": "3502002026000123", "decided_at": utcnow()}},
    )
    reply = await sender.ask("o-chat-ann", "我的审核进度？")
    assert "审核通过" in reply.content and "3502002026000123" in reply.content
    await records.update_one(
        {"_id": record["_id"]},
        {
            "$set": {
                "status": "rejected",
                "decided_at": utcnow(),
                "decision": {"decision": "rejected", "reason": "照片不合格"},
            }
        },
    )
    reply = await sender.ask("o-chat-ann", "審核結果")  # traditional characters too
    assert "未通过" in reply.content and "照片不合格" in reply.content


async def test_a_code_works_once_and_only_for_ten_minutes(chat):
    server, sender = await chat()
    await _login(sender.http, "bea")
    code = await _code(sender.http)
    assert "绑定成功" in (await sender.ask("o-chat-bea", f"绑定{code}")).content
    assert "无效" in (await sender.ask("o-chat-thief", f"绑定 {code}")).content
    assert await server.services.db["applications"].count_documents({"chat_openid": "o-chat-thief"}) == 0
    code = await _code(sender.http)
    await server.services.db["chat_binding_codes"].update_many(
        {}, {"$set": {"expires_at": utcnow() - dt.timedelta(seconds=1)}}
    )
    assert "无效" in (await sender.ask("o-chat-bea2", f"绑定 {code}")).content


async def test_a_new_code_replaces_the_previous_one(chat):
    _, sender = await chat()
    await _login(sender.http, "cai")
    first = await _code(sender.http)
    second = await _code(sender.http)
    if first != second:
        assert "无效" in (await sender.ask("o-chat-cai", f"绑定 {first}")).content
    assert "绑定成功" in (await sender.ask("o-chat-cai", f"绑定 {second}")).content


async def test_guessing_codes_is_limited(chat):
    _, sender = await chat()
    await _login(sender.http, "dan")
    code = await _code(sender.http)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert "无效" in (await sender.ask("o-chat-guess", f"绑定 {wrong}")).content
    assert "次数过多" in (await sender.ask("o-chat-guess", f"绑定 {code}")).content
    assert "绑定成功" in (await sender.ask("o-chat-dan", f"绑定 {code}")).content


async def test_a_retried_binding_message_on_another_instance_gets_the_same_success(
    chat, make_server, chat_settings, http_factory
):
    a, sender_a = await chat()
    b = await make_server(**chat_settings("plaintext"))
    sender_b = WeChatSender(http_factory(b), "plaintext")
    await _login(sender_a.http, "eve")
    code = await _code(sender_a.http)
    xml = text_xml("o-chat-eve", f"绑定 {code}", msg_id=next_msg_id())
    first, retry = await sender_a.send(xml), await sender_b.send(xml)
    assert "绑定成功" in first.content and retry.content == first.content
    assert await a.services.db["chat_binding_attempts"].count_documents({}) == 0


async def test_status_by_unionid_links_without_a_code(chat, fake_wechat):
    server, sender = await chat()
    await _login(sender.http, "fay")  # the record carries unionid demo-unionid-fay
    fake_wechat.unionids["o-chat-fay"] = "demo-unionid-fay"
    reply = await sender.ask("o-chat-fay", "查询进度")
    assert "尚未提交" in reply.content
    record = await server.services.db["applications"].find_one({"openid": "demo-openid-fay"})
    assert record["chat_openid"] == "o-chat-fay"
    calls = fake_wechat.user_info_calls
    assert "尚未提交" in (await sender.ask("o-chat-fay", "查进度")).content
    assert fake_wechat.user_info_calls == calls  # linked now: no second lookup


async def test_the_demo_follower_shares_the_unionid_of_the_demo_mini_program_user(chat, fake_wechat):
    server, sender = await chat()
    await _login(sender.http, "hal")
    assert "尚未提交" in (await sender.ask("demo-chat-hal", "审核结果")).content
    assert "绑定" in (await sender.ask("demo-chat-ida", "审核结果")).content  # no record for ida
    assert "绑定" in (await sender.ask("o-chat-hal", "审核结果")).content  # not a demo follower: no unionid
    record = await server.services.db["applications"].find_one({"openid": "demo-openid-hal"})
    assert record["chat_openid"] == "demo-chat-hal"


async def test_status_when_wechat_has_no_unionid_says_how_to_link(chat, fake_wechat):
    _, sender = await chat()
    fake_wechat.fail_next("/cgi-bin/user/info", errcode=40003)
    reply = await sender.ask("o-chat-nobody", "查询进度")
    assert "绑定" in reply.content and "小程序" in reply.content


async def test_a_linked_person_without_a_record_is_told_how_to_start(chat):
    server, sender = await chat()
    await _login(sender.http, "gus")
    code = await _code(sender.http)
    await server.services.db["applications"].delete_many({"openid": "demo-openid-gus"})
    reply = await sender.ask("o-chat-gus", f"绑定 {code}")
    assert "绑定成功" in reply.content and "信息采集" in reply.content
    reply = await sender.ask("o-chat-gus", "查询进度")
    assert "还没有开始" in reply.content
