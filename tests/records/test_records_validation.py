"""validate_patch: shapes, types, normalisation, derivation and cross-field rules."""

import random
import re
from datetime import date
from pathlib import Path

import pytest

from server.records import (
    OPTIONS,
    SECTIONS,
    apply_patch,
    archive_no,
    load_districts,
    validate_patch,
    validate_record,
)
from server.records.fields import LISTS
from tests.records import idgen

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2025, 6, 1)
DISTRICTS = load_districts(ROOT / "config" / "districts.json")
ID = idgen.resident_id("350203", date(1990, 5, 17), "male")  # male, born 1990-05-17
ID_F = idgen.resident_id("350206", date(1985, 11, 3), "female")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
HAN_RE = re.compile(r"[\u4e00-\u9fff]")


def check(patch, current=None, districts=DISTRICTS):
    """validate_patch with the fixed test date; also checks the error item shape."""
    out, errors = validate_patch(patch, current or {}, districts, TODAY)
    for e in errors:
        assert set(e) == {"field", "code", "message"}
        assert CODE_RE.match(e["code"]), e
        assert HAN_RE.search(e["message"]), e
    return out, errors


def codes(errors):
    """{field: code} of an error list."""
    return {e["field"]: e["code"] for e in errors}


def full_record(**over):
    """A complete, valid record as a PATCH body (lists without ids, no derived sections)."""
    rec = {
        "profile": {
            "name": "王𠈌",
            "gender": "male",
            "id_type": "resident_id",
            "id_number": ID,
            "birth_date": "1990-05-17",
            "ethnicity": "01",
            "nationality": "CHN",
        },
        "educations": [
            {
                "level": "bachelor",
                "school": "厦门大学",
                "major": "会计学",
                "mode": "full_time",
                "from": "2008-09-01",
                "to": "2012-07-01",
                "degree": "bachelor",
            }
        ],
        "qualifications": [
            {
                "level": "intermediate",
                "obtained_by": "exam",
                "obtained_on": "2016-09-10",
                "certificate_no": "Z35020316000123",
                "issuer": "财政部",
            }
        ],
        "work_history": [
            {
                "unit_name": "厦门某某会计服务有限公司",
                "unit_credit_code": idgen.uscc(),
                "unit_nature": "enterprise",
                "industry": "L",
                "post": "general_ledger",
                "from": "2012-08-01",
            }
        ],
        "employment": {"accounting_since": "2012-08-01"},
        "contact": {"mobile": "13800138000", "email": "wang@example.com"},
        "region_code": "350203",
    }
    for key, value in over.items():
        rec[key] = value
    return rec


def stored_record(**over):
    """full_record() as stored: entry ids assigned, summary sections derived."""
    out, errors = check(full_record(**over))
    assert errors == []
    return apply_patch({}, out)


def entry(name, **fields):
    """A patch of one list holding one entry."""
    return {name: [fields]}


# ---- shape & types -------------------------------------------------------------------------


def test_empty_patch_is_valid():
    assert check({}) == ({}, [])


@pytest.mark.parametrize("body", [None, [], "x", 1, True])
def test_body_must_be_object(body):
    out, errors = check(body)
    assert out == {} and codes(errors) == {"": "invalid_type"}


def test_unknown_section_and_field():
    _, errors = check({"photo": {}, "profile": {"nick": "x", "name": "张三"}, "archive_no": "X"})
    assert codes(errors) == {
        "photo": "unknown_section",
        "profile.nick": "unknown_field",
        "archive_no": "unknown_section",
    }


@pytest.mark.parametrize("section", list(SECTIONS))
@pytest.mark.parametrize("bad", [[], "x", 1, None, True])
def test_section_must_be_object(section, bad):
    assert codes(check({section: bad})[1]) == {section: "invalid_type"}


@pytest.mark.parametrize(
    "field,value",
    [
        ("profile.name", 123),
        ("profile.name", ["张三"]),
        ("profile.name", {"a": 1}),
        ("profile.gender", True),
        ("profile.birth_date", 19900517),
        ("profile.ethnicity", 1),
        ("educations.0.to", {}),
        ("contact.mobile", 13800138000),
        ("contact.email", False),
        ("work_history.0.unit_credit_code", 1.5),
        ("profile.id_number", 350203199005171234),
        ("qualifications.0.level", ["junior"]),
        ("educations.0", "厦门大学"),
        ("work_history", {"unit_name": "x"}),
        ("region_code", 350203),
        ("region_code", ["350203"]),
    ],
)
def test_wrong_json_types_are_field_errors(field, value):
    section, _, name = field.partition(".")
    if section in LISTS:
        index, _, key = name.partition(".")
        patch = {section: [{key: value} if key else value]} if name else {section: value}
    else:
        patch = {section: {name: value}} if name else {section: value}
    out, errors = check(patch)
    assert codes(errors) == {field: "invalid_type"}


@pytest.mark.parametrize(
    "field,value",
    [
        ("employment.in_post", True),
        ("employment.unit_name", "某公司"),
        ("employment.post", "cashier"),
        ("education.level", "doctor"),
        ("education.graduated_on", "2012-07-01"),
        ("qualification.level", "senior"),
        ("qualification.certificate_no", "Z123456"),
    ],
)
def test_derived_fields_are_refused(field, value):
    section, _, name = field.partition(".")
    out, errors = check({section: {name: value}}, stored_record())
    assert codes(errors) == {field: "derived_field"}
    assert codes(check({"legacy": {"first_work_date": "2000-01-01"}})[1]) == {"legacy": "read_only"}


def test_fuzz_never_raises():
    rng = random.Random(42)
    junk = [
        None,
        True,
        False,
        0,
        -1,
        1.5,
        "",
        " ",
        "x",
        "\x00",
        "\ud800",
        "😀" * 300,
        [],
        [1],
        {},
        {"a": 1},
        "2020-02-30",
        "9999-99-99",
        ID,
        ID.lower(),
        "810000",
        "13800138000",
        "350203",
        "none",
        "exam",
    ]
    fields = [(s, f) for s, fs in SECTIONS.items() for f in fs] + [("region_code", None)]
    for _ in range(3000):
        patch = {}
        for s, f in rng.sample(fields, rng.randint(1, 6)):
            if f is None:
                patch[s] = rng.choice(junk)
            else:
                patch.setdefault(s, {})[f] = rng.choice(junk)
        if rng.random() < 0.3:
            patch[rng.choice(list(LISTS))] = rng.choice(
                [rng.choice(junk), [rng.choice(junk)], [{"from": rng.choice(junk)}]]
            )
        current = stored_record() if rng.random() < 0.5 else {}
        out, errors = check(patch, current)
        assert isinstance(out, dict) and isinstance(errors, list)


# ---- per-field normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "section,field,options",
    [
        (s, f, spec.options)
        for s, fs in SECTIONS.items()
        for f, spec in fs.items()
        if spec.kind == "enum" and not spec.derived
    ]
    + [(n, f, spec.options) for n, ls in LISTS.items() for f, spec in ls.fields.items() if spec.kind == "enum"],
)
def test_enums_are_closed(section, field, options):
    for opt in OPTIONS[options]:
        if section == "qualifications" and opt["code"] == "none":
            continue  # no qualification = an empty list
        if section in LISTS:
            out = validate_patch(entry(section, **{field: opt["code"]}), {}, DISTRICTS, TODAY)[0]
            assert out[section][0][field] == opt["code"]
        else:
            assert (
                validate_patch({section: {field: opt["code"]}}, {}, DISTRICTS, TODAY)[0][section][field] == opt["code"]
            )
    for bad in ["x", "MALE", "本科", "99"]:
        if section in LISTS:
            assert codes(check(entry(section, **{field: bad}))[1]) == {f"{section}.0.{field}": "invalid_choice"}
        else:
            assert codes(check({section: {field: bad}})[1]) == {f"{section}.{field}": "invalid_choice"}


def test_null_and_empty_string_clear_fields():
    out, errors = check({"contact": {"email": None, "mobile": "  "}}, stored_record())
    assert errors == [] and out == {"contact": {"email": None, "mobile": None}}
    merged = apply_patch(stored_record(), out)
    assert "email" not in merged["contact"] and "mobile" not in merged["contact"]
    out, errors = check({"region_code": None}, stored_record())
    assert out == {"region_code": None} and "region_code" not in apply_patch(stored_record(), out)
    out, errors = check({"qualifications": None}, stored_record())
    assert errors == [] and out["qualifications"] == [] and out["qualification"]["level"] == "none"


def test_text_trim_nfc_length_and_characters():
    out, errors = check(entry("educations", school="  厦门\t 大学  ", major="Cafe\u0301 管理"))
    assert errors == [] and {k: v for k, v in out["educations"][0].items() if k != "id"} == {
        "school": "厦门 大学",
        "major": "Café 管理",
    }
    assert codes(check(entry("educations", school="校" * 101))[1]) == {"educations.0.school": "too_long"}
    assert check(entry("educations", school="校" * 100))[1] == []
    for bad in ["厦门\x07大学", "厦门\u200e大学", "\ue000大学", "厦门\ud800"]:
        assert codes(check(entry("educations", school=bad))[1]) == {"educations.0.school": "invalid_characters"}
    assert check(entry("educations", school="\U00031350大学"))[1] == []  # Ext H is not "unassigned"


@pytest.mark.parametrize(
    "value,code",
    [
        ("2020-02-30", "invalid_date"),
        ("2020/01/01", "invalid_date"),
        ("2020-1-1", "invalid_date"),
        ("20200101", "invalid_date"),
        ("2020-01-01T00:00", "invalid_date"),
        ("２０２０-01-01", "invalid_date"),
        ("2025-06-02", "date_in_future"),
        ("1899-12-31", "date_too_early"),
    ],
)
def test_bad_dates(value, code):
    assert codes(check(entry("educations", to=value))[1]) == {"educations.0.to": code}
    assert codes(check({"employment": {"accounting_since": value}})[1]) == {"employment.accounting_since": code}


def test_good_dates():
    for value in ["2025-06-01", "2000-02-29", " 1990-01-01 "]:
        out, errors = check(entry("educations", level="bachelor", to=value))
        assert errors == [] and out["educations"][0]["to"] == value.strip()
        assert out["education"]["graduated_on"] == value.strip()  # derived


def test_mobile_email_uscc_certificate_normalised():
    code = idgen.uscc("9", "1", "350206")
    out, errors = check(
        {
            "contact": {"mobile": "+86 138-0013-8000", "email": "Wang@Example.COM"},
            "work_history": [{"unit_credit_code": code.lower()}],
            "qualifications": [{"level": "junior", "certificate_no": " z-3502 0316 "}],
        }
    )
    assert errors == []
    assert out["contact"] == {"mobile": "13800138000", "email": "Wang@example.com"}
    assert out["work_history"][0]["unit_credit_code"] == code
    assert out["qualifications"][0]["certificate_no"] == "Z-35020316"
    out, errors = check({"contact": {"mobile": "１３８００１３８０００"}})  # full-width digits
    assert out["contact"]["mobile"] == "13800138000"
    wrong = code[:17] + ("0" if code[-1] != "0" else "1")
    _, errors = check(
        {
            "contact": {"mobile": "12345678901", "email": "x@y"},
            "work_history": [{"unit_credit_code": wrong}],
            "qualifications": [{"certificate_no": "Z1#"}],
        }
    )
    assert codes(errors) == {
        "contact.mobile": "mobile_format",
        "contact.email": "email_format",
        "work_history.0.unit_credit_code": "uscc_checksum",
        "qualifications.0.certificate_no": "certificate_no_format",
    }


def test_region_code():
    assert check({"region_code": "350206"}) == ({"region_code": "350206"}, [])
    assert codes(check({"region_code": "350212"})[1]) == {"region_code": "region_not_served"}
    assert codes(check({"region_code": "35020"})[1]) == {"region_code": "region_format"}
    assert codes(check({"region_code": "35020A"})[1]) == {"region_code": "region_format"}
    for districts in (["350212"], [{"code": "350212", "name": "同安区"}], {"350212": {}}):
        assert check({"region_code": "350212"}, districts=districts)[1] == []
    assert check({"region_code": "999999"}, districts=None)[1] == []


# ---- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["王\U0002020c", "\U0002a6a5\u9f98", "李\U00031350", "阿依古丽·买买提", "張學友", "\U0002ebf0\U00030000"]
)
def test_rare_names_round_trip_through_patch(name):
    out, errors = check({"profile": {"name": name}})
    assert errors == [] and out["profile"]["name"] == name
    assert apply_patch({}, out)["profile"]["name"] == name


def test_name_errors_and_pinyin():
    assert codes(check({"profile": {"name": "张3"}})[1]) == {"profile.name": "invalid_characters"}
    out, _ = check({"profile": {"name": "吕小布"}})
    assert out["profile"]["name_pinyin"] == "lü xiao bu"
    out, _ = check({"profile": {"name": "张三", "name_pinyin": "Zhang San"}})
    assert out["profile"]["name_pinyin"] == "Zhang San"
    assert codes(check({"profile": {"name_pinyin": "zhang3"}})[1]) == {"profile.name_pinyin": "pinyin_format"}
    out, _ = check({"profile": {"name": "王\U0002020c"}}, {"profile": {"name": "王五", "name_pinyin": "wang wu"}})
    assert out["profile"]["name_pinyin"] is None  # unknown reading: user fills it in
    stored = {"profile": {"name": "张三", "name_pinyin": "Zhang San"}}
    assert check({"profile": {"name": "张三"}}, stored)[0] == {"profile": {"name": "张三"}}


# ---- identity -------------------------------------------------------------------------------


def test_resident_id_derives_birth_gender_nationality():
    out, errors = check({"profile": {"id_type": "resident_id", "id_number": ID_F.lower()}})
    assert errors == []
    assert out["profile"] == {
        "id_type": "resident_id",
        "id_number": ID_F,
        "birth_date": "1985-11-03",
        "gender": "female",
        "nationality": "CHN",
    }


def test_resident_id_with_x_and_matching_fields():
    number = idgen.resident_id_with_x("350211", date(1979, 1, 31), "male")
    out, errors = check(
        {
            "profile": {
                "id_type": "resident_id",
                "id_number": number[:-1] + "x",
                "gender": "male",
                "birth_date": "1979-01-31",
                "nationality": "CHN",
            }
        }
    )
    assert errors == [] and out["profile"]["id_number"] == number


def test_mismatch_in_same_patch():
    _, errors = check(
        {
            "profile": {
                "id_type": "resident_id",
                "id_number": ID,
                "gender": "female",
                "birth_date": "1990-05-18",
                "nationality": "USA",
            }
        }
    )
    assert codes(errors) == {
        "profile.gender": "gender_mismatch",
        "profile.birth_date": "birth_date_mismatch",
        "profile.nationality": "nationality_mismatch",
    }


def test_patch_of_birth_date_only_checked_against_stored_number():
    stored = {"profile": {"id_type": "resident_id", "id_number": ID, "birth_date": "1990-05-17", "gender": "male"}}
    assert codes(check({"profile": {"birth_date": "1990-05-16"}}, stored)[1]) == {
        "profile.birth_date": "birth_date_mismatch"
    }
    assert check({"profile": {"birth_date": "1990-05-17"}}, stored)[1] == []
    assert codes(check({"profile": {"gender": "female"}}, stored)[1]) == {"profile.gender": "gender_mismatch"}
    # clearing a derived field re-derives it
    assert check({"profile": {"gender": None}}, stored)[0]["profile"]["gender"] == "male"


def test_new_number_rederives_stored_fields():
    stored = {
        "profile": {
            "id_type": "resident_id",
            "id_number": ID,
            "birth_date": "1990-05-17",
            "gender": "male",
            "nationality": "CHN",
        }
    }
    out, errors = check({"profile": {"id_number": ID_F}}, stored)
    assert errors == []
    assert out["profile"] == {"id_number": ID_F, "birth_date": "1985-11-03", "gender": "female"}


@pytest.mark.parametrize(
    "number,code",
    [
        (idgen.with_wrong_check(ID), "id_number_checksum"),
        (ID[:17], "id_number_format"),
        (idgen.residence_permit("810000"), "id_number_region"),
        (idgen.resident_id("990101"), "id_number_region"),
        (idgen.resident_id("350203", date(2030, 1, 1)), "id_number_birth_date"),
    ],
)
def test_resident_id_errors(number, code):
    _, errors = check({"profile": {"id_type": "resident_id", "id_number": number}})
    assert codes(errors) == {"profile.id_number": code}


def test_id_number_needs_type():
    assert codes(check({"profile": {"id_number": ID}})[1]) == {"profile.id_number": "id_type_required"}
    _, errors = check({"profile": {"id_type": "xx", "id_number": ID}})
    assert codes(errors) == {"profile.id_type": "invalid_choice"}


def test_type_change_checks_stored_number():
    stored = {"profile": {"id_type": "passport", "id_number": "E12345678", "nationality": "USA"}}
    _, errors = check({"profile": {"id_type": "resident_id"}}, stored)
    assert codes(errors) == {"profile.id_number": "id_number_format"}


@pytest.mark.parametrize("prefix,region", [("810000", "HKG"), ("820000", "MAC"), ("830000", "TWN")])
def test_residence_permit_in_patch(prefix, region):
    number = idgen.residence_permit(prefix, date(1992, 12, 31), "female")
    out, errors = check({"profile": {"id_type": "residence_permit", "id_number": number}})
    assert errors == []
    assert out["profile"]["birth_date"] == "1992-12-31" and out["profile"]["gender"] == "female"
    assert out["profile"]["nationality"] == region
    assert check({"profile": {"id_type": "residence_permit", "id_number": number, "nationality": "CHN"}})[1] == []
    _, errors = check({"profile": {"id_type": "residence_permit", "id_number": number, "nationality": "USA"}})
    assert codes(errors) == {"profile.nationality": "nationality_mismatch"}
    _, errors = check({"profile": {"id_type": "residence_permit", "id_number": ID}})
    assert codes(errors) == {"profile.id_number": "permit_prefix"}


def test_passport():
    out, errors = check(
        {
            "profile": {
                "id_type": "passport",
                "id_number": "e 1234 5678",
                "nationality": "USA",
                "birth_date": "1980-01-01",
                "gender": "female",
            }
        }
    )
    assert errors == [] and out["profile"]["id_number"] == "E12345678"
    _, errors = check({"profile": {"id_type": "passport", "id_number": "E1", "nationality": "USA"}})
    assert codes(errors) == {"profile.id_number": "passport_format"}
    _, errors = check({"profile": {"id_type": "passport", "id_number": "E12345678", "nationality": "CHN"}})
    assert codes(errors) == {"profile.nationality": "nationality_mismatch"}
    stored = {"profile": {"id_type": "resident_id", "id_number": ID, "nationality": "CHN"}}
    out, errors = check({"profile": {"id_type": "passport", "id_number": "E12345678"}}, stored)
    assert errors == [] and out["profile"]["nationality"] is None  # foreigner must choose nationality


def test_archive_no():
    assert archive_no({"profile": {"id_number": ID}}) == ID
    assert archive_no({"profile": {"id_number": "e12345678"}}) == "E12345678"
    permit = idgen.resident_id_with_x("820000")
    assert archive_no({"profile": {"id_number": permit.lower()}}) == permit
    assert archive_no({}) is None and archive_no({"profile": {"id_number": ""}}) is None


# ---- dates across fields --------------------------------------------------------------------


def test_dates_after_birth():
    stored = {"profile": {"id_type": "resident_id", "id_number": ID, "birth_date": "1990-05-17"}}
    assert codes(check(entry("educations", to="1990-05-17"), stored)[1]) == {"educations.0.to": "before_birth"}
    assert check(entry("educations", to="1990-05-18"), stored)[1] == []
    assert codes(check(entry("qualifications", level="junior", obtained_on="1989-01-01"), stored)[1]) == {
        "qualifications.0.obtained_on": "before_birth"
    }
    assert codes(check(entry("work_history", unit_name="甲", **{"from": "2006-05-16"}), stored)[1]) == {
        "work_history.0.from": "before_age_16"
    }


def test_accounting_since_sixteenth_birthday():
    stored = {"profile": {"birth_date": "1990-05-17"}}
    assert codes(check({"employment": {"accounting_since": "2006-05-16"}}, stored)[1]) == {
        "employment.accounting_since": "before_age_16"
    }
    assert check({"employment": {"accounting_since": "2006-05-17"}}, stored)[1] == []
    leap = {"profile": {"birth_date": "1988-02-29"}}
    assert codes(check({"employment": {"accounting_since": "2004-02-28"}}, leap)[1]) == {
        "employment.accounting_since": "before_age_16"
    }
    assert check({"employment": {"accounting_since": "2004-02-29"}}, leap)[1] == []


def test_birth_change_rechecks_stored_dates():
    stored = stored_record()
    later = idgen.resident_id("350203", date(2000, 1, 1), "male")
    out, errors = check({"profile": {"id_number": later}}, stored)
    assert out["profile"]["birth_date"] == "2000-01-01"
    assert codes(errors) == {  # 2012 < 16th birthday
        "employment.accounting_since": "before_age_16",
        "work_history.0.from": "before_age_16",
    }
    much_later = idgen.resident_id("350203", date(2013, 1, 1), "male")
    assert codes(check({"profile": {"id_number": much_later}}, stored)[1]) == {
        "educations.0.from": "before_birth",
        "educations.0.to": "before_birth",
        "employment.accounting_since": "before_age_16",
        "work_history.0.from": "before_age_16",
    }
    passport = {
        "profile": {"id_type": "passport", "id_number": "E12345678", "birth_date": "1980-01-01"},
        "educations": [{"id": "eduaaaaa", "to": "2000-07-01"}],
    }
    assert codes(check({"profile": {"birth_date": "2001-01-01"}}, passport)[1]) == {"educations.0.to": "before_birth"}


def test_degree_vs_level():
    assert codes(check(entry("educations", level="associate", degree="bachelor"))[1]) == {
        "educations.0.degree": "degree_inconsistent"
    }
    assert check(entry("educations", level="bachelor", degree="master"))[1] == []  # 同等学力
    assert check(entry("educations", level="associate", degree="none"))[1] == []


def test_no_qualification_is_an_empty_list():
    assert codes(check(entry("qualifications", level="none"))[1]) == {"qualifications.0.level": "invalid_choice"}
    out, errors = check({"qualifications": []}, stored_record())
    assert errors == []
    assert out["qualification"] == {
        "level": "none",
        "obtained_by": None,
        "obtained_on": None,
        "certificate_no": None,
        "issuer": None,
    }
    assert apply_patch(stored_record(), out)["qualification"] == {"level": "none"}


def test_highest_entries_are_derived():
    educations = [
        {"level": "master", "school": "甲大学", "to": "2015-06-30", "degree": "master"},
        {"level": "doctor", "school": "乙大学", "to": "2019-06-30", "degree": "doctor"},
        {"level": "bachelor", "school": "丙大学", "to": "2012-06-30"},
    ]
    qualifications = [
        {"level": "senior", "obtained_on": "2020-01-01"},
        {"level": "junior", "obtained_on": "2013-01-01"},
        {"level": "senior", "obtained_on": "2018-01-01"},
    ]
    out, errors = check({"educations": educations, "qualifications": qualifications})
    assert errors == []
    assert out["education"]["school"] == "乙大学" and out["education"]["graduated_on"] == "2019-06-30"
    assert out["qualification"]["level"] == "senior" and out["qualification"]["obtained_on"] == "2018-01-01"


def test_entry_ids_are_assigned_and_kept():
    stored = stored_record()
    [edu] = stored["educations"]
    assert re.fullmatch(r"[a-z]{8}", edu["id"])
    second = {"level": "master", "school": "乙大学", "mode": "part_time", "from": "2014-09-01", "to": "2017-06-30"}
    out, errors = check({"educations": [edu, second]}, stored)
    assert errors == [] and out["educations"][0]["id"] == edu["id"] and out["educations"][1]["id"] != edu["id"]
    assert codes(check({"educations": [edu, edu]}, stored)[1]) == {"educations.1.id": "duplicate_entry"}
    assert codes(check({"educations": [{**edu, "id": "zzzzzzzz"}]}, stored)[1]) == {"educations.0.id": "unknown_entry"}
    kept = {**stored, "educations": [{**edu, "proof": "diploma"}]}
    out, _ = check({"educations": [{**edu, "proof": "forged"}]}, kept)
    assert out["educations"][0]["proof"] == "diploma"  # the server's, not the client's


def test_work_periods():
    stored = stored_record()
    [job] = stored["work_history"]
    nxt = {"unit_name": "乙公司", "from": "2020-01-01"}
    out, errors = check({"work_history": [{**job, "to": "2019-12-31"}, nxt]}, stored)
    assert errors == [] and out["employment"]["unit_name"] == "乙公司"
    assert codes(check({"work_history": [job, nxt]}, stored)[1]) == {
        "work_history.0.to": "several_current",
        "work_history.0": "periods_overlap",
        "work_history.1": "periods_overlap",
    }
    early = {"unit_name": "丙公司", "from": "2011-01-01", "to": "2011-12-31"}
    assert codes(check({"work_history": [early, job]}, stored)[1]) == {"work_history.0.from": "before_accounting_since"}


# ---- whole records ---------------------------------------------------------------------------


def test_full_record_valid_and_idempotent():
    rec = full_record()
    out, errors = check(rec)
    assert errors == []
    merged = apply_patch({}, out)
    again, errors = check({name: merged[name] for name in LISTS}, merged)  # the lists sent back as they are
    assert errors == [] and apply_patch(merged, again) == merged
    assert validate_record(merged, DISTRICTS, TODAY)[1] == []


def test_apply_patch_does_not_mutate():
    current = full_record()
    snapshot = repr(current)
    apply_patch(current, {"profile": {"name": "李四"}, "contact": {"email": None}})
    assert repr(current) == snapshot


def test_garbage_stored_record_does_not_raise():
    rng = random.Random(7)
    junk = [None, 1, "x", [], {}, True, "1990-13-45", "\ud800"]
    for _ in range(500):
        current = {s: rng.choice(junk + [{f: rng.choice(junk) for f in SECTIONS[s]}]) for s in SECTIONS}
        current["region_code"] = rng.choice(junk)
        for name in LISTS:
            current[name] = rng.choice([*junk, [rng.choice(junk)], [{"id": "abcdefgh", "from": rng.choice(junk)}]])
        current["legacy"] = rng.choice([*junk, {"first_work_date": rng.choice(junk)}])
        patch = {
            "profile": {"birth_date": "1990-01-01", "id_number": ID},
            "educations": [{"degree": "master"}],
            "work_history": [{"from": "2012-01-01"}],
            "employment": {"accounting_since": "2010-01-01"},
        }
        out, errors = check(patch, current)
        assert isinstance(errors, list)
