"""Standing (正常 / 异动) from the facts over real HTTP and the real database: 3 consecutive
incomplete years make a person 异动 with those years named, a late import restores them, each
change of standing is one notice (inbox and subscribe message), the person and the chat see it,
and the nightly run is one run across processes (a lease)."""

from __future__ import annotations

import asyncio
import datetime as dt

from server.duties.runner import NIGHTLY, RUNS, StandingService
from server.notify.sender import NoticeSender
from tests.credits.conftest import DUTIES, IMPORTS, MESSAGES, city_admin, row, upload_file, xlsx

THIS_YEAR = dt.date.today().year


def standing_notices(inbox: dict) -> list[dict]:
    return [m for m in inbox["messages"] if m["kind"] == "standing_changed"]


async def test_three_consecutive_incomplete_years_make_a_person_abnormal_and_a_late_import_restores_them(
    server, person, staff_client, fake_wechat
):
    s = server.services
    y0 = THIS_YEAR - 4  # first counted year (qualified the year before); y0+1..y0+3 ended, incomplete
    client, rec = await person("st-abn", qualified=y0 - 1)
    admin = await city_admin(server, staff_client)
    first = await upload_file(admin, IMPORTS, xlsx([row(rec, y0, 60), row(rec, y0, 30, "公需科目", course="职业道德")]))
    assert first.status == 201, first.text
    # the first import is a change of fact: the rules ran for this archive
    stored = await s.db["standings"].find_one({"_id": rec["archive_no"]})
    assert stored["standing"] == "abnormal" and stored["standing_label"] == "异动", stored
    assert stored["abnormal_years"] == [y0 + 1, y0 + 2, y0 + 3] == stored["incomplete_years"]
    assert stored["first_year"] == y0 and stored["region_code"] == rec["region_code"]
    assert [y["year"] for y in stored["years"]] == list(range(y0, THIS_YEAR + 1))
    assert stored["years"][0]["complete"] is True and stored["years"][-1]["in_progress"] is True

    duties = (await client.get(DUTIES)).json
    assert duties["standing"] == "abnormal" and duties["abnormal_years"] == [y0 + 1, y0 + 2, y0 + 3]
    named = f"{y0 + 1}、{y0 + 2}、{y0 + 3}"
    assert named in duties["reason"] and any(named in line for line in duties["what_to_do"])
    last_year = next(y for y in duties["years"] if y["year"] == y0 + 3)
    assert last_year["missing_total"] == 90 and last_year["missing_professional"] == 60

    inbox = (await client.get(MESSAGES)).json
    notices = standing_notices(inbox)
    assert len(notices) == 1 and "异动" in notices[0]["body"] and named in notices[0]["body"], inbox
    # computing again (a change elsewhere, the nightly run) does not notify twice
    assert await s.get(StandingService).recompute([rec["archive_no"]]) == 0
    report = await s.get(StandingService).nightly(force=True)
    assert report is not None and report["archives"] >= 1
    assert len(standing_notices((await client.get(MESSAGES)).json)) == 1
    await s.get(NoticeSender).run_once()
    sent = [m for m in fake_wechat.subscribe_messages if m.get("touser") == rec["openid"]]
    sent = [m for m in sent if m["data"]["phrase2"]["value"] == "状态变更"]
    assert len(sent) == 1, fake_wechat.subscribe_messages

    # a late import for the middle year: no run of 3 any more, 2 incomplete years in all -> normal
    late = await upload_file(admin, IMPORTS, xlsx([row(rec, y0 + 2, 70), row(rec, y0 + 2, 20, "公需", course="法规")]))
    assert late.status == 201, late.text
    stored = await s.db["standings"].find_one({"_id": rec["archive_no"]})
    assert stored["standing"] == "normal" and stored["incomplete_years"] == [y0 + 1, y0 + 3]
    assert stored["abnormal_years"] == [] and stored["changes"] == 2
    duties = (await client.get(DUTIES)).json
    assert duties["standing"] == "normal" and duties["standing_label"] == "正常"
    notices = standing_notices((await client.get(MESSAGES)).json)
    assert len(notices) == 2 and "正常" in notices[0]["body"]

    # undo the late import: 异动 again (one more notice)
    r = await admin.post(f"{IMPORTS}/{late.json['id']}/undo")
    assert r.status == 200, r.text
    assert (await s.db["standings"].find_one({"_id": rec["archive_no"]}))["standing"] == "abnormal"
    assert len(standing_notices((await client.get(MESSAGES)).json)) == 3


async def test_four_cumulative_incomplete_years_are_abnormal_too(server, person, staff_client):
    y0 = THIS_YEAR - 7  # y0..THIS_YEAR-1: 7 ended years; complete 3 of them alternately
    client, rec = await person("st-cum", qualified=y0 - 1)
    admin = await city_admin(server, staff_client)
    rows = [row(rec, y, 90, course=f"课程{y}") for y in (y0 + 1, y0 + 3, y0 + 5)]
    assert (await upload_file(admin, IMPORTS, xlsx(rows))).status == 201
    duties = (await client.get(DUTIES)).json
    assert duties["standing"] == "abnormal"
    assert duties["abnormal_years"] == [y0, y0 + 2, y0 + 4, y0 + 6] and "累计" in duties["reason"]


async def test_the_person_without_an_archive_cannot_have_duties(server, as_user):
    client = await as_user("st-draft")
    r = await client.get(DUTIES)
    assert r.status == 200 and r.json["archived"] is False and "信息采集" in r.json["reason"], r.text
    assert (await client.get(DUTIES, token="nope")).status == 401


async def test_two_processes_nightly_runs_are_one_run(server, make_server, person):
    _, rec = await person("st-lease")
    other = await make_server()
    a, b = server.services.get(StandingService), other.services.get(StandingService)
    db = server.services.db
    assert await a.nightly() is None  # not due: the first run is set for the next night
    state = await db[RUNS].find_one({"_id": NIGHTLY})
    assert state["next_at"] > dt.datetime.now(dt.UTC) and state["runs"] == 0
    await db[RUNS].update_one({"_id": NIGHTLY}, {"$set": {"next_at": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)}})
    reports = await asyncio.gather(a.nightly(), b.nightly(), a.nightly(), b.nightly())
    done = [r for r in reports if r is not None]
    assert len(done) == 1 and done[0]["archives"] >= 1, reports
    state = await db[RUNS].find_one({"_id": NIGHTLY})
    assert state["runs"] == 1 and state["lease_owner"] is None and state["next_at"] > dt.datetime.now(dt.UTC)
    assert await db["standings"].find_one({"_id": rec["archive_no"]}) is not None
    assert await asyncio.gather(a.nightly(), b.nightly()) == [None, None]  # done for tonight


async def test_two_years_without_assessment_make_a_person_not_in_post_by_the_assessments_rule(
    make_server, person, staff_client
):
    srv = await make_server(assessment_first_year=THIS_YEAR - 2)
    s = srv.services
    client, rec = await person("st-nip", qualified=THIS_YEAR - 1, running=srv)  # no credit year ended yet
    rev = await city_admin(srv, staff_client, "ce-nip")
    r = await rev.post(
        "/admin/api/ce-credits",
        json={"archive_no": rec["archive_no"], "year": THIS_YEAR, "credits": 10, "type": "general", "course": "x"},
    )
    assert r.status == 201, r.text
    assert r.json["standing"] == "not_in_post" and r.json["missing_assessment_years"] == [THIS_YEAR - 2, THIS_YEAR - 1]
    stored = await s.db["standings"].find_one({"_id": rec["archive_no"]})
    assert stored["standing"] == "not_in_post" and stored["standing_label"] == "非在岗"
    duties = (await client.get(DUTIES)).json
    assert f"{THIS_YEAR - 2}、{THIS_YEAR - 1}年度没有年度考评信息" in duties["reason"]
    assert any("年度考评" in line for line in duties["what_to_do"])
    assert len(standing_notices((await client.get(MESSAGES)).json)) == 1
    # the facts change (here: the work history shows no current post any more): still 非在岗, no new notice
    await s.db["archives"].update_one({"_id": rec["archive_no"]}, {"$set": {"data.work_history.0.to": "2020-01-01"}})
    await s.get(StandingService).recompute([rec["archive_no"]])
    assert (await client.get(DUTIES)).json["reason"] == "没有当前的会计工作单位，为非在岗人员"
    assert len(standing_notices((await client.get(MESSAGES)).json)) == 1
