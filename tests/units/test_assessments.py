"""Annual assessment (年度考评) over real HTTP and the real database, with real .xlsx files: a sheet
with bad rows is previewed with each row's error and writes nothing until confirmed; a second upload
of the same sheet changes nothing; the template lists the unit's confirmed people; one-by-one
results; the person sees their assessments and the standing they imply (two consecutive years
without one: 非在岗); staff see them on the archive; another unit's administrator gets 404. And the
rule itself, a pure function."""

from __future__ import annotations

import datetime as dt
import io
import os

import aiohttp
import pytest
from openpyxl import Workbook, load_workbook

from server.units.assessments_rules import Period, assessment_standing, periods_of
from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM
from tests.units.conftest import APPS, approve, person_of_unit, unit_reviewer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEAD = ["证件号码", "姓名", "考评年度", "考评结果", "评语"]


def sheet(rows: list[list], head: list[str] | None = None) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(head or HEAD)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload_form(data: bytes, filename: str = "kp.xlsx", ctype: str = XLSX) -> aiohttp.FormData:
    fd = aiohttp.FormData()
    fd.add_field("file", data, filename=filename, content_type=ctype)
    return fd


async def confirmed(server, admin, uscc, names: list[str], login: str) -> list[dict]:
    """People naming the unit, each confirmed by its administrator over HTTP."""
    out = []
    for i, name in enumerate(names):
        rec = await person_of_unit(server, uscc, name=name, login=f"{login}{i}")
        r = await admin.post(f"/api/v1/unit/{uscc}/people/{rec['_id']}/confirm")
        assert r.status == 200, r.text
        out.append(rec)
    return out


def number(rec: dict) -> str:
    return rec["profile"]["id_number"]


async def test_a_sheet_is_previewed_with_row_errors_and_written_only_once_confirmed(
    server, make_unit_admin, as_user, staff_client
):
    admin, uscc = await make_unit_admin("as-admin")
    other, other_uscc = await make_unit_admin("as-other")
    a, b, c = await confirmed(server, admin, uscc, ["王小明", "李小红", "陈大文"], "as-p")
    pending = await person_of_unit(server, uscc, name="周未确认", login="as-pending")  # not confirmed
    elsewhere = await person_of_unit(server, other_uscc, name="吴别家", login="as-else")
    rows = [
        [number(a), "王小明", 2025, "合格", ""],  # row 2: new
        [number(b), "李小紅", "2025年", "基本合格", "按时完成"],  # row 3: traditional name, year as text
        [number(c), "陳大文", 2025, "不合格", "差错较多"],  # row 4
        [number(pending), "周未确认", 2025, "合格", ""],  # row 5: not confirmed
        [number(elsewhere), "吴别家", 2025, "合格", ""],  # row 6: another unit's person
        [number(a), "王大明", 2026, "合格", ""],  # row 7: name mismatch
        [number(c), "陈大文", 2026, "优秀", ""],  # row 8: bad result
        [number(b), "李小红", 1999, "合格", ""],  # row 9: bad year
        [number(b), "李小红", 2026, "合格", ""],  # row 10: duplicate of row 11
        [number(b), "李小红", 2026, "基本合格", ""],  # row 11
        [int(number(a)[:-1]) if number(a)[-1].isdigit() else None, "王小明", 2025, "合格", ""],  # row 12: a number
    ]
    data = sheet(rows)
    r = await admin.post(f"/api/v1/unit/{uscc}/assessments/uploads", data=upload_form(data))
    assert r.status == 201, r.text
    preview = r.json
    assert preview["counts"] == {"rows": 11, "new": 3, "changed": 0, "unchanged": 0, "error": 8}, preview["counts"]
    codes = {e["row"]: {x["code"] for x in e["errors"]} for e in preview["errors"]}
    assert codes[5] == {"not_confirmed"} and codes[6] == {"unknown_person"} and codes[7] == {"name_mismatch"}
    assert codes[8] == {"result_invalid"} and codes[9] == {"year_invalid"}
    assert codes[10] == codes[11] == {"duplicate_row"} and "id_number_not_text" in codes[12]
    assert all("*" in e["id_number"] or not e["id_number"] for e in preview["errors"])  # masked in the preview
    assert {x["row"] for x in preview["changes"]} == {2, 3, 4}

    # nothing is written before the confirmation
    year = (await admin.get(f"/api/v1/unit/{uscc}/assessments/2025")).json
    assert year["recorded"] == 0 and all(i["result"] is None for i in year["items"])
    person_a = await as_user("as-p0")
    assert (await person_a.get("/api/v1/me/assessments")).json["assessments"] == []
    r = await admin.post(f"/api/v1/unit/{uscc}/assessments/uploads/{preview['id']}/confirm", json={})
    assert r.status == 409 and r.error_code == "sheet_has_errors"
    assert (await admin.get(f"/api/v1/unit/{uscc}/assessments/2025")).json["recorded"] == 0
    # another unit cannot confirm it
    r = await other.post(
        f"/api/v1/unit/{other_uscc}/assessments/uploads/{preview['id']}/confirm", json={"skip_errors": True}
    )
    assert r.status == 404

    r = await admin.post(f"/api/v1/unit/{uscc}/assessments/uploads/{preview['id']}/confirm", json={"skip_errors": True})
    assert r.status == 200, r.text
    assert r.json["result"]["written"] == 3 and r.json["result"]["skipped_errors"] == 8
    again = await admin.post(
        f"/api/v1/unit/{uscc}/assessments/uploads/{preview['id']}/confirm", json={"skip_errors": True}
    )
    assert again.status == 200 and again.json["result"] == r.json["result"]
    year = (await admin.get(f"/api/v1/unit/{uscc}/assessments/2025?page_size=10")).json
    assert year["recorded"] == 3 and year["total"] == 3
    assert {i["name"]: i["result"] for i in year["items"]} == {
        "王小明": "qualified",
        "李小红": "basically_qualified",
        "陈大文": "unqualified",
    }

    # the person sees theirs
    mine = (await person_a.get("/api/v1/me/assessments")).json
    assert [(x["year"], x["result_label"], x["unit_credit_code"]) for x in mine["assessments"]] == [
        (2025, "合格", uscc)
    ]

    # the same sheet again: every good row unchanged, confirming writes nothing
    r = await admin.post(f"/api/v1/unit/{uscc}/assessments/uploads", data=upload_form(data))
    assert r.json["counts"] == {"rows": 11, "new": 0, "changed": 0, "unchanged": 3, "error": 8}, r.json["counts"]
    done = await admin.post(
        f"/api/v1/unit/{uscc}/assessments/uploads/{r.json['id']}/confirm", json={"skip_errors": True}
    )
    assert done.json["result"]["written"] == 0 and done.json["result"]["unchanged"] == 3
    stamps = (await person_a.get("/api/v1/me/assessments")).json["assessments"]
    assert stamps == mine["assessments"]  # not rewritten (same recorded_at)

    # the template: the confirmed people, their 2025 result, ID numbers masked; sent back as is: unchanged
    r = await admin.get(f"/api/v1/unit/{uscc}/assessments/2025/template.xlsx")
    assert r.status == 200 and r.headers["Content-Type"].startswith(XLSX)
    ws = load_workbook(io.BytesIO(r.body)).active
    got = list(ws.iter_rows(values_only=True))
    assert got[0][:4] == ("证件号码", "姓名", "考评年度", "考评结果")
    assert sorted(x[1] for x in got[1:]) == sorted(["王小明", "李小红", "陈大文"])
    assert all("*" in x[0] and x[2] == 2025 for x in got[1:])
    assert {x[1]: x[3] for x in got[1:]}["陈大文"] == "不合格"
    r = await admin.post(f"/api/v1/unit/{uscc}/assessments/uploads", data=upload_form(r.body))
    assert r.json["counts"]["unchanged"] == 3 and r.json["counts"]["error"] == 0, r.json

    # another unit's administrator: 404 for the person, 403 on this unit's paths
    r = await other.request(
        "PUT", f"/api/v1/unit/{other_uscc}/assessments/2025/people/{a['_id']}", json={"result": "合格"}
    )
    assert r.status == 404 and r.error_code == "person_not_found"
    assert (await other.get(f"/api/v1/unit/{uscc}/assessments/2025")).status == 403

    # staff see them on the archive's detail
    rev = await unit_reviewer(server, staff_client)
    detail = (await rev.get(f"{APPS}/{a['_id']}")).json
    assert [x["year"] for x in detail["assessments"]["assessments"]] == [2025]
    assert detail["assessments"]["standing"]["label"] in ("在岗", "非在岗")


async def test_one_by_one_and_the_standing_two_missing_years_make_non_in_post(
    make_server, make_unit_admin, as_user, http_factory, staff_client
):
    running = await make_server(assessment_first_year=2024)
    admin, uscc = await make_unit_admin("one-admin", running=running)
    rec = await person_of_unit(running, uscc, name="林一一", login="one-p")
    r = await approve(await unit_reviewer(running, staff_client), rec["_id"])  # an archive: duties apply
    assert r.status == 200, r.text
    person = await as_user("one-p", running)
    standings = running.services.db["standings"]
    assert await standings.find_one({"_id": rec["archive_no"]}) is None  # nothing computed it yet
    this_year = dt.date.today().year
    # not confirmed yet: 409, nothing written
    r = await admin.request(
        "PUT", f"/api/v1/unit/{uscc}/assessments/{this_year}/people/{rec['_id']}", json={"result": "合格"}
    )
    assert r.status == 409 and r.error_code == "not_confirmed"
    assert (await admin.post(f"/api/v1/unit/{uscc}/people/{rec['_id']}/confirm")).status == 200

    standing = (await person.get("/api/v1/me/assessments")).json["standing"]
    if this_year - 1 >= 2025:  # two ended years (2024 and the last) without an assessment
        assert standing["in_post"] is False and standing["code"] == "assessment_missing"
        assert standing["label"] == "非在岗" and 2024 in standing["missing_years"]

    r = await admin.request(
        "PUT", f"/api/v1/unit/{uscc}/assessments/{this_year}/people/{rec['_id']}", json={"result": "優秀"}
    )
    assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "result_invalid"
    r = await admin.request("PUT", f"/api/v1/unit/{uscc}/assessments/1999/people/{rec['_id']}", json={"result": "合格"})
    assert r.status == 422 and r.error_code == "year_invalid"
    r = await admin.request(
        "PUT",
        f"/api/v1/unit/{uscc}/assessments/{this_year}/people/{rec['_id']}",
        json={"result": "基本合格", "comment": "良好"},
    )
    assert r.status == 200 and r.json["changed"] is True, r.text
    # the write recomputed the yearly-duties standing at once (Assessments.on_written, wired in app.py)
    assert (await standings.find_one({"_id": rec["archive_no"]}))["computed_at"]
    r = await admin.request(
        "PUT",
        f"/api/v1/unit/{uscc}/assessments/{this_year}/people/{rec['_id']}",
        json={"result": "基本合格", "comment": "良好"},
    )
    assert r.json["changed"] is False
    mine = (await person.get("/api/v1/me/assessments")).json
    assert [(x["year"], x["result_label"], x["comment"]) for x in mine["assessments"]] == [
        (this_year, "基本合格", "良好")
    ]
    assert mine["standing"]["in_post"] is True  # an assessment after the gap: back in post


async def test_files_that_are_not_assessment_sheets_are_refused(server, make_unit_admin):
    admin, uscc = await make_unit_admin("file-admin")
    url = f"/api/v1/unit/{uscc}/assessments/uploads"
    r = await admin.post(url, data=upload_form(b"id,name\n1,2\n", "a.csv", "text/csv"))
    assert r.status == 415 and r.error_code == "sheet_not_xlsx"
    r = await admin.post(url, data=upload_form(b"PK\x03\x04 not really a zip"))
    assert r.status == 422 and r.error_code == "sheet_unreadable"
    r = await admin.post(url, data=upload_form(sheet([["a", "b"]], head=["甲", "乙"])))
    assert r.status == 422 and r.error_code == "sheet_headers_missing"
    r = await admin.post(url, data=upload_form(sheet([])))
    assert r.status == 422 and r.error_code == "sheet_no_rows"
    r = await admin.post(url, json={})
    assert r.status == 400 and r.error_code == "not_multipart"
    assert (await admin.get(f"/api/v1/unit/{uscc}/assessments/1999")).status == 422
    r = await admin.post(f"{url}/{'0' * 24}/confirm", json={})
    assert r.status == 404 and r.error_code == "upload_not_found"
    r = await admin.post(f"{url}/{'0' * 24}/confirm", json={"skip_errors": "yes", "x": 1})
    assert r.status == 422 and {f["field"] for f in r.json["error"]["fields"]} == {"skip_errors", "x"}


# -- the rule (pure) ---------------------------------------------------------------------------

D = dt.date


def test_two_consecutive_missing_years_make_non_in_post_from_the_next_january():
    periods = [Period(D(2018, 3, 1))]
    out = assessment_standing(periods, [2024], D(2027, 5, 1), 2024)
    assert out["expected_years"] == [2024, 2025, 2026] and out["missing_years"] == [2025, 2026]
    assert out["in_post"] is False and out["code"] == "assessment_missing" and out["since"] == "2027-01-01"


def test_one_missing_year_warns_and_a_later_assessment_lifts_the_rule():
    periods = [Period(D(2018, 3, 1))]
    warned = assessment_standing(periods, [2024], D(2026, 5, 1), 2024)
    assert warned["in_post"] is True and warned["warning"]["year"] == 2026 and warned["missing_years"] == [2025]
    lifted = assessment_standing(periods, [2027], D(2027, 5, 1), 2024)  # 2024-2026 missing, then assessed
    assert lifted["in_post"] is True and lifted["missing_years"] == [2024, 2025, 2026]


def test_years_before_the_first_year_or_out_of_post_are_not_expected():
    # left on 2025-06-30, back on 2026-02-01: 2025's 31 December was not in post
    periods = [Period(D(2018, 1, 1), D(2025, 6, 30)), Period(D(2026, 2, 1))]
    out = assessment_standing(periods, [], D(2027, 3, 1), 2020)
    assert 2025 not in out["expected_years"] and out["missing_years"][-2:] == [2024, 2026]
    assert out["code"] == "assessment_missing" and out["since"] == "2022-01-01"  # 2020 and 2021 already
    assert assessment_standing(periods, [], D(2027, 3, 1), 2027)["in_post"] is True
    gone = assessment_standing([Period(D(2018, 1, 1), D(2020, 1, 1))], [], D(2027, 3, 1), 2027)
    assert gone["code"] == "no_current_period"


def test_periods_from_work_history_the_old_employment_and_an_ended_appointment():
    data = {
        "work_history": [{"from": "2019-01-01", "to": "2020-12-31"}, {"from": "2021-01-01", "unit_credit_code": "X"}]
    }
    assert periods_of(data) == [Period(D(2019, 1, 1), D(2020, 12, 31)), Period(D(2021, 1, 1), None, "X")]
    assert periods_of(data, {"X": D(2024, 5, 1)})[-1].end == D(2024, 5, 1)
    old = {"employment": {"in_post": True, "accounting_since": "2012-08-01", "unit_credit_code": "Y"}}
    assert periods_of(old) == [Period(D(2012, 8, 1), None, "Y")]
    assert periods_of({"employment": {"in_post": False}}) == []


# -- the admin page (headless Chromium) ----------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
async def test_a_reviewer_sees_the_assessments_and_the_standing_on_the_record(
    make_server, make_unit_admin, staff_client
):
    from playwright.async_api import async_playwright

    from tests.admin.test_admin_transfers import sign_in

    running = await make_server(assessment_first_year=2024)
    admin, uscc = await make_unit_admin("page-admin", running=running)
    (rec,) = await confirmed(running, admin, uscc, ["黄考评"], "page-p")
    r = await admin.request(
        "PUT",
        f"/api/v1/unit/{uscc}/assessments/2024/people/{rec['_id']}",
        json={"result": "合格", "comment": "认真负责"},
    )
    assert r.status == 200, r.text
    await unit_reviewer(running, staff_client)
    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await sign_in(browser, running.url, "unit-rev-350203", problems, requests)
            await page.goto(f"{running.url}/admin/#/record/{rec['_id']}")
            await page.wait_for_selector("#r-assessments-card:not([hidden])")
            row = page.locator("#r-assessment-rows tr[data-year='2024']")
            assert "合格" in await row.inner_text() and "认真负责" in await row.inner_text()
            standing = await page.inner_text("#r-standing")
            assert standing.startswith("在岗") or standing.startswith("非在岗")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.locator("#r-assessments-card").screenshot(path=str(ARTIFACTS / "admin-assessments.png"))
        finally:
            await browser.close()
    assert problems == [], problems
