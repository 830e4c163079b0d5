"""Notices are never lost and sent once: leases across processes, retries, 43101 is final."""

from __future__ import annotations

import asyncio
import re

from server.notify.sender import MAX_ATTEMPTS, NoticeSender
from server.notify.template import fit, format_time, subscribe_data, units
from server.review.decisions import decide
from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, A, StaffClient, add_staff, insert_record, notices_of

SEND = "/cgi-bin/message/subscribe/send"


async def wait_until(predicate, timeout: float = 20.0, step: float = 0.05):
    """Poll an async predicate until it is truthy (a deadline, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(step)


async def _staff(services, name="rev"):
    await services.get(StaffAccounts).ensure(name, "reviewer", [A], PASSWORD)
    return services.get(StaffAccounts).as_staff(await services.db["staff"].find_one({"_id": name}))


async def _states(services) -> list[str]:
    return [n["delivery"]["state"] async for n in services.db["notices"].find({})]


async def test_one_message_per_decision_with_two_sender_processes_and_a_failure(make_server, http_factory, fake_wechat):
    fake_wechat.fail_next(SEND, status=500)  # one injected failure: the first send attempt gets HTTP 500
    one = await make_server(background=True, notify_retry_seconds=0.05)
    two = await make_server(background=True, notify_retry_seconds=0.05)
    await add_staff(one.services, "rev", regions=[A])
    clients = [StaffClient(http_factory(one)), StaffClient(http_factory(two))]
    for c in clients:
        await c.login("rev")
    records = [await insert_record(one.services, openid=f"demo-openid-p{i}") for i in range(8)]
    results = await asyncio.gather(
        *[
            clients[i % 2].decide(
                r["_id"], "reject" if i % 3 else "approve", r["version"], "照片背景不合格，请重新上传白底照片"
            )
            for i, r in enumerate(records)
        ]
    )
    assert all(r.status == 200 for r in results)

    async def all_sent():
        states = await _states(one.services)
        return len(states) == 8 and set(states) == {"sent"}

    await wait_until(all_sent)
    await asyncio.sleep(0.3)  # give a duplicate (if there were one) the chance to arrive
    recipients = sorted(m["touser"] for m in fake_wechat.subscribe_messages)
    assert recipients == sorted(f"demo-openid-p{i}" for i in range(8))
    assert not fake_wechat.failures[SEND]  # the injected failure was met
    attempts = sorted([n["delivery"]["attempts"] async for n in one.services.db["notices"].find()])
    assert attempts == [1] * 7 + [2]
    assert await one.services.db["deliveries"].count_documents({}) == 0  # nothing left for the sender
    for msg in fake_wechat.subscribe_messages:
        data = {k: v["value"] for k, v in msg["data"].items()}
        assert set(data) == {"thing1", "phrase2", "thing3", "time4"}
        assert units(data["thing1"]) <= 20 and units(data["thing3"]) <= 20 and len(data["phrase2"]) <= 5
        assert data["phrase2"] in ("审核通过", "审核未通过")
        assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", data["time4"])
        assert msg["template_id"] == "demo-review-result-template" and msg["page"] == "pages/record/index"


async def test_racing_senders_claim_each_notice_once(make_server, fake_wechat):
    one, two = await make_server(), await make_server()
    staff = await _staff(one.services)
    for i in range(5):
        rec = await insert_record(one.services, openid=f"demo-openid-r{i}")
        await decide(one.services, staff, str(rec["_id"]), {"decision": "approve", "version": rec["version"]})
    senders = [one.services.get(NoticeSender), two.services.get(NoticeSender)]
    handled = await asyncio.gather(*[s.run_once() for s in senders * 3])
    assert sum(handled) == 5
    assert len(fake_wechat.subscribe_messages) == 5
    assert sorted(m["touser"] for m in fake_wechat.subscribe_messages) == [f"demo-openid-r{i}" for i in range(5)]
    assert sum(await asyncio.gather(*[s.run_once() for s in senders])) == 0


async def test_43101_is_final_and_the_inbox_keeps_the_message(server, http, fake_wechat):
    staff = await _staff(server.services)
    rec = await insert_record(server.services, openid="demo-openid-nosub")
    await decide(
        server.services,
        staff,
        str(rec["_id"]),
        {"decision": "reject", "version": rec["version"], "reason": "学历证书照片模糊"},
    )
    fake_wechat.fail_next(SEND, errcode=43101)
    sender = server.services.get(NoticeSender)
    assert await sender.run_once() == 1
    [notice] = await notices_of(server.services, rec["_id"])
    assert notice["delivery"]["state"] == "skipped" and notice["delivery"]["last_error"].startswith("43101")
    assert await server.services.db["deliveries"].count_documents({}) == 0
    assert await sender.run_once() == 0 and fake_wechat.subscribe_messages == []  # no more tries
    login = await http.post("/api/v1/auth/login", json={"code": "demo:nosub"})
    assert login.status == 200, login.text
    inbox = await http.get("/api/v1/me/messages", token=login.json["token"])
    assert inbox.status == 200, inbox.text
    [message] = inbox.json["messages"]
    assert "学历证书照片模糊" in message["body"] and message["data"]["reason"] == "学历证书照片模糊"


async def test_retries_stop_after_the_limit_as_failed(make_server, fake_wechat):
    server = await make_server(notify_retry_seconds=0)
    staff = await _staff(server.services)
    rec = await insert_record(server.services, openid="demo-openid-down")
    await decide(server.services, staff, str(rec["_id"]), {"decision": "approve", "version": rec["version"]})
    fake_wechat.fail_next(SEND, status=503, times=MAX_ATTEMPTS + 2)
    sender = server.services.get(NoticeSender)
    rounds = 0
    while await sender.run_once():
        rounds += 1
    assert rounds == MAX_ATTEMPTS
    [notice] = await notices_of(server.services, rec["_id"])
    assert notice["delivery"]["state"] == "failed" and notice["delivery"]["attempts"] == MAX_ATTEMPTS
    assert await server.services.db["deliveries"].count_documents({}) == 0 and fake_wechat.subscribe_messages == []


async def test_backoff_doubles_and_a_retry_waits_for_it(make_server, fake_wechat):
    server = await make_server(notify_retry_seconds=30)
    staff = await _staff(server.services)
    rec = await insert_record(server.services, openid="demo-openid-later")
    await decide(server.services, staff, str(rec["_id"]), {"decision": "approve", "version": rec["version"]})
    fake_wechat.fail_next(SEND, errcode=-1)  # "system busy"
    sender = server.services.get(NoticeSender)
    assert await sender.run_once() == 1
    [notice] = await notices_of(server.services, rec["_id"])
    d = notice["delivery"]
    entry = await server.services.db["deliveries"].find_one({"_id": notice["_id"]})
    assert d["state"] == "pending" and d["attempts"] == 1 and entry["due_at"] == d["next_at"]
    assert 27 <= (d["next_at"] - notice["created_at"]).total_seconds() <= 34
    assert await sender.run_once() == 0  # not due yet
    assert 54 <= sender.backoff(2) <= 66 and sender.backoff(30) <= 3600 * 1.1


async def test_a_crashed_senders_lease_is_taken_over(server, fake_wechat):
    from server.db import utcnow

    staff = await _staff(server.services)
    rec = await insert_record(server.services, openid="demo-openid-crash")
    await decide(server.services, staff, str(rec["_id"]), {"decision": "approve", "version": rec["version"]})
    [notice] = await notices_of(server.services, rec["_id"])
    nid = notice["_id"]
    past = utcnow()
    await server.services.db["notices"].update_one(
        {"_id": nid},
        {
            "$set": {
                "delivery.state": "sending",
                "delivery.attempts": 1,
                "delivery.lease_until": past,
                "delivery.lease_owner": "dead",
            }
        },
    )
    await server.services.db["deliveries"].replace_one({"_id": nid}, {"_id": nid, "due_at": past})
    assert await server.services.get(NoticeSender).run_once() == 1
    [notice] = await notices_of(server.services, rec["_id"])
    assert notice["delivery"]["state"] == "sent" and notice["delivery"]["attempts"] == 2
    assert len(fake_wechat.subscribe_messages) == 1


def test_field_limits_and_formats():
    long_reason = "照片不合格、证件不清晰、信息不一致：请重新上传白底正面免冠证件照"
    value = fit("thing3", long_reason)
    assert units(value) <= 20 and value.endswith("…") and value.startswith("照片不合格")
    assert fit("thing1", "张𠀋") == "张𠀋" and units("张𠀋") == 3
    assert units(fit("thing1", "𠀋" * 15)) <= 20
    assert fit("thing3", "") == "无" and fit("thing3", "a\nb") == "a b"
    assert fit("phrase2", "审核未通过") == "审核未通过" and len(fit("phrase2", "审核未通过了吗")) <= 5
    assert (
        fit("name1", "阿依古丽·买买提江·艾买提").endswith("…") and units(fit("name1", "阿依古丽·买买提江·艾买提")) <= 10
    )
    import datetime as dt

    at = dt.datetime(2024, 4, 30, 16, 5, tzinfo=dt.UTC)
    assert format_time(at, "time") == "2024年5月1日 00:05" and format_time(at, "date") == "2024年5月1日"
    data = subscribe_data(
        {"name": "thing1", "result": "phrase2", "reason": "thing3", "time": "time4"},
        {"data": {"name": "刘䶮", "result": "审核通过", "reason": "", "time": at}},
    )
    assert data == {"thing1": "刘䶮", "phrase2": "审核通过", "thing3": "无", "time4": "2024年5月1日 00:05"}
