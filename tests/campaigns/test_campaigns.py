"""Collection campaign windows over real HTTP and the real database: a submission outside the
window follows its rule (refused naming the dates, or accepted and marked late), transfers freeze
during a window that says so, the mini-program and the FAQ read the same dates, staff edit the
windows with field-level 422s, and the pre-deadline reminder goes out once with two processes."""

from __future__ import annotations

import asyncio
import datetime as dt

from server.campaigns import Campaigns
from server.campaigns.rules import CHINA
from server.db import utcnow
from server.notify.sender import NoticeSender
from server.staff import StaffAccounts
from tests.admin.test_notify import wait_until
from tests.campaigns.conftest import (
    CAMPAIGN,
    CAMPAIGNS,
    PASSWORD,
    SUBMIT,
    A,
    B,
    day,
    delete,
    insert_record,
    label,
    patch,
    person_id,
    today,
)
from tests.transfers.conftest import TRANSFERS, apply

RECORD = "/api/v1/me/record"
QUESTION = "信息采集什么时候截止"


async def filled(as_user, make_valid_record, name: str, n: int, running=None):
    """A person logged in with a complete draft (district A)."""
    person = await as_user(name, running)
    await make_valid_record(person, id_number=person_id(n))
    return person


# --- the rule outside the window ------------------------------------------------------------


async def test_with_no_window_a_submission_is_accepted_all_year(server, as_user, make_valid_record, http):
    person = await filled(as_user, make_valid_record, "always", 1)
    r = await person.post(SUBMIT, json={"commitment": True})
    assert r.status == 200 and r.json["status"] == "submitted", r.text
    current = (await http.get(CAMPAIGN)).json
    assert current["always_open"] and current["window"] is None and current["submission"]["allowed"]
    assert "全年开放" in current["message"]


async def test_after_a_refusing_window_a_submission_is_refused_naming_the_dates(
    server, as_user, make_valid_record, window, city
):
    late = await filled(as_user, make_valid_record, "late", 2)
    w = await window(day(-30), day(-1), "refuse")
    r = await late.post(SUBMIT, json={"commitment": True})
    assert r.status == 409 and r.error_code == "outside_collection_window", r.text
    error = r.json["error"]
    assert label(day(-30), day(-1)) in error["message"] and "截止" in error["message"]
    assert (error["start"], error["end"]) == (day(-30), day(-1))
    assert (await late.get(RECORD)).json["status"] == "draft"  # nothing written

    # the bureau extends the window to next week: the same submission is now on time
    admin = await city()
    r = await patch(admin, f"{CAMPAIGNS}/{w['id']}", {"end": day(7), "version": w["version"]})
    assert r.status == 200 and r.json["state"] == "open", r.text
    r = await late.post(SUBMIT, json={"commitment": True})
    assert r.status == 200 and r.json["status"] == "submitted", r.text
    app = await server.services.db["applications"].find_one({"openid": late.openid})
    assert await server.services.get(Campaigns).late_of(app) is False


async def test_a_returned_application_may_be_resubmitted_after_the_window(
    server, as_user, make_valid_record, window, city, staff_client
):
    person = await filled(as_user, make_valid_record, "returned", 3)
    w = await window(day(-10), day(5), "refuse")
    r = await person.post(SUBMIT, json={"commitment": True})
    assert r.status == 200, r.text
    await server.services.get(StaffAccounts).ensure("rev-a", "reviewer", [A], PASSWORD)
    reviewer = await staff_client(server, "rev-a")
    record = (await person.get(RECORD)).json
    r = await reviewer.decide(record["id"], "reject", record["version"], "照片不清晰")
    assert r.status == 200, r.text
    admin = await city()
    assert (await patch(admin, f"{CAMPAIGNS}/{w['id']}", {"end": day(-1)})).status == 200  # the window closes
    newcomer = await filled(as_user, make_valid_record, "newcomer", 4)
    assert (await newcomer.post(SUBMIT, json={"commitment": True})).error_code == "outside_collection_window"
    r = await person.post(SUBMIT, json={"commitment": True})  # the district asked for the correction
    assert r.status == 200 and r.json["status"] == "submitted", r.text


async def test_before_a_refusing_window_opens_the_submission_waits_for_it(as_user, make_valid_record, window, http):
    early = await filled(as_user, make_valid_record, "early", 5)
    await window(day(3), day(40), "refuse")
    r = await early.post(SUBMIT, json={"commitment": True})
    assert r.status == 409 and r.error_code == "outside_collection_window"
    assert "尚未开始" in r.json["error"]["message"] and label(day(3), day(40)) in r.json["error"]["message"]
    current = (await http.get(CAMPAIGN)).json
    assert current["window"]["state"] == "upcoming" and current["window"]["label"] == label(day(3), day(40))
    assert current["submission"] == {
        "allowed": False,
        "late": False,
        "rule": "refuse",
        "window_id": current["window"]["id"],
    }


async def test_after_a_mark_late_window_the_submission_is_accepted_and_marked_late(
    server, as_user, make_valid_record, window, http
):
    person = await filled(as_user, make_valid_record, "marked", 6)
    await window(day(-40), day(-2), "mark_late", title="2026年采集")
    r = await person.post(SUBMIT, json={"commitment": True})
    assert r.status == 200 and r.json["status"] == "submitted", r.text
    app = await server.services.db["applications"].find_one({"openid": person.openid})
    campaigns = server.services.get(Campaigns)
    assert await campaigns.late_of(app) is True  # from its first submission against the windows
    current = (await http.get(CAMPAIGN)).json
    assert current["submission"] == {
        "allowed": True,
        "late": True,
        "rule": "mark_late",
        "window_id": current["window"]["id"],
    }
    assert current["window"]["state"] == "ended" and "逾期" in current["message"]
    assert label(day(-40), day(-2)) in current["message"]
    # one first submitted inside the window is not late, whenever it was resubmitted
    within = dt.datetime.combine(today() - dt.timedelta(days=5), dt.time(12), CHINA)
    inside = {**app, "history": [{"action": "submit", "at": within}, *app["history"]]}
    assert await campaigns.late_of(inside) is False


# --- the mini-program and the FAQ read the same dates ----------------------------------------------


async def test_the_mini_program_shows_the_open_window(window, http):
    w = await window(day(-3), day(10), "mark_late", freeze_transfers=True)
    r = await http.get(CAMPAIGN)
    assert r.status == 200 and "max-age" in r.headers["Cache-Control"]
    current = r.json
    assert current["open"] and not current["always_open"] and current["today"] == today().isoformat()
    assert current["window"] == {
        "id": w["id"],
        "title": "会计人员信息采集",
        "start": day(-3),
        "end": day(10),
        "label": label(day(-3), day(10)),
        "state": "open",
        "kinds": ["collection"],
        "late_rule": "mark_late",
        "late_rule_label": "截止后仍可提交，标记为逾期",
        "freeze_transfers": True,
        "days_to_end": 10,
    }
    assert current["submission"]["allowed"] and not current["submission"]["late"]
    assert label(day(-3), day(10)) in current["message"]


async def test_the_faq_answer_reads_the_same_dates_in_every_process(
    chat, make_server, chat_settings, city, http_factory
):
    one, sender_one = await chat()
    two, sender_two = await chat(server=await make_server(**chat_settings()))
    admin = await city(one)
    r = await admin.post(
        CAMPAIGNS, json={"title": "2027年采集", "start": day(-5), "end": day(20), "late_rule": "refuse"}
    )
    assert r.status == 201, r.text
    reply = await sender_one.ask("o-faq-1", QUESTION)  # the process that wrote: at once
    assert label(day(-5), day(20)) in reply.content and "不再受理" in reply.content, reply.content
    mini = (await http_factory(one).get(CAMPAIGN)).json
    assert mini["message"] in reply.content  # the same sentence
    # the other process: its background refresh brings the new dates to its FAQ
    job = two.services.spawn(lambda: two.services.get(Campaigns).run_forever(every=0.05, remind_every=3600), "t")

    async def two_knows():
        return label(day(-5), day(20)) in ((await sender_two.ask("o-faq-2", QUESTION)).content or "")

    await wait_until(two_knows)
    job.cancel()
    assert (await delete(admin, f"{CAMPAIGNS}/{r.json['id']}")).status == 204
    reply = await sender_one.ask("o-faq-1", QUESTION)
    assert "全年开放" in reply.content and label(day(-5), day(20)) not in reply.content


# --- transfers freeze during a window that says so ----------------------------------------------


async def test_a_window_freezing_transfers_refuses_them_during_its_dates(server, approved_person, window, city):
    person, rec = await approved_person("mover")
    w = await window(day(-2), day(12), "refuse", freeze_transfers=True)
    r = await apply(person, "within", B)
    assert r.status == 409 and r.error_code == "transfer_frozen", r.text
    assert label(day(-2), day(12)) in r.json["error"]["message"]
    assert (await server.services.db["archives"].find_one({"_id": rec["archive_no"]}))["open_change"] is None
    rules = (await person.get(TRANSFERS)).json["rules"]
    assert rules["frozen"] and {"start": day(-2), "end": day(12), "label": label(day(-2), day(12))} in rules["freeze"]
    admin = await city()
    assert (await patch(admin, f"{CAMPAIGNS}/{w['id']}", {"freeze_transfers": False})).status == 200
    r = await apply(person, "within", B)
    assert r.status == 201, r.text
    assert (await person.get(TRANSFERS)).json["rules"]["frozen"] is None


# --- staff edit the windows -------------------------------------------------------------------------


async def test_staff_read_the_windows_and_only_a_city_admin_changes_them(server, staff_client, window, city):
    w = await window(day(-1), day(30), "mark_late", id="spring-2027", reminder_days=5)
    assert w["id"] == "spring-2027" and w["reminder_on"] == day(25) and w["created_by"] == "city"
    await server.services.get(StaffAccounts).ensure("rev-b", "reviewer", [B], PASSWORD)
    reviewer = await staff_client(server, "rev-b")
    listed = await reviewer.get(CAMPAIGNS)
    assert listed.status == 200 and [c["id"] for c in listed.json["campaigns"]] == ["spring-2027"]
    assert listed.json["can_edit"] is False and listed.json["current"]["open"]
    assert (await reviewer.get(f"{CAMPAIGNS}/spring-2027")).json["late_rule"] == "mark_late"
    body = {"title": "x", "start": day(40), "end": day(50), "late_rule": "refuse"}
    r = await reviewer.post(CAMPAIGNS, json=body)
    assert r.status == 403 and r.error_code == "campaign_admin_only"
    assert (await patch(reviewer, f"{CAMPAIGNS}/spring-2027", {"title": "y"})).status == 403
    assert (await delete(reviewer, f"{CAMPAIGNS}/spring-2027")).status == 403

    admin = await city()
    r = await admin.post(CAMPAIGNS, json={**body, "id": "spring-2027"})
    assert r.status == 409 and r.error_code == "campaign_exists"
    r = await patch(admin, f"{CAMPAIGNS}/spring-2027", {"title": "2027年春季采集", "version": 7})
    assert r.status == 409 and r.error_code == "campaign_changed"
    r = await patch(admin, f"{CAMPAIGNS}/spring-2027", {"title": " 2027年春季采集 ", "version": 1})
    assert r.status == 200 and r.json["title"] == "2027年春季采集" and r.json["version"] == 2
    assert (await delete(admin, f"{CAMPAIGNS}/spring-2027")).status == 204
    assert (await delete(admin, f"{CAMPAIGNS}/spring-2027")).error_code == "campaign_not_found"
    assert (await admin.get(f"{CAMPAIGNS}/spring-2027")).status == 404


async def test_bad_windows_get_field_level_422s(window, city):
    admin = await city()
    r = await admin.post(CAMPAIGNS, json={"start": "2027-02-30", "late_rule": "later", "reminder_days": True, "x": 1})
    assert r.status == 422, r.text
    fields = {(f["field"], f["code"]) for f in r.json["error"]["fields"]}
    assert fields == {
        ("x", "unknown_field"),
        ("title", "required"),
        ("end", "required"),
        ("start", "invalid_date"),
        ("late_rule", "invalid"),
        ("reminder_days", "invalid"),
    }
    r = await admin.post(CAMPAIGNS, json={"title": "t", "start": day(5), "end": day(1), "late_rule": "refuse"})
    assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "before_start"
    r = await admin.post(
        CAMPAIGNS, json={"title": "t", "start": day(1), "end": day(9), "late_rule": "refuse", "kinds": ["change"]}
    )
    assert r.status == 422 and r.json["error"]["fields"][0]["field"] == "kinds"
    first = await window(day(1), day(30), "refuse", title="上半年采集")
    r = await admin.post(CAMPAIGNS, json={"title": "t", "start": day(30), "end": day(60), "late_rule": "refuse"})
    assert r.status == 422 and r.error_code == "overlaps_window" and "上半年采集" in r.json["error"]["message"]
    r = await patch(admin, f"{CAMPAIGNS}/{first['id']}", {})
    assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "empty"
    r = await patch(admin, f"{CAMPAIGNS}/{first['id']}", {"end": day(0), "title": None})
    assert r.status == 422 and r.json["error"]["fields"] == [
        {"field": "title", "code": "required", "message": "请填写名称"}
    ]


# --- the reminder, once with two processes --------------------------------------------------------


async def test_the_pre_deadline_reminder_is_sent_once_with_two_processes(
    server, make_server, as_user, make_valid_record, window, city, fake_wechat
):
    two = await make_server()
    drafts = [await filled(as_user, make_valid_record, f"draft{i}", 10 + i) for i in range(3)]
    await as_user("nodistrict")  # a draft without a district is in no list: not reminded
    earlier = utcnow() - dt.timedelta(days=2)  # (so the returned one's rejection notice is due now too)
    returned = await insert_record(
        server.services, status="rejected", openid="demo-openid-returned", name="王小明", submitted_at=earlier
    )
    await insert_record(server.services, status="submitted", openid="demo-openid-waiting", name="王小明")
    w = await window(day(-20), day(3), "mark_late", reminder_days=7)
    campaigns = [server.services.get(Campaigns), two.services.get(Campaigns)]
    morning = dt.datetime.combine(today(), dt.time(10), CHINA)

    assert await campaigns[0].remind_once(morning.replace(hour=3)) == 0  # not at night
    queued = await asyncio.gather(*[c.remind_once(morning) for c in campaigns * 2])
    expected = sorted([d.openid for d in drafts] + [returned["openid"]])
    assert sum(queued) == 4, queued
    notices = [n async for n in server.services.db["notices"].find({"template": "collection_reminder"})]
    assert sorted(n["openid"] for n in notices) == expected
    assert all(day(3)[:4] + "年" in n["body"] for n in notices)

    senders = [server.services.get(NoticeSender), two.services.get(NoticeSender)]

    def reminders() -> list[str]:  # (the returned application's own rejection notice goes out too)
        return sorted(
            m["touser"] for m in fake_wechat.subscribe_messages if m["data"]["phrase2"]["value"] == "即将截止"
        )

    assert sum(await asyncio.gather(*[s.run_once() for s in senders * 3])) == 5
    assert reminders() == expected

    # later rounds, in either process, send nothing again
    assert sum(await asyncio.gather(*[c.remind_once(morning) for c in campaigns])) == 0
    assert sum(await asyncio.gather(*[s.run_once() for s in senders])) == 0
    assert reminders() == expected and len(fake_wechat.subscribe_messages) == 5
    admin = await city()
    shown = (await admin.get(f"{CAMPAIGNS}/{w['id']}")).json
    assert shown["reminded_at"] and shown["reminder"]["end"] == day(3) and shown["reminder"]["queued"] == 4

    # a new deadline is reminded once more (the person who submitted meanwhile is left out)
    r = await drafts[0].post(SUBMIT, json={"commitment": True})
    assert r.status == 200, r.text
    assert (await patch(admin, f"{CAMPAIGNS}/{w['id']}", {"end": day(4)})).status == 200
    assert sum(await asyncio.gather(*[c.remind_once(morning) for c in campaigns])) == 3


async def test_a_reminder_round_left_by_a_dead_process_is_taken_over(server, as_user, make_valid_record, window):
    await filled(as_user, make_valid_record, "orphan", 20)
    w = await window(day(-5), day(2), "refuse", reminder_days=3)
    coll = server.services.db["campaigns"]
    held = {"end": day(2), "owner": "live", "lease_until": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)}
    await coll.update_one({"_id": w["id"]}, {"$set": {"reminder": held}})
    campaigns = server.services.get(Campaigns)
    noon = dt.datetime.combine(today(), dt.time(12), CHINA)
    assert await campaigns.remind_once(noon) == 0  # another process is at it
    dead = {**held, "owner": "dead", "lease_until": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}
    await coll.update_one({"_id": w["id"]}, {"$set": {"reminder": dead}})
    assert await campaigns.remind_once(noon) == 1
    assert (await coll.find_one({"_id": w["id"]}))["reminder"]["done_at"] is not None


async def test_reminders_wait_while_the_sender_has_a_backlog_and_go_on_from_the_cursor(
    server, make_server, as_user, make_valid_record, window, fake_wechat, monkeypatch
):
    from server.campaigns import reminders

    monkeypatch.setattr(reminders, "BACKLOG_MAX", 0)  # pause as soon as one notice waits
    monkeypatch.setattr(reminders, "PAGE", 1)
    two = await make_server()
    people = [await filled(as_user, make_valid_record, f"backlog{i}", 30 + i) for i in range(3)]
    w = await window(day(-9), day(1), "refuse", reminder_days=2)
    campaigns = [server.services.get(Campaigns), two.services.get(Campaigns)]
    senders = [server.services.get(NoticeSender), two.services.get(NoticeSender)]
    noon = dt.datetime.combine(today(), dt.time(12), CHINA)
    coll = server.services.db["campaigns"]
    rounds = 0
    while not ((await coll.find_one({"_id": w["id"]})).get("reminder") or {}).get("done_at"):
        rounds += 1
        assert rounds < 10
        assert sum(await asyncio.gather(*[c.remind_once(noon) for c in campaigns])) <= 1  # one page, then a pause
        await asyncio.gather(*[s.run_once() for s in senders])
    assert rounds >= 3
    assert sorted(m["touser"] for m in fake_wechat.subscribe_messages) == sorted(p.openid for p in people)
