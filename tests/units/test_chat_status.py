"""`查询进度` by chat reports the unit's confirmation (报备确认) when it is pending or denied, and says
nothing of it once confirmed (real signed webhook requests, a real binding)."""

from __future__ import annotations

from tests.units.conftest import A, person_of_unit, unit_reviewer


async def test_status_reports_a_pending_then_denied_unit_confirmation(chat, make_unit_admin, as_user, staff_client):
    srv, sender = await chat()
    admin, uscc = await make_unit_admin("chat-admin", running=srv)
    rec = await person_of_unit(srv, uscc, name="褚聊天", login="chat-person")
    person = await as_user("chat-person", srv)
    code = (await person.post("/api/v1/me/chat-binding")).json["code"]
    assert (await sender.ask("o-chat-unit", f"绑定 {code}")).content.startswith("绑定成功")

    text = (await sender.ask("o-chat-unit", "查询进度")).content
    assert "正在审核中" in text and "尚未进行报备确认" in text and "厦门示例会计服务有限公司" in text
    assert "本区要求" not in text
    rev = await unit_reviewer(srv, staff_client, A)
    await rev.http.request(
        "PUT",
        f"/admin/api/unit-settings/{A}",
        json={"require_unit_confirmation": True},
        headers={"X-XSRF-Token": rev.xsrf},
    )
    assert "本区要求单位确认后才能审核通过" in (await sender.ask("o-chat-unit", "查询进度")).content

    r = await admin.post(f"/api/v1/unit/{uscc}/people/{rec['_id']}/deny", json={"reason": "不是本单位员工"})
    assert r.status == 200
    text = (await sender.ask("o-chat-unit", "审核结果")).content
    assert "未确认您的任职信息" in text and "不是本单位员工" in text

    assert (await admin.post(f"/api/v1/unit/{uscc}/people/{rec['_id']}/confirm")).status == 200
    text = (await sender.ask("o-chat-unit", "查询进度")).content
    assert "正在审核中" in text and "报备确认" not in text and "未确认" not in text
