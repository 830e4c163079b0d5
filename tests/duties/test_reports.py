"""Compliance reports through real HTTP: counts per district and year from the summary built in one
pass, the people behind a count (masked, paged), the Excel file, and who sees what."""

from __future__ import annotations

import asyncio
import io

import openpyxl
import pytest

from server.duties.credits import CreditStore
from server.duties.reports import ComplianceReports, list_name
from server.duties.runner import StandingService
from server.masking import mask_id_number
from tests.admin.conftest import A, B, add_staff, staff_client  # noqa: F401
from tests.duties.duty_data import approved, standing_of

REPORT = "/admin/api/compliance"
PEOPLE = "/admin/api/compliance/people"
EXPORT = "/admin/api/compliance/export.xlsx"
REBUILD = "/admin/api/compliance/rebuild"


@pytest.fixture
async def city_data(server, staff_client):  # noqa: F811
    """District A: 3 people (2024: 2 complete; 2025: 1 complete; one 异动), district B: 2 (one 非在岗)."""
    s = server.services
    people = {}
    for key, region, name in (
        ("a1", A, "陈一"),
        ("a2", A, "陈二"),
        ("a3", A, "刘䶮"),
        ("b1", B, "林一"),
        ("b2", B, "林二"),
    ):
        people[key] = await approved(s, f"demo-openid-rep-{key}", region, name)
    await standing_of(s, people["a1"], {2024: 90, 2025: 92})
    await standing_of(s, people["a2"], {2024: 91, 2025: 10})
    a3 = await standing_of(s, people["a3"], {2023: 0, 2024: 0, 2025: 0})
    assert a3["standing"] == "abnormal" and a3["abnormal_years"] == [2023, 2024, 2025]
    b1 = await standing_of(s, people["b1"], {2025: 100}, not_in_post=True)
    assert b1["standing"] == "not_in_post"
    await standing_of(s, people["b2"], {2025: 30})
    await add_staff(s, "rev-a", regions=[A])
    await add_staff(s, "rev-b", regions=[B])
    await add_staff(s, "city", role="city_admin", regions=[])
    assert await s.get(ComplianceReports).rebuild(force=True)
    return {
        "people": people,
        "a": await staff_client(server, "rev-a"),
        "b": await staff_client(server, "rev-b"),
        "city": await staff_client(server, "city"),
    }


async def test_counts_per_district_and_year_within_the_callers_districts(city_data):
    city = (await city_data["city"].get(f"{REPORT}?year=2025")).json
    rows = {d["region_code"]: d for d in city["districts"]}
    assert {k: rows[A][k] for k in ("complete", "incomplete", "abnormal", "not_in_post", "people", "total")} == {
        "complete": 1,
        "incomplete": 2,
        "abnormal": 1,
        "not_in_post": 0,
        "people": 3,
        "total": 3,
    }
    assert {k: rows[B][k] for k in ("complete", "incomplete", "abnormal", "not_in_post", "people")} == {
        "complete": 1,
        "incomplete": 1,
        "abnormal": 0,
        "not_in_post": 1,
        "people": 2,
    }
    assert city["totals"]["complete"] == 2 and city["totals"]["people"] == 5 and city["totals"]["rate"] == 0.4
    assert city["built_at"] and city["year"] == 2025 and 2024 in city["years"]
    per_year = {y["year"]: (y["complete"], y["incomplete"]) for y in city["per_year"]}
    assert {y: per_year[y] for y in (2017, 2022, 2023, 2024, 2025)} == {
        2017: (5, 0),
        2022: (5, 0),
        2023: (4, 1),
        2024: (4, 1),
        2025: (2, 3),
    }
    this_year = city["current_year"]
    assert per_year[this_year] == (0, 5) and city["per_year"][-1]["in_progress"] is True  # nobody done yet

    mine = (await city_data["a"].get(f"{REPORT}?year=2024")).json  # a reviewer: their district only
    assert [d["region_code"] for d in mine["districts"]] == [A]
    assert (mine["districts"][0]["complete"], mine["districts"][0]["incomplete"]) == (2, 1)
    assert [(y["complete"], y["incomplete"]) for y in mine["per_year"] if y["year"] == 2025] == [(1, 2)]
    theirs = (await city_data["b"].get(f"{REPORT}?year=2025")).json
    assert [d["region_code"] for d in theirs["districts"]] == [B]
    assert [(y["complete"], y["incomplete"]) for y in theirs["per_year"] if y["year"] == 2025] == [(1, 1)]


async def test_drill_down_to_people_masked_and_paged(city_data):
    a, people = city_data["a"], city_data["people"]
    r = await a.get(f"{PEOPLE}?region={A}&year=2025&category=incomplete&page_size=1")
    assert r.status == 200, r.text
    first = r.json
    assert first["total"] == 2 and len(first["items"]) == 1 and first["category_label"] == "未完成"
    second = (await a.get(f"{PEOPLE}?region={A}&year=2025&category=incomplete&page_size=1&page=2")).json
    items = first["items"] + second["items"]
    wanted = sorted([people["a2"]["archive_no"], people["a3"]["archive_no"]])
    assert [i["archive_no"] for i in items] == [mask_id_number(n) for n in wanted]
    assert all(n not in r.text for n in wanted)  # no full ID number in the answer
    by_name = {i["name"]: i for i in items}
    assert set(by_name) == {"陈二", "刘䶮"}
    assert by_name["陈二"]["credits_total"] == 10 and by_name["陈二"]["credits_professional"] == 6.7
    assert by_name["陈二"]["required_total"] == 90
    assert by_name["刘䶮"]["standing_label"] == "异动" and by_name["刘䶮"]["incomplete_years"] == [2023, 2024, 2025]
    assert by_name["陈二"]["record_id"] == str(people["a2"]["_id"])
    abnormal = (await a.get(f"{PEOPLE}?region={A}&category=abnormal")).json
    assert [i["name"] for i in abnormal["items"]] == ["刘䶮"]

    # every district of the caller when none is named; a city admin sees both
    city = (await city_data["city"].get(f"{PEOPLE}?year=2025&category=complete")).json
    assert sorted(i["name"] for i in city["items"]) == ["林一", "陈一"]

    # someone else's district is not found; bad input is a clear 400 and changes nothing
    r = await a.get(f"{PEOPLE}?region={B}&year=2025&category=complete")
    assert r.status == 404 and r.error_code == "district_not_found"
    for query, code in (
        ("category=everyone", "invalid_category"),
        ("category=complete&year=19x", "invalid_year"),
        ("category=complete&year=1999", "invalid_year"),
        ("category=complete&page=0", "invalid_argument"),
        ("category=complete&page_size=1000", "invalid_argument"),
    ):
        r = await a.get(f"{PEOPLE}?{query}")
        assert r.status == 400 and r.error_code == code and r.json["error"]["message"], (query, r.text)


async def test_export_as_excel(city_data):
    people = city_data["people"]
    r = await city_data["city"].get(f"{EXPORT}?year=2025")
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert r.headers["X-Record-Count"] == "5"
    book = openpyxl.load_workbook(io.BytesIO(r.body), read_only=True)
    assert book.sheetnames == ["合规统计", "人员明细"]
    summary = [list(row) for row in book["合规统计"].iter_rows(values_only=True)]
    assert summary[0][:5] == ["所在区", "年度", "应参加人数", "已完成", "未完成"]
    assert summary[-1][:5] == ["合计", 2025, 5, 2, 3] and summary[-1][5] == "40.0%"
    rows = [list(row) for row in book["人员明细"].iter_rows(values_only=True)][1:]
    assert sorted(row[1] for row in rows) == sorted(p["archive_no"] for p in people.values())
    a2 = next(row for row in rows if row[2] == "陈二")
    assert a2[4:10] == [2025, 10, 6.7, 90, "未完成", "正常"]
    a3 = next(row for row in rows if row[2] == "刘䶮")
    assert a3[9:11] == ["异动", "2023、2024、2025"]

    mine = await city_data["b"].get(f"{EXPORT}?year=2025")  # a reviewer: their district only
    rows = [
        list(row) for row in openpyxl.load_workbook(io.BytesIO(mine.body)).worksheets[1].iter_rows(values_only=True)
    ]
    assert sorted(row[2] for row in rows[1:]) == ["林一", "林二"]
    assert (await city_data["b"].get(f"{EXPORT}?year=2025&region={A}")).status == 404


async def test_the_summary_follows_the_standings_in_one_pass_by_one_process(server, make_server, city_data):
    s = server.services
    people = city_data["people"]
    late = [{"key": "late-2025", "year": 2025, "credits": 85, "type": "professional", "source": "import", "by": "t"}]
    await s.get(CreditStore).add(people["a2"]["archive_no"], late)  # a late import completes 2025
    await s.get(StandingService).recompute([people["a2"]["archive_no"]])
    for key in ("b1", "b2"):  # B's people moved away (transfer out: no standing any more)
        await s.db["standings"].delete_one({"_id": people[key]["archive_no"]})
    two = await make_server()
    built = await asyncio.gather(
        s.get(ComplianceReports).rebuild(force=True), two.services.get(ComplianceReports).rebuild(force=True)
    )
    assert sum(b is not None for b in built) == 1  # one pass at a time
    report = (await city_data["city"].get(f"{REPORT}?year=2025")).json
    rows = {d["region_code"]: d for d in report["districts"]}
    assert (rows[A]["complete"], rows[A]["incomplete"]) == (2, 1)
    assert rows[B]["people"] == 0 and rows[B]["not_in_post"] == 0
    assert await s.db["lists"].find_one({"_id": list_name(B, "not_in_post")}) is None  # its lists are gone
    done = (await city_data["city"].get(f"{PEOPLE}?region={B}&year=2025&category=complete")).json
    assert done["total"] == 0 and done["items"] == []
    # not due again at once (REFRESH), unless asked, or after the nightly standing run
    reports = s.get(ComplianceReports)
    assert await reports.rebuild() is None
    await reports.stale()
    assert await reports.rebuild() is not None
    await reports._after_standing_run()
    assert await reports.rebuild() is None
    assert await s.get(StandingService).nightly(force=True)
    await reports._after_standing_run()
    assert await reports.rebuild() is not None


async def test_a_city_admin_asks_for_a_new_count(city_data, server):
    r = await city_data["a"].post(REBUILD)
    assert r.status == 403 and r.error_code == "compliance_admin_only"
    before = (await city_data["city"].get(REPORT)).json["built_at"]
    r = await city_data["city"].post(REBUILD)
    assert r.status == 202 and r.json["building"] is True
    for _ in range(100):
        await asyncio.sleep(0.05)
        now = (await city_data["city"].get(REPORT)).json
        if now["built_at"] != before and not now["building"]:
            break
    else:
        raise AssertionError("the new count did not finish")
