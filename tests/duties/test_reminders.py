"""Continuing-education reminders: in the scheduled months, people whose year's credits are missing
get one reminder a month (subscribe message and inbox), however many processes run the job."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from server.duties.reminders import CLAIMS, ROUNDS, CeReminders, claim_id, notice_id
from server.notify.sender import NoticeSender
from server.notify.template import CHINA
from settings import Settings, SettingsError
from tests.admin.conftest import A, B
from tests.duties.duty_data import approved, standing_of
from tests.miniprogram.conftest import as_user  # noqa: F401

YEAR = 2026
OCT = dt.datetime(YEAR, 10, 3, 10, 0, tzinfo=CHINA)
NOV = dt.datetime(YEAR, 11, 1, 9, 5, tzinfo=CHINA)
MESSAGES = "/api/v1/me/messages"


def reminded(fake_wechat) -> list[str]:
    return sorted(m["touser"] for m in fake_wechat.subscribe_messages if m["data"]["phrase2"]["value"] == "学分未满")


@pytest.fixture
async def people(server):
    """Two people missing credits this year (districts A and B), one complete, one without an archive."""
    s = server.services
    short = await approved(s, "demo-openid-ce-short", A, "李学分")
    prof = await approved(s, "demo-openid-ce-prof", B, "赵专业")
    done = await approved(s, "demo-openid-ce-done", A)
    await standing_of(s, short, {YEAR - 1: 90, YEAR: 12})
    await standing_of(s, prof, {YEAR: (95, 40)})  # enough credits, too few professional ones
    await standing_of(s, done, {YEAR: 96})
    return {"short": short, "prof": prof, "done": done}


async def test_two_senders_send_one_reminder_per_person_and_month(server, make_server, people, fake_wechat):
    two = await make_server()
    jobs = [server.services.get(CeReminders), two.services.get(CeReminders)]
    senders = [server.services.get(NoticeSender), two.services.get(NoticeSender)]
    expected = sorted(["demo-openid-ce-short", "demo-openid-ce-prof"])
    while await senders[0].run_once():  # (the approvals' and standings' own notices)
        pass
    before = len(fake_wechat.subscribe_messages)

    assert await jobs[0].remind_once(OCT.replace(hour=3)) == 0  # not at night
    assert await jobs[0].remind_once(dt.datetime(YEAR, 9, 30, 10, tzinfo=CHINA)) == 0  # not a scheduled month
    queued = await asyncio.gather(*[j.remind_once(OCT) for j in jobs * 3])
    assert sum(queued) == 2, queued
    notices = [n async for n in server.services.db["notices"].find({"template": "ce_reminder"})]
    assert sorted(n["openid"] for n in notices) == expected
    short = next(n for n in notices if n["openid"] == "demo-openid-ce-short")
    assert short["body"].startswith(f"您{YEAR}年度继续教育已取得12学分，还差78学分（其中专业科目还差52学分）。")
    prof = next(n for n in notices if n["openid"] == "demo-openid-ce-prof")
    assert "还差0学分（其中专业科目还差20学分）" in prof["body"]

    assert sum(await asyncio.gather(*[s.run_once() for s in senders * 3])) == 2
    assert reminded(fake_wechat) == expected and len(fake_wechat.subscribe_messages) == before + 2

    # later the same month, in either process: nothing again
    later = OCT + dt.timedelta(days=20)
    assert sum(await asyncio.gather(*[j.remind_once(later) for j in jobs])) == 0
    assert sum(await asyncio.gather(*[s.run_once() for s in senders])) == 0
    assert reminded(fake_wechat) == expected
    claims = [c async for c in server.services.db[CLAIMS].find({})]
    assert sorted(c["_id"] for c in claims) == sorted(
        claim_id(people[k]["archive_no"], f"{YEAR}-10") for k in ("short", "prof")
    )
    assert {c["state"] for c in claims} == {"queued"}

    # the next month: one more each (a new notice), still once across processes
    assert sum(await asyncio.gather(*[j.remind_once(NOV) for j in jobs * 2])) == 2
    assert sum(await asyncio.gather(*[s.run_once() for s in senders * 2])) == 2
    assert reminded(fake_wechat) == sorted(expected * 2)
    rounds = {r["_id"]: r async for r in server.services.db[ROUNDS].find({})}
    assert set(rounds) == {f"{YEAR}-10", f"{YEAR}-11"} and all(r["done_at"] for r in rounds.values())
    assert rounds[f"{YEAR}-10"]["queued"] == 2


async def test_the_inbox_always_has_the_reminder(server, people, as_user, fake_wechat):  # noqa: F811
    fake_wechat.fail_next("/cgi-bin/message/subscribe/send", errcode=43101, times=5)  # no subscription left
    assert await server.services.get(CeReminders).remind_once(OCT) == 2
    await server.services.get(NoticeSender).run_once()
    assert reminded(fake_wechat) == []
    person = await as_user("ce-short")
    inbox = (await person.get(MESSAGES)).json
    message = next(m for m in inbox["messages"] if m["kind"] == "ce_reminder")
    assert message["id"] == notice_id(people["short"]["archive_no"], f"{YEAR}-10")
    assert message["title"] == "继续教育学分尚未完成" and "还差78学分" in message["body"] and not message["read"]
    r = await person.post(f"{MESSAGES}/{message['id']}/read")
    assert r.status == 200 and r.json["read"] is True
    other = await as_user("ce-done")  # complete: no reminder, and not someone else's
    assert not [m for m in (await other.get(MESSAGES)).json["messages"] if m["kind"] == "ce_reminder"]
    assert (await other.post(f"{MESSAGES}/{message['id']}/read")).status == 404


async def test_a_round_left_by_a_dead_process_is_finished_once(server, people, fake_wechat):
    s = server.services
    month = f"{YEAR}-10"
    short = people["short"]["archive_no"]
    gone = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    # a process claimed one reminder, then died before queuing it; its round's lease ran out
    await s.db[ROUNDS].insert_one(
        {"_id": month, "lease_owner": "dead", "lease_until": gone, "next_at": gone, "queued": 0, "cursor": None}
    )
    await s.db[CLAIMS].insert_one(
        {
            "_id": claim_id(short, month),
            "archive_no": short,
            "month": month,
            "state": "claimed",
            "owner": "dead",
            "claimed_at": gone,
        }
    )
    live = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    await s.db[ROUNDS].update_one({"_id": month}, {"$set": {"lease_owner": "alive", "lease_until": live}})
    assert await s.get(CeReminders).remind_once(OCT) == 0  # another process is at it
    await s.db[ROUNDS].update_one({"_id": month}, {"$set": {"lease_owner": "dead", "lease_until": gone}})
    assert await s.get(CeReminders).remind_once(OCT) == 2  # the dead one's claim is taken over
    while await s.get(NoticeSender).run_once():
        pass
    assert reminded(fake_wechat) == sorted(["demo-openid-ce-short", "demo-openid-ce-prof"])
    assert (await s.db[CLAIMS].find_one({"_id": claim_id(short, month)}))["state"] == "queued"


async def test_a_round_pauses_while_the_sender_has_a_backlog(server, make_server, people, fake_wechat, monkeypatch):
    from server.duties import reminders

    monkeypatch.setattr(reminders, "BACKLOG_MAX", 0)
    monkeypatch.setattr(reminders, "PAGE", 1)
    two = await make_server()
    jobs = [server.services.get(CeReminders), two.services.get(CeReminders)]
    senders = [server.services.get(NoticeSender), two.services.get(NoticeSender)]
    rounds = 0
    while not ((await server.services.db[ROUNDS].find_one({"_id": f"{YEAR}-10"})) or {}).get("done_at"):
        rounds += 1
        assert rounds < 8
        assert sum(await asyncio.gather(*[j.remind_once(OCT) for j in jobs])) <= 1
        while sum(await asyncio.gather(*[s.run_once() for s in senders])):
            pass
    assert rounds >= 2
    assert reminded(fake_wechat) == sorted(["demo-openid-ce-short", "demo-openid-ce-prof"])


def test_the_schedule_setting_is_parsed_and_checked():
    assert Settings.from_env({}).ce_reminder_days == ((10, 1), (11, 1), (12, 1))
    assert Settings.from_env({"CE_REMINDER_SCHEDULE": "12-15, 11"}).ce_reminder_days == ((11, 1), (12, 15))
    assert Settings.from_env({"CE_REMINDER_SCHEDULE": "off"}).ce_reminder_days == ()
    for bad in ("13", "10,10", "10-31", "oct", "10-x", "0"):
        with pytest.raises(SettingsError, match="CE_REMINDER_SCHEDULE"):
            Settings.from_env({"CE_REMINDER_SCHEDULE": bad})


async def test_the_schedule_decides_the_month(make_server):
    running = await make_server(ce_reminder_schedule="11-15")
    job = running.services.get(CeReminders)
    assert job.due_month(dt.datetime(YEAR, 11, 14, 12, tzinfo=CHINA)) is None
    assert job.due_month(dt.datetime(YEAR, 11, 15, 12, tzinfo=CHINA)) == f"{YEAR}-11"
    assert job.due_month(dt.datetime(YEAR, 10, 15, 12, tzinfo=CHINA)) is None
