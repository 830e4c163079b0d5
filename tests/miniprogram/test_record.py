"""GET/PATCH /api/v1/me/record: every validation rule with valid and invalid values, over HTTP."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from tests.miniprogram.conftest import valid_body
from tests.records import idgen

BORN = date(1990, 5, 17)


def field_errors(resp) -> dict[str, str]:
    """{field: code} of a 422 answer."""
    assert resp.status == 422, resp.text
    assert resp.error_code == "validation_failed"
    return {f["field"]: f["code"] for f in resp.json["error"]["fields"]}


async def assert_unchanged(client, before: dict) -> None:
    after = (await client.get("/api/v1/me/record")).json
    assert after["version"] == before["version"]
    assert {k: after[k] for k in ("profile", "education", "employment", "contact")} == {
        k: before[k] for k in ("profile", "education", "employment", "contact")
    }


async def test_new_record_shape(as_user):
    c = await as_user("ann")
    r = (await c.get("/api/v1/me/record")).json
    assert r["status"] == "draft" and r["version"] == 1 and r["editable"] is True
    for key in ("profile", "education", "qualification", "employment", "contact"):
        assert r[key] == {}
    assert r["region_code"] is None and r["archive_no"] is None and r["rare_name"] is False
    assert r["history"][0]["status"] == "draft"
    assert {m["field"] for m in r["missing"]} >= {"profile.name", "contact.mobile", "photo"}


async def test_a_complete_valid_body_is_saved_normalised(as_user):
    c = await as_user("ben")
    body = valid_body()
    body["contact"]["mobile"] = "+86 138-0013-8000"
    body["profile"]["id_number"] = idgen.resident_id_with_x("350203", BORN, "male").lower()
    r = await c.patch("/api/v1/me/record", json=body)
    assert r.status == 200, r.text
    rec = r.json
    assert rec["version"] == 2
    assert rec["profile"]["id_number"].endswith("X")  # lowercase x accepted, stored uppercase
    assert rec["archive_no"] == rec["profile"]["id_number"]
    assert rec["profile"]["birth_date"] == "1990-05-17"  # derived from the ID
    assert rec["profile"]["gender"] == "male"
    assert rec["profile"]["nationality"] == "CHN"
    assert rec["profile"]["name_pinyin"] == "zhang san"
    assert rec["contact"]["mobile"] == "13800138000"
    assert rec["region"]["name"] == "思明区"
    assert (await c.get("/api/v1/me/record")).json["profile"] == rec["profile"]


async def test_sections_can_be_saved_one_at_a_time_and_null_clears(as_user):
    c = await as_user("cat")
    assert (await c.patch("/api/v1/me/record", json={"contact": {"mobile": "13900139000"}})).status == 200
    r = await c.patch("/api/v1/me/record", json={"educations": [{"level": "bachelor", "school": "集美大学"}]})
    assert r.json["contact"]["mobile"] == "13900139000" and r.json["education"]["school"] == "集美大学"
    r = await c.patch("/api/v1/me/record", json={"contact": {"mobile": None}})
    assert "mobile" not in r.json["contact"]
    [edu] = r.json["educations"]
    r = await c.patch("/api/v1/me/record", json={"educations": [{**edu, "school": ""}]})
    assert "school" not in r.json["education"] and "school" not in r.json["educations"][0]
    r = await c.patch("/api/v1/me/record", json={"educations": None})
    assert r.json["educations"] == [] and r.json["education"] == {}


RESIDENT_CASES = [
    (idgen.resident_id("350203", BORN, "female"), None),
    (idgen.resident_id_with_x("110105", date(1975, 1, 31), "female"), None),
    (idgen.with_wrong_check(idgen.resident_id("350203", BORN, "male")), "id_number_checksum"),
    (idgen.resident_id("350203", BORN)[:17], "id_number_format"),
    ("35020319901A17123" + "4", "id_number_format"),
    ((lambda f: f + idgen.id_check_char(f))("35020319901332123"), "id_number_birth_date"),
    ((lambda f: f + idgen.id_check_char(f))("99020319900517123"), "id_number_region"),
    (idgen.residence_permit("810000", BORN), "id_number_region"),  # a permit number typed as resident ID
]


@pytest.mark.parametrize("number,code", RESIDENT_CASES)
async def test_resident_id_numbers(as_user, number, code):
    c = await as_user("dora")
    before = (await c.get("/api/v1/me/record")).json
    r = await c.patch("/api/v1/me/record", json={"profile": {"id_type": "resident_id", "id_number": number}})
    if code is None:
        assert r.status == 200, r.text
        assert r.json["profile"]["id_number"] == number.upper()
        assert r.json["profile"]["gender"] == ("male" if int(number[16]) % 2 else "female")
    else:
        assert field_errors(r) == {"profile.id_number": code}
        await assert_unchanged(c, before)


async def test_gender_and_birth_date_must_agree_with_the_id(as_user):
    c = await as_user("eve")
    number = idgen.resident_id("350203", BORN, "female")
    r = await c.patch(
        "/api/v1/me/record",
        json={"profile": {"id_type": "resident_id", "id_number": number, "gender": "male", "birth_date": "1990-05-18"}},
    )
    assert field_errors(r) == {"profile.gender": "gender_mismatch", "profile.birth_date": "birth_date_mismatch"}
    r = await c.patch(
        "/api/v1/me/record",
        json={
            "profile": {"id_type": "resident_id", "id_number": number, "gender": "female", "birth_date": "1990-05-17"}
        },
    )
    assert r.status == 200, r.text
    # Changing the ID re-derives both when they are not sent.
    other = idgen.resident_id("350203", date(1985, 12, 1), "male")
    r = await c.patch("/api/v1/me/record", json={"profile": {"id_number": other}})
    assert r.json["profile"]["gender"] == "male" and r.json["profile"]["birth_date"] == "1985-12-01"


async def test_residence_permit(as_user):
    c = await as_user("fei")
    good = idgen.residence_permit("820000", date(1988, 2, 29), "female")
    r = await c.patch("/api/v1/me/record", json={"profile": {"id_type": "residence_permit", "id_number": good}})
    assert r.status == 200, r.text
    assert r.json["profile"]["nationality"] == "MAC" and r.json["profile"]["birth_date"] == "1988-02-29"
    bad_prefix = idgen.resident_id("350203", BORN)
    r = await c.patch("/api/v1/me/record", json={"profile": {"id_type": "residence_permit", "id_number": bad_prefix}})
    assert field_errors(r) == {"profile.id_number": "permit_prefix"}
    r = await c.patch("/api/v1/me/record", json={"profile": {"id_number": idgen.with_wrong_check(good)}})
    assert field_errors(r) == {"profile.id_number": "id_number_checksum"}


async def test_passport(as_user):
    c = await as_user("gil")
    r = await c.patch(
        "/api/v1/me/record",
        json={
            "profile": {
                "id_type": "passport",
                "id_number": "e 1234-5678",
                "nationality": "USA",
                "gender": "male",
                "birth_date": "1980-01-02",
            }
        },
    )
    assert r.status == 200, r.text
    assert r.json["profile"]["id_number"] == "E12345678" and r.json["archive_no"] == "E12345678"
    for number in ("E1", "护照12345", "A" * 21):
        r = await c.patch("/api/v1/me/record", json={"profile": {"id_number": number}})
        assert field_errors(r) == {"profile.id_number": "passport_format"}, number
    r = await c.patch("/api/v1/me/record", json={"profile": {"nationality": "CHN"}})
    assert field_errors(r) == {"profile.nationality": "nationality_mismatch"}


async def test_id_number_needs_a_type(as_user):
    c = await as_user("hu")
    r = await c.patch("/api/v1/me/record", json={"profile": {"id_number": idgen.resident_id()}})
    assert field_errors(r) == {"profile.id_number": "id_type_required"}


@pytest.mark.parametrize(
    "code,error",
    [
        (idgen.uscc(), None),
        (idgen.uscc("1", "1", "110105", body="000000001"), None),
        (idgen.uscc()[:-1] + ("0" if idgen.uscc()[-1] != "0" else "1"), "uscc_checksum"),
        ("91350203MA2XXXXX", "uscc_format"),
        ("91350203MA2XXXXXIO", "uscc_format"),
    ],
)
async def test_unified_social_credit_code(as_user, code, error):
    c = await as_user("ivy")
    r = await c.patch("/api/v1/me/record", json={"work_history": [{"unit_credit_code": code, "from": "2015-01-01"}]})
    if error is None:
        assert r.status == 200 and r.json["employment"]["unit_credit_code"] == code
        assert r.json["work_history"][0]["unit_credit_code"] == code
    else:
        assert field_errors(r) == {"work_history.0.unit_credit_code": error}


@pytest.mark.parametrize(
    "raw,stored",
    [
        ("13800138000", "13800138000"),
        ("+86 139 0013 9000", "13900139000"),
        ("0086-15012345678", "15012345678"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("1380013800", None),
        ("12800138000", None),
        ("0592-5551234", None),
        ("abc", None),
    ],
)
async def test_mobile(as_user, raw, stored):
    c = await as_user("jo")
    r = await c.patch("/api/v1/me/record", json={"contact": {"mobile": raw}})
    if stored:
        assert r.status == 200 and r.json["contact"]["mobile"] == stored
    else:
        assert field_errors(r) == {"contact.mobile": "mobile_format"}


async def test_email(as_user):
    c = await as_user("kim")
    r = await c.patch("/api/v1/me/record", json={"contact": {"email": "Li.Si@Example.COM"}})
    assert r.status == 200 and r.json["contact"]["email"] == "Li.Si@example.com"
    r = await c.patch("/api/v1/me/record", json={"contact": {"email": "not-an-email"}})
    assert field_errors(r) == {"contact.email": "email_format"}


@pytest.mark.parametrize(
    "value,code",
    [
        ("2012-07-01", None),
        ("2012-02-30", "invalid_date"),
        ("2012/07/01", "invalid_date"),
        ("12-07-01", "invalid_date"),
        ("1899-12-31", "date_too_early"),
        ((date.today() + timedelta(days=30)).isoformat(), "date_in_future"),
    ],
)
async def test_dates(as_user, value, code):
    c = await as_user("lee")
    r = await c.patch("/api/v1/me/record", json={"educations": [{"level": "bachelor", "to": value}]})
    if code is None:
        assert r.status == 200 and r.json["education"]["graduated_on"] == value
    else:
        assert field_errors(r) == {"educations.0.to": code}


async def test_dates_must_follow_birth(as_user):
    c = await as_user("max")
    await c.patch(
        "/api/v1/me/record",
        json={"profile": {"id_type": "resident_id", "id_number": idgen.resident_id("350203", BORN)}},
    )
    r = await c.patch(
        "/api/v1/me/record",
        json={"educations": [{"to": "1989-07-01"}], "employment": {"accounting_since": "2000-01-01"}},
    )
    assert field_errors(r) == {"educations.0.to": "before_birth", "employment.accounting_since": "before_age_16"}


async def test_closed_lists(as_user):
    c = await as_user("ned")
    for section, field, good, bad in (
        ("profile", "gender", "female", "f"),
        ("profile", "ethnicity", "05", "99"),
        ("profile", "nationality", "JPN", "XXX"),
        ("educations", "level", "master", "phd"),
        ("educations", "mode", "part_time", "evening"),
        ("qualifications", "level", "full_senior", "expert"),
        ("qualifications", "obtained_by", "exam_review", "bought"),
        ("work_history", "unit_nature", "public_institution", "company"),
        ("work_history", "post", "financial_reporting", "boss"),
        ("work_history", "post", "chief_accountant", "bookkeeping"),  # an old code, not on the national list
        ("work_history", "industry", "J", "Z"),
        ("educations", "degree", "none", "honorary"),
    ):
        if section == "profile":
            r = await c.patch("/api/v1/me/record", json={section: {field: bad}})
            assert field_errors(r) == {f"{section}.{field}": "invalid_choice"}, (field, bad)
            r = await c.patch("/api/v1/me/record", json={section: {field: good}})
            assert r.status == 200 and r.json[section][field] == good, (field, r.text)
        else:
            r = await c.patch("/api/v1/me/record", json={section: [{field: bad}]})
            assert field_errors(r) == {f"{section}.0.{field}": "invalid_choice"}, (field, bad)
            r = await c.patch("/api/v1/me/record", json={section: [{field: good}]})
            assert r.status == 200 and r.json[section][0][field] == good, (field, r.text)


async def test_labels_in_simplified_or_traditional_chinese_are_accepted_for_closed_lists(as_user):
    c = await as_user("oli")
    r = await c.patch(
        "/api/v1/me/record",
        json={
            "profile": {"ethnicity": "維吾爾族", "gender": "女"},
            "educations": [{"level": "大學本科", "mode": "全日制"}],
            "qualifications": [{"level": "中級（會計師）", "obtained_by": "考評結合"}],
            "work_history": [{"post": "財務會計報告編制", "from": "2015-01-01"}],
        },
    )
    assert r.status == 200, r.text
    assert r.json["profile"]["ethnicity"] == "05" and r.json["profile"]["gender"] == "female"
    assert r.json["education"]["level"] == "bachelor" and r.json["qualification"]["level"] == "intermediate"
    assert (
        r.json["educations"][0]["mode"] == "full_time" and r.json["qualifications"][0]["obtained_by"] == "exam_review"
    )
    assert r.json["employment"]["post"] == "financial_reporting"
    r = await c.patch("/api/v1/me/record", json={"educations": [{"level": "bachelor", "school": "國立臺灣大學"}]})
    assert r.json["education"]["school"] == "國立臺灣大學"  # free text is kept as typed


async def test_region_code(as_user):
    c = await as_user("pam")
    r = await c.patch("/api/v1/me/record", json={"region_code": "350211"})
    assert r.status == 200 and r.json["region"]["name"] == "集美区"
    assert field_errors(await c.patch("/api/v1/me/record", json={"region_code": "110101"})) == {
        "region_code": "region_not_served"
    }
    assert field_errors(await c.patch("/api/v1/me/record", json={"region_code": "3502"})) == {
        "region_code": "region_format"
    }


async def test_qualification_none_refuses_certificate_details(as_user):
    c = await as_user("quin")
    r = await c.patch("/api/v1/me/record", json={"qualifications": [{"level": "none", "certificate_no": "ZJ-1"}]})
    assert field_errors(r) == {"qualifications.0.level": "invalid_choice"}  # none = an empty list
    r = await c.patch("/api/v1/me/record", json={"qualifications": []})
    assert r.status == 200 and r.json["qualification"] == {"level": "none"}


async def test_unknown_fields_and_wrong_types_are_422_and_change_nothing(as_user):
    c = await as_user("rex")
    before = (await c.get("/api/v1/me/record")).json
    cases = [
        ({"profile": {"nickname": "x"}}, {"profile.nickname": "unknown_field"}),
        ({"hobbies": {}}, {"hobbies": "unknown_section"}),
        ({"status": "approved"}, {"status": "unknown_section"}),
        ({"archive_no": "X"}, {"archive_no": "unknown_section"}),
        ({"profile": "张三"}, {"profile": "invalid_type"}),
        ({"employment": {"in_post": "yes"}}, {"employment.in_post": "derived_field"}),
        ({"work_history": "yes"}, {"work_history": "invalid_type"}),
        ({"profile": {"name": 42}}, {"profile.name": "invalid_type"}),
        ({"contact": {"mobile": ["13800138000"]}}, {"contact.mobile": "invalid_type"}),
    ]
    for body, expected in cases:
        assert field_errors(await c.patch("/api/v1/me/record", json=body)) == expected, body
    # One bad field refuses the whole body: the good one is not saved either.
    r = await c.patch("/api/v1/me/record", json={"contact": {"mobile": "13800138000", "email": "bad"}})
    assert field_errors(r) == {"contact.email": "email_format"}
    await assert_unchanged(c, before)


async def test_every_failure_is_listed_with_a_chinese_message(as_user):
    c = await as_user("sue")
    r = await c.patch(
        "/api/v1/me/record", json={"contact": {"mobile": "1", "email": "x"}, "educations": [{"to": "tomorrow"}]}
    )
    fields = r.json["error"]["fields"]
    assert {f["field"] for f in fields} == {"contact.mobile", "contact.email", "educations.0.to"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in f["message"]) for f in fields)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json["error"]["message"])


async def test_malformed_and_oversized_bodies(as_user):
    c = await as_user("tom")
    r = await c.patch("/api/v1/me/record", raw=b'{"profile": ', headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.error_code == "malformed_json"
    r = await c.patch("/api/v1/me/record", raw=b"\xff\xfe", headers={"Content-Type": "application/json"})
    assert r.status == 400
    r = await c.patch("/api/v1/me/record", json=[1, 2])
    assert r.status == 400 and r.error_code == "body_not_object"
    r = await c.patch("/api/v1/me/record", json={"educations": [{"school": "大" * 40000}]})
    assert r.status == 413 and r.error_code == "body_too_large"
    r = await c.patch("/api/v1/me/record", json={"educations": [{"school": "大" * 101}]})
    assert field_errors(r) == {"educations.0.school": "too_long"}


async def test_a_duplicate_archive_number_is_a_409(as_user, server):
    a, b = await as_user("uma"), await as_user("vic")
    number = idgen.resident_id_with_x("350205", date(1992, 9, 9), "female")
    r = await a.patch("/api/v1/me/record", json={"profile": {"id_type": "resident_id", "id_number": number}})
    assert r.status == 200
    before = (await b.get("/api/v1/me/record")).json
    for variant in (number, number.lower(), " ".join([number[:6], number[6:14], number[14:]])):
        r = await b.patch("/api/v1/me/record", json={"profile": {"id_type": "resident_id", "id_number": variant}})
        assert r.status == 409, r.text
        assert r.error_code == "archive_no_taken"
        assert "已登记" in r.json["error"]["message"] and r.json["error"]["field"] == "profile.id_number"
    await assert_unchanged(b, before)
    # The same person saving again is fine; once they change their number the old one is free.
    assert (await a.patch("/api/v1/me/record", json={"profile": {"id_number": number}})).status == 200
    other = idgen.resident_id("350205", date(1992, 9, 9), "female")
    assert (await a.patch("/api/v1/me/record", json={"profile": {"id_number": other}})).status == 200
    r = await b.patch("/api/v1/me/record", json={"profile": {"id_type": "resident_id", "id_number": number}})
    assert r.status == 200 and r.json["archive_no"] == number
    claims = server.services.db["archive_numbers"]
    assert await claims.count_documents({}) == 2


async def test_two_people_racing_for_one_number_get_one_success(server, as_user):
    clients = [await as_user(f"racer{i}") for i in range(6)]
    number = idgen.resident_id("350206", date(1970, 3, 3), "male")
    body = {"profile": {"id_type": "resident_id", "id_number": number}}
    results = await asyncio.gather(*[c.patch("/api/v1/me/record", json=body) for c in clients])
    assert sorted(r.status for r in results) == [200] + [409] * 5
    holders = [c.openid for c, r in zip(clients, results) if r.status == 200]
    doc = await server.services.db["applications"].find_one({"archive_no": number})
    assert doc["openid"] == holders[0]
