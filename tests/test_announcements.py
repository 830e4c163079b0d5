"""Announcements (公告) through real HTTP and the real database: who may publish what, field checks,
what a person sees (current, city-wide plus their district, pinned first), expiry, several
processes, and the push to bound chat followers within WeChat's 48 hours, once each."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from server.announcements import AnnouncementPusher, Announcements
from server.announcements.push import TEXT_BYTES, message_text, notice_id
from server.announcements.service import CACHE_SECONDS
from server.chat.last_seen import LastSeen
from server.db import utcnow
from tests.admin.conftest import A, B, add_staff, staff_client  # noqa: F401
from tests.chat.conftest import WeChatSender, chat, chat_settings, event_xml  # noqa: F401
from tests.miniprogram.conftest import as_user  # noqa: F401

CHINA = dt.timezone(dt.timedelta(hours=8))
API = "/admin/api/announcements"


def iso(delta: dt.timedelta = dt.timedelta(0), at: dt.datetime | None = None) -> str:
    """A time as the admin page sends it: China time with its offset."""
    return ((at or dt.datetime.now(dt.UTC)) + delta).astimezone(CHINA).isoformat(timespec="milliseconds")


def body(**overrides) -> dict:
    data = {"title": "2026年会计人员信息采集通知", "body": "请于5月31日前完成采集。\n逾期将影响继续教育。"}
    data.update(scope="city", expire_at=iso(dt.timedelta(days=30)))
    data.update(overrides)
    return data


async def write(client, method: str, path: str, json=None):
    """A staff write with the XSRF header (StaffClient only posts)."""
    return await client.http.request(method, path, json=json, headers={"X-XSRF-Token": client.xsrf})


async def publish(client, **overrides) -> dict:
    r = await client.post(API, json=body(**overrides))
    assert r.status == 201, r.text
    return r.json


def fields(r) -> dict:
    assert r.status == 422, r.text
    return {f["field"]: f["code"] for f in r.json["error"]["fields"]}


@pytest.fixture
async def staff(server, staff_client):  # noqa: F811
    s = server.services
    await add_staff(s, "rev-a", regions=[A])
    await add_staff(s, "rev-b", regions=[B])
    await add_staff(s, "city", role="city_admin", regions=[])
    return {name: await staff_client(server, name) for name in ("rev-a", "rev-b", "city")}


async def person_in(as_user, name: str, region: str | None):  # noqa: F811
    person = await as_user(name)
    if region:
        r = await person.patch("/api/v1/me/record", json={"region_code": region})
        assert r.status == 200, r.text
    return person


async def titles(person) -> list[str]:
    r = await person.get("/api/v1/announcements")
    assert r.status == 200, r.text
    return [a["title"] for a in r.json["items"]]


async def test_a_reviewer_publishes_only_for_their_own_districts(server, staff):
    rev_a, city = staff["rev-a"], staff["city"]
    r = await rev_a.post(API, json=body(scope=B, title="海沧区通知"))
    assert r.status == 403 and r.error_code == "announcement_scope_forbidden", r.text
    r = await rev_a.post(API, json=body(scope="city", title="全市通知"))
    assert r.status == 403 and r.error_code == "announcement_scope_forbidden", r.text
    mine = await publish(rev_a, scope=A, title="思明区通知")
    assert mine["scope"] == A and mine["scope_name"] == "思明区" and mine["editable"] and mine["state"] == "current"
    theirs = await publish(city, scope=B, title="海沧区通知")
    citywide = await publish(city, title="全市通知")

    listed = (await rev_a.get(API)).json
    assert [a["title"] for a in listed["items"]] == ["全市通知", "思明区通知"] and listed["total"] == 2
    assert [a["editable"] for a in listed["items"]] == [False, True]  # a city-wide one is shown, not theirs to edit
    assert (await staff["city"].get(API)).json["total"] == 3
    assert (await rev_a.get(f"{API}/{theirs['id']}")).status == 404  # another district's: as if it did not exist
    r = await write(rev_a, "PATCH", f"{API}/{theirs['id']}", {"title": "改"})
    assert r.status == 404 and r.error_code == "announcement_not_found"
    r = await write(rev_a, "PATCH", f"{API}/{citywide['id']}", {"title": "改"})
    assert r.status == 403 and r.error_code == "announcement_scope_forbidden"
    assert (await write(rev_a, "DELETE", f"{API}/{citywide['id']}")).status == 403
    r = await write(rev_a, "PATCH", f"{API}/{mine['id']}", {"scope": B})  # nor move one to another district
    assert r.status == 403 and r.error_code == "announcement_scope_forbidden"
    assert (await rev_a.http.post(API, json=body(scope=A))).status == 403  # no XSRF header

    # publishing and withdrawing are in the audit log, with the district's and city's lists
    assert (await write(rev_a, "DELETE", f"{API}/{mine['id']}")).json["state"] == "withdrawn"
    audit = (await city.get("/admin/api/audit")).json["items"]
    kinds = [(e["action"], e["record_id"], e["actor"]) for e in audit if e["kind"] == "announcement"]
    assert ("announcement_published", mine["id"], "rev-a") in kinds
    assert ("announcement_withdrawn", mine["id"], "rev-a") in kinds
    assert ("announcement_published", citywide["id"], "city") in kinds
    district_log = (await rev_a.get("/admin/api/audit")).json["items"]
    assert {e["record_id"] for e in district_log if e["kind"] == "announcement"} == {mine["id"]}


async def test_fields_are_checked_one_by_one(server, staff):
    city = staff["city"]
    r = await city.post(API, json={"title": "x" * 61, "body": "a\tb", "scope": "110101", "expire_at": "2030-01-01"})
    assert fields(r) == {
        "title": "too_long",
        "body": "control_characters",
        "scope": "unknown_scope",
        "expire_at": "invalid_time",
    }
    assert fields(await city.post(API, json={})) == {
        "title": "required",
        "body": "required",
        "scope": "required",
        "expire_at": "required",
    }
    r = await city.post(API, json=body(title="通知\u0007", body="x" * 2001, pinned="yes", colour="red"))
    assert fields(r) == {
        "title": "control_characters",
        "body": "too_long",
        "pinned": "invalid_type",
        "colour": "unknown_field",
    }
    assert fields(await city.post(API, json=body(title="第一行\n第二行"))) == {"title": "control_characters"}
    assert fields(await city.post(API, json=body(expire_at=iso(-dt.timedelta(minutes=1))))) == {
        "expire_at": "expire_at_past"
    }
    r = await city.post(API, json=body(publish_at=iso(dt.timedelta(days=2)), expire_at=iso(dt.timedelta(days=1))))
    assert fields(r) == {"expire_at": "expire_before_publish"}
    assert fields(await city.post(API, json=body(expire_at="2030-01-01T08:00:00"))) == {"expire_at": "invalid_time"}
    assert fields(await city.post(API, json=body(scope=A, push=True))) == {"push": "push_city_wide_only"}
    # line breaks are kept (\r\n as \n), surrounding blanks dropped; exactly the limits pass
    ok = await publish(city, title="题" * 60, body="  第一段\r\n第二段\r第三段  ")
    assert ok["title"] == "题" * 60 and ok["body"] == "第一段\n第二段\n第三段"
    assert (await city.post(API, json=body(body="文" * 2000))).status == 201
    assert await server.services.db["announcements"].count_documents({}) == 2

    # an edit: only what it names changes; a stale version or a withdrawn announcement is a 409
    r = await write(city, "PATCH", f"{API}/{ok['id']}", {"title": "新标题", "version": 1})
    assert r.status == 200 and r.json["title"] == "新标题" and r.json["version"] == 2 and r.json["body"] == ok["body"]
    r = await write(city, "PATCH", f"{API}/{ok['id']}", {"pinned": True, "version": 1})
    assert r.status == 409 and r.error_code == "announcement_changed"
    r = await write(city, "PATCH", f"{API}/{ok['id']}", {"expire_at": iso(-dt.timedelta(hours=1))})
    assert fields(r) == {"expire_at": "expire_at_past"}
    assert (await write(city, "DELETE", f"{API}/{ok['id']}")).status == 200
    assert (await write(city, "DELETE", f"{API}/{ok['id']}")).json["state"] == "withdrawn"  # again: no change
    r = await write(city, "PATCH", f"{API}/{ok['id']}", {"title": "再改"})
    assert r.status == 409 and r.error_code == "announcement_withdrawn"


async def test_an_expired_announcement_is_gone(server, staff, as_user, http):  # noqa: F811
    city = staff["city"]
    person = await person_in(as_user, "expiring", A)
    short = await publish(city, scope=A, title="两秒后截止", expire_at=iso(dt.timedelta(seconds=2)))
    await publish(city, title="长期公告")
    assert await titles(person) == ["长期公告", "两秒后截止"]
    public = await http.get(f"/api/v1/public/announcements?region={A}")
    assert [a["title"] for a in public.json["items"]] == ["长期公告", "两秒后截止"]
    expires = dt.datetime.fromisoformat(short["expire_at"].replace("Z", "+00:00"))
    await asyncio.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)
    assert await titles(person) == ["长期公告"]  # gone at once: decided on read, not by a sweep
    public = await http.get(f"/api/v1/public/announcements?region={A}")
    assert [a["title"] for a in public.json["items"]] == ["长期公告"]
    [expired] = (await city.get(f"{API}?state=expired")).json["items"]
    assert expired["id"] == short["id"] and expired["state_label"] == "已过期"  # staff still see it


async def test_pinned_first_then_newest_city_wide_plus_the_persons_district(server, staff, as_user, http):  # noqa: F811
    city, rev_a, rev_b = staff["city"], staff["rev-a"], staff["rev-b"]
    await publish(city, title="全市旧通知")
    await asyncio.sleep(0.01)
    await publish(city, title="全市置顶", pinned=True)
    await asyncio.sleep(0.01)
    await publish(rev_a, scope=A, title="思明区新通知")
    await asyncio.sleep(0.01)
    await publish(rev_b, scope=B, title="海沧区通知")
    await publish(city, title="明天发布", publish_at=iso(dt.timedelta(days=1)))
    gone = await publish(city, title="已撤回")
    assert (await write(city, "DELETE", f"{API}/{gone['id']}")).status == 200

    in_a = await person_in(as_user, "siming", A)
    in_b = await person_in(as_user, "haicang", B)
    nowhere = await person_in(as_user, "draft", None)
    assert await titles(in_a) == ["全市置顶", "思明区新通知", "全市旧通知"]
    assert await titles(in_b) == ["全市置顶", "海沧区通知", "全市旧通知"]
    assert await titles(nowhere) == ["全市置顶", "全市旧通知"]
    feed = (await in_a.get("/api/v1/announcements")).json
    assert feed["region_code"] == A and feed["region_name"] == "思明区"
    assert feed["items"][0]["pinned"] is True and feed["items"][0]["scope_name"] == "全市"
    assert set(feed["items"][1]) == {"id", "title", "body", "scope", "scope_name", "pinned", "publish_at", "expire_at"}
    assert (await http.get("/api/v1/announcements")).status == 401

    # the public list: no login, a district or the city-wide ones alone; a browser gets a page
    r = await http.get(f"/api/v1/public/announcements?region={B}")
    assert [a["title"] for a in r.json["items"]] == ["全市置顶", "海沧区通知", "全市旧通知"]
    r = await http.get("/api/v1/public/announcements")
    assert [a["title"] for a in r.json["items"]] == ["全市置顶", "全市旧通知"]
    r = await http.get("/api/v1/public/announcements?region=110101")
    assert r.status == 400 and r.error_code == "unknown_region"
    await publish(rev_a, scope=A, title="<script>alert(1)</script>")
    page = await http.get(f"/api/v1/public/announcements?region={A}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "思明区新通知" in page.text and "海沧区通知" not in page.text and "置顶" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


async def test_every_process_sees_a_write_within_seconds(make_server, staff_client, as_user):  # noqa: F811
    one = await make_server()
    two = await make_server()
    await add_staff(one.services, "city", role="city_admin", regions=[])
    city = await staff_client(one, "city")
    person = await as_user("reader", running=two)
    assert await titles(person) == []  # process two has loaded its (empty) copy
    made = await publish(city, title="多进程公告")

    async def seen_by_two(expected: list[str]) -> float:
        started = time.monotonic()
        while await titles(person) != expected:
            assert time.monotonic() - started < CACHE_SECONDS + 5, "process two never saw the write"
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    await seen_by_two(["多进程公告"])
    assert (await write(city, "DELETE", f"{API}/{made['id']}")).status == 200
    await seen_by_two([])
    # staff read fresh whatever process answers
    city_two = await staff_client(two, "city")
    assert [a["state"] for a in (await city_two.get(API)).json["items"]] == ["withdrawn"]


# --- the push to chat followers ---


async def bind(sender: WeChatSender, name: str, chat_openid: str) -> None:
    """A person logs in to the mini-program, asks for a code and sends it in the chat (real webhook)."""
    r = await sender.http.post("/api/v1/auth/login", json={"code": f"demo:{name}"})
    assert r.status == 200, r.text
    code = await sender.http.post("/api/v1/me/chat-binding", token=r.json["token"])
    assert code.status == 200, code.text
    assert "绑定成功" in (await sender.ask(chat_openid, f"绑定 {code.json['code']}")).content


async def test_a_city_wide_push_reaches_each_recent_bound_follower_once(
    chat,  # noqa: F811
    make_server,
    chat_settings,  # noqa: F811
    staff_client,  # noqa: F811
    fake_wechat,
):
    one, sender = await chat()
    two = await make_server(**chat_settings("plaintext"))
    await bind(sender, "recent", "o-chat-recent")
    await bind(sender, "quiet", "o-chat-quiet")
    await bind(sender, "gone", "o-chat-gone")
    await sender.ask("o-chat-stranger", "你好")  # recent, but bound to no record
    await sender.send(event_xml("o-chat-leaver", "unsubscribe"))  # leaving opens no window,
    await sender.send(event_xml("o-chat-viewer", "VIEW", "https://example.gov.cn/"))  # nor does a view-menu click
    await sender.send(event_xml("o-chat-clicker", "CLICK", "HELP:self_service"))  # a click-menu event does
    await one.services.get(LastSeen).drain()
    seen = one.services.db["chat_last_seen"]
    assert {d["_id"] async for d in seen.find({})} == {
        "o-chat-recent",
        "o-chat-quiet",
        "o-chat-gone",
        "o-chat-stranger",
        "o-chat-clicker",
    }
    # "quiet" last wrote 49 hours ago; "gone" unfollowed since (WeChat answers 43004)
    await seen.update_one({"_id": "o-chat-quiet"}, {"$set": {"at": utcnow() - dt.timedelta(hours=49)}})
    fake_wechat.unfollowed.add("o-chat-gone")

    await add_staff(one.services, "city", role="city_admin", regions=[])
    city = await staff_client(one, "city")
    pushed = await publish(city, title="推送公告", push=True)
    assert pushed["push"] is True and pushed["push_state"] == "pending"
    await publish(city, title="不推送的公告")
    await add_staff(one.services, "rev-a", regions=[A])
    await publish(await staff_client(one, "rev-a"), scope=A, title="区公告")

    pushers = [one.services.get(AnnouncementPusher), two.services.get(AnnouncementPusher)]
    for _ in range(2):  # two rounds, each on both processes at once
        await asyncio.gather(*(p.run_once() for p in pushers))
    while sum(await asyncio.gather(*(p.run_once() for p in pushers))):
        pass

    assert [(m["touser"], m["msgtype"]) for m in fake_wechat.custom_messages] == [("o-chat-recent", "text")]
    assert fake_wechat.custom_messages[0]["text"]["content"].startswith("【公告】推送公告\n请于5月31日前")
    notices = {n["_id"]: n async for n in one.services.db["notices"].find({"kind": "announcement"})}
    assert set(notices) == {notice_id(pushed["id"], "o-chat-recent"), notice_id(pushed["id"], "o-chat-gone")}
    assert notices[notice_id(pushed["id"], "o-chat-recent")]["delivery"]["state"] == "sent"
    assert notices[notice_id(pushed["id"], "o-chat-gone")]["delivery"]["state"] == "skipped"
    assert await one.services.db["chat_deliveries"].count_documents({}) == 0
    listed = {a["title"]: a for a in (await city.get(API)).json["items"]}
    assert listed["推送公告"]["push_state"] == "done" and listed["推送公告"]["push_recipients"] == 2
    assert listed["不推送的公告"]["push_state"] == "none"

    # a fan-out run again (a crash after the notices were written) adds nothing and sends nothing
    await one.services.db["announcements"].update_one({"_id": pushed["id"]}, {"$set": {"push.state": "pending"}})
    await one.services.get(Announcements).changed()
    await two.services.get(Announcements).changed()
    while sum(await asyncio.gather(*(p.run_once() for p in pushers))):
        pass
    assert len(fake_wechat.custom_messages) == 1


async def test_a_withdrawn_announcement_is_not_pushed_and_the_text_fits_wechat(
    chat,  # noqa: F811
    staff_client,  # noqa: F811
    fake_wechat,
):
    server, sender = await chat()
    await bind(sender, "late", "o-chat-late")
    await server.services.get(LastSeen).drain()
    await add_staff(server.services, "city", role="city_admin", regions=[])
    city = await staff_client(server, "city")
    made = await publish(city, title="长公告", body="很长的正文。" * 330, push=True)
    pusher = server.services.get(AnnouncementPusher)
    assert await pusher.fan_out_due() == 1  # queued, not yet sent
    assert (await write(city, "DELETE", f"{API}/{made['id']}")).status == 200
    await pusher.run_once()
    assert fake_wechat.custom_messages == []
    stored = await server.services.db["notices"].find_one({"_id": notice_id(made["id"], "o-chat-late")})
    assert stored["delivery"]["state"] == "skipped" and "撤回" in stored["delivery"]["last_error"]

    text = message_text({"title": "长公告", "body": "很长的正文。" * 330})
    assert len(text.encode()) <= TEXT_BYTES and text.endswith("（全文请在小程序“通知公告”中查看）")


async def test_the_background_worker_sends_a_new_push_at_once(chat, staff_client, fake_wechat):  # noqa: F811
    server, sender = await chat()
    s = server.services
    s.spawn(lambda: s.get(AnnouncementPusher).run_forever(), "announcement-push")  # as server/app.py starts it
    await bind(sender, "eager", "o-chat-eager")
    await s.get(LastSeen).drain()
    await add_staff(s, "city", role="city_admin", regions=[])
    city = await staff_client(server, "city")
    await publish(city, title="立即推送", push=True)
    started = time.monotonic()
    while not fake_wechat.custom_messages:
        assert time.monotonic() - started < 10, "the worker never sent the message"
        await asyncio.sleep(0.05)
    assert [m["touser"] for m in fake_wechat.custom_messages] == ["o-chat-eager"]
    listed = (await city.get(API)).json["items"]
    assert listed[0]["push_state"] == "done" and listed[0]["push_recipients"] == 1
