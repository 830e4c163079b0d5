"""The record's lists over real HTTP (issue #14): several education entries and qualifications with
their own proofs round-trip, are submitted, reviewed and exported; work periods may not overlap;
the years of accounting work are computed; derived, read-only and register-locked fields are refused."""

from __future__ import annotations

import datetime as dt
import io
import re

from openpyxl import load_workbook

from server.records.service import today
from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, staff_client  # noqa: F401
from tests.miniprogram.conftest import ENTRY_KINDS, jpeg_bytes, pdf_bytes, upload_missing, valid_body
from tests.records import idgen

RECORD = "/api/v1/me/record"
SUBMIT = "/api/v1/me/record/submit"
REGION = "350203"

EDUCATIONS = [
    {
        "level": "bachelor",
        "school": "厦门大学",
        "major": "会计学",
        "mode": "full_time",
        "from": "2008-09-01",
        "to": "2012-07-01",
        "certificate_no": "103841201205000123",
        "degree": "bachelor",
    },
    {
        "level": "master",
        "school": "上海财经大学",
        "major": "会计硕士",
        "mode": "part_time",
        "from": "2015-09-01",
        "to": "2018-06-30",
        "degree": "master",
    },
]
QUALIFICATIONS = [
    {"level": "junior", "obtained_by": "exam", "obtained_on": "2013-05-18", "certificate_no": "ZJ-2013-0001"},
    {
        "level": "intermediate",
        "obtained_by": "exam_review",
        "obtained_on": "2019-09-07",
        "certificate_no": "ZJ-2019-0456",
        "issuer": "财政部",
    },
]


def work(unit: str, start: str, end: str | None = None, post: str = "cashier") -> dict:
    """One work period."""
    entry = {
        "unit_name": unit,
        "unit_credit_code": idgen.uscc(),
        "unit_nature": "enterprise",
        "industry": "L",
        "post": post,
        "from": start,
    }
    if end:
        entry["to"] = end
    return entry


def fields_of(resp) -> list[tuple[str, str]]:
    assert resp.status == 422, resp.text
    return [(f["field"], f["code"]) for f in resp.json["error"]["fields"]]


async def test_two_educations_and_two_qualifications_round_trip_review_and_export(
    server,
    as_user,
    upload,
    give_photo,
    staff_client,  # noqa: F811
):
    c = await as_user("lists-rt")
    body = {**valid_body(), "educations": EDUCATIONS, "qualifications": QUALIFICATIONS}
    r = await c.patch(RECORD, json=body)
    assert r.status == 200, r.text
    view = r.json
    ids = [e["id"] for e in view["educations"]] + [q["id"] for q in view["qualifications"]]
    assert all(re.fullmatch(r"[a-z]{8}", i) for i in ids) and len(set(ids)) == 4
    assert [e["school"] for e in view["educations"]] == ["厦门大学", "上海财经大学"]
    assert view["educations"][1]["mode"] == "part_time"
    # the highest ones are derived, not typed
    assert view["education"] == {
        "level": "master",
        "school": "上海财经大学",
        "major": "会计硕士",
        "mode": "part_time",
        "graduated_on": "2018-06-30",
        "degree": "master",
    }
    assert view["highest_education_id"] == view["educations"][1]["id"]
    assert view["qualification"]["level"] == "intermediate" and view["qualification"]["obtained_by"] == "exam_review"
    assert view["highest_qualification_id"] == view["qualifications"][1]["id"]

    # sent back with their ids (and a changed school): the ids stay
    back = [{**e, "school": "厦门大学（思明校区）"} if i == 0 else e for i, e in enumerate(view["educations"])]
    r = await c.patch(RECORD, json={"educations": back})
    assert r.status == 200, r.text
    assert [e["id"] for e in r.json["educations"]] == ids[:2]
    assert r.json["educations"][0]["school"] == "厦门大学（思明校区）"

    # every entry needs its own proof
    proofs = [m["field"] for m in r.json["missing"] if m["code"] == "document_missing" and m["field"].endswith("proof")]
    assert proofs == [
        "educations.0.proof",
        "educations.1.proof",
        "qualifications.0.proof",
        "qualifications.1.proof",
        "work_history.0.proof",
    ]
    r = await upload(c, "diploma", jpeg_bytes(), entry="nosuchid")
    assert r.status == 422 and r.error_code == "unknown_entry", r.text
    await upload_missing(c, r_missing := (await c.get(RECORD)).json["missing"], upload)
    assert r_missing
    r = await upload(c, "diploma", pdf_bytes(), "d.pdf", "application/pdf", entry=ids[1])  # replaced by a PDF
    assert r.status == 201 and r.json["kind"] == f"diploma_{ids[1]}", r.text
    await give_photo(c.openid)
    view = (await c.get(RECORD)).json
    assert view["missing"] == []
    assert [e["proof"] for e in view["educations"]] == [f"diploma_{ids[0]}", f"diploma_{ids[1]}"]
    assert [q["proof"] for q in view["qualifications"]] == [f"qualification_certificate_{i}" for i in ids[2:]]
    listing = (await c.get("/api/v1/me/documents")).json
    assert f"diploma_{ids[1]}" in [d["kind"] for d in listing["documents"]] and listing["missing"] == []
    f = await c.get(f"/api/v1/me/documents/diploma_{ids[1]}/file")
    assert f.status == 200 and f.body.startswith(b"%PDF")

    r = await c.post(SUBMIT, json={"commitment": True})
    assert r.status == 200 and r.json["status"] == "submitted", r.text

    await server.services.get(StaffAccounts).ensure("rev-lists", "reviewer", [REGION], PASSWORD)
    rev = await staff_client(server, "rev-lists")
    detail = (await rev.get(f"/admin/api/records/{view['id']}")).json
    sections = {s["key"]: s for s in detail["sections"]}
    assert [f["label"] for f in sections["educations"]["fields"]] == ["第1条", "第2条（最高）"]
    assert "上海财经大学" in sections["educations"]["fields"][1]["display"]
    assert "考评结合" in sections["qualifications"]["fields"][1]["display"]
    proof_docs = {d["kind"]: d for d in detail["documents"]}
    got = await rev.get(proof_docs[f"qualification_certificate_{ids[3]}"]["url"])
    assert got.status == 200 and got.body[:2] == b"\xff\xd8"

    x = await rev.get("/admin/api/export.xlsx")
    assert x.status == 200, x.text
    sheet = load_workbook(io.BytesIO(x.body)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    [row] = [
        dict(zip(header, values)) for values in sheet.iter_rows(min_row=2, values_only=True) if values[0] == view["id"]
    ]
    assert row["最高学历"] == "硕士研究生" and row["学习形式"] == "非全日制"
    assert row["会计专业技术资格"] == "中级（会计师）"
    education_lines = row["学历信息（全部）"].split("\n")
    assert len(education_lines) == 2
    assert "厦门大学（思明校区）" in education_lines[0] and "2008-09-01至2012-07-01" in education_lines[0]
    assert "上海财经大学" in education_lines[1] and education_lines[1].endswith("（最高）")
    qual_lines = row["会计专业技术资格（全部）"].split("\n")
    assert len(qual_lines) == 2 and "ZJ-2013-0001" in qual_lines[0] and "考评结合" in qual_lines[1]
    start = dt.date(2012, 8, 1)
    assert row["会计工作年限"] == round(((today() - start).days + 1) / 365.25, 1) == view["accounting_years"]


async def test_overlapping_or_unordered_work_periods_are_refused_and_change_nothing(as_user):
    c = await as_user("lists-overlap")
    assert (await c.patch(RECORD, json=valid_body(in_post=False))).status == 200
    before = (await c.get(RECORD)).json

    cases = [
        (
            [work("甲公司", "2012-08-01", "2016-03-31"), work("乙公司", "2016-03-01")],
            [("work_history.0", "periods_overlap"), ("work_history.1", "periods_overlap")],
        ),
        (
            [work("甲公司", "2012-08-01"), work("乙公司", "2016-03-01")],
            [
                ("work_history.0.to", "several_current"),
                ("work_history.0", "periods_overlap"),
                ("work_history.1", "periods_overlap"),
            ],
        ),
        (
            [work("甲公司", "2016-03-01", "2015-01-01")],
            [("work_history.0.to", "to_before_from")],
        ),
        (
            [work("甲公司", "2012-08-01", "2020-01-01"), work("乙公司", (today() + dt.timedelta(days=3)).isoformat())],
            [("work_history.1.from", "date_in_future")],
        ),
        (
            [work("甲公司", "2001-01-01", "2003-01-01")],  # born 1990: not before 16
            [("work_history.0.from", "before_age_16")],
        ),
        ([{"unit_name": "甲公司", "post": "bookkeeping"}], [("work_history.0.post", "invalid_choice")]),
        ([work("甲", "2012-08-01")] * 31, [("work_history", "too_many_entries")]),
        ("甲公司", [("work_history", "invalid_type")]),
        ([{"id": "abcdefgh", **work("甲", "2012-08-01")}], [("work_history.0.id", "unknown_entry")]),
    ]
    for periods, expected in cases:
        r = await c.patch(RECORD, json={"work_history": periods, "employment": {"accounting_since": "2010-01-01"}})
        assert fields_of(r) == expected, (periods, r.text)
        assert r.json["error"]["code"] == "validation_failed"
    overlap = await c.patch(RECORD, json={"work_history": cases[0][0]})
    assert "第1条与第2条" in overlap.json["error"]["fields"][0]["message"]
    after = (await c.get(RECORD)).json
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


async def test_the_years_of_accounting_work_are_computed_from_the_history(as_user):
    c = await as_user("lists-years")
    body = valid_body(in_post=False)
    body["work_history"] = [work("甲公司", "2010-01-01", "2014-12-31"), work("乙公司", "2015-01-01", "2019-12-31")]
    body["employment"] = {"accounting_since": "2010-01-01"}
    r = await c.patch(RECORD, json=body)
    assert r.status == 200, r.text
    assert r.json["accounting_years"] == 10.0  # 3,652 days
    assert r.json["employment"]["in_post"] is False and "unit_name" not in r.json["employment"]

    periods = [*r.json["work_history"], work("丙公司", "2021-07-01", post="chief_accountant")]
    r = await c.patch(RECORD, json={"work_history": periods})
    assert r.status == 200, r.text
    expected = round((3652 + (today() - dt.date(2021, 7, 1)).days + 1) / 365.25, 1)
    assert r.json["accounting_years"] == expected
    assert r.json["employment"]["in_post"] is True and r.json["employment"]["unit_name"] == "丙公司"
    assert r.json["employment"]["post"] == "chief_accountant"
    posts = {o["code"]: o["group"] for o in (await c.get("/api/v1/options")).json["posts"]}
    assert posts["chief_accountant"] == posts["accounting_head"] == "administrative"
    assert posts["cashier"] == posts["financial_reporting"] == "professional"

    # the current period has to be the latest one
    early_open = [work("甲公司", "2010-01-01"), work("乙公司", "2015-01-01", "2019-12-31")]
    assert fields_of(await c.patch(RECORD, json={"work_history": early_open})) == [
        ("work_history.0.to", "current_not_latest"),
        ("work_history.0", "periods_overlap"),
        ("work_history.1", "periods_overlap"),
    ]


async def test_derived_and_read_only_fields_are_refused(as_user):
    c = await as_user("lists-derived")
    assert (await c.patch(RECORD, json=valid_body())).status == 200
    before = (await c.get(RECORD)).json
    for body, field, code in [
        ({"education": {"level": "doctor"}}, "education.level", "derived_field"),
        ({"qualification": {"level": "senior"}}, "qualification.level", "derived_field"),
        ({"employment": {"in_post": False}}, "employment.in_post", "derived_field"),
        ({"employment": {"unit_name": "别的公司"}}, "employment.unit_name", "derived_field"),
        ({"legacy": {"first_work_date": "2000-01-01"}}, "legacy", "read_only"),
        ({"qualifications": [{"level": "none"}]}, "qualifications.0.level", "invalid_choice"),
    ]:
        r = await c.patch(RECORD, json=body)
        assert fields_of(r) == [(field, code)], r.text
        assert re.search(r"[\u4e00-\u9fff]", r.json["error"]["fields"][0]["message"])
    after = (await c.get(RECORD)).json
    assert after["version"] == before["version"] and after["education"] == before["education"]


async def test_fields_from_the_legacy_register_are_locked_and_listed(server, as_user):
    c = await as_user("lists-legacy")
    assert (await c.patch(RECORD, json=valid_body())).status == 200
    # the legacy register's match writes `legacy` (server/legacy); here straight into the database
    record_id = (await c.get(RECORD)).json["id"]
    apps = server.services.db["applications"]
    doc = await apps.find_one({"openid": c.openid})
    legacy = {
        "source": "legacy_register",
        "archive_no": doc["archive_no"],
        "first_work_date": "2011-03-01",
        "old_certificate_no": "350203000123",
    }
    await apps.update_one({"_id": doc["_id"]}, {"$set": {"legacy": legacy}, "$inc": {"version": 1}})
    r = await c.patch(RECORD, json={"contact": {"email": "new@example.com"}})
    assert r.status == 200, r.text
    view = r.json
    assert view["id"] == record_id
    assert view["employment"]["accounting_since"] == "2011-03-01"
    assert view["employment"]["old_certificate_no"] == "350203000123"
    assert view["locked_fields"] == [
        {
            "field": "employment.accounting_since",
            "label": "首次参加会计工作日期",
            "source": "legacy_register",
            "source_label": "来自原会计档案",
        },
        {
            "field": "employment.old_certificate_no",
            "label": "原会计从业资格证书编号",
            "source": "legacy_register",
            "source_label": "来自原会计档案",
        },
    ]
    for field, value in (("accounting_since", "2012-08-01"), ("old_certificate_no", "X1234")):
        r = await c.patch(RECORD, json={"employment": {field: value}})
        assert r.status == 422 and r.json["error"]["fields"] == [
            {"field": f"employment.{field}", "code": "locked_by_register", "message": "该项来自原会计档案，不能修改"}
        ]
    assert (await c.get(RECORD)).json["employment"]["accounting_since"] == "2011-03-01"


async def test_entry_kinds_and_their_proof_keys(as_user, upload):
    c = await as_user("lists-kinds")
    r = await c.patch(RECORD, json={"educations": EDUCATIONS[:1]})
    entry = r.json["educations"][0]["id"]
    # a proof of another kind cannot name an education entry; an entry's key is not a kind to upload to
    r = await upload(c, "work_proof", jpeg_bytes(), entry=entry)
    assert r.status == 422 and r.error_code == "unknown_entry"
    r = await upload(c, f"diploma_{entry}", jpeg_bytes())
    assert r.status == 404 and r.error_code == "unknown_document_kind"
    assert (await upload(c, ENTRY_KINDS["educations"], jpeg_bytes(), entry=entry)).status == 201
    # an entry removed by a later PATCH no longer asks for a proof
    r = await c.patch(RECORD, json={"educations": EDUCATIONS[1:]})
    assert [m["field"] for m in r.json["missing"] if m["field"].startswith("educations")] == ["educations.0.proof"]
