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
    """A complete, valid record."""
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
        "education": {
            "level": "bachelor",
            "school": "厦门大学",
            "major": "会计学",
            "graduated_on": "2012-07-01",
            "degree": "bachelor",
        },
        "qualification": {
            "level": "intermediate",
            "obtained_by": "exam",
            "obtained_on": "2016-09-10",
            "certificate_no": "Z35020316000123",
            "issuer": "财政部",
        },
        "employment": {
            "in_post": True,
            "unit_name": "厦门某某会计服务有限公司",
            "unit_credit_code": idgen.uscc(),
            "unit_nature": "enterprise",
            "industry": "L",
            "post": "bookkeeping",
            "accounting_since": "2012-08-01",
        },
        "contact": {"mobile": "13800138000", "email": "wang@example.com"},
        "region_code": "350203",
    }
    for key, value in over.items():
        rec[key] = value
    return rec


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
        ("employment.in_post", "true"),
        ("employment.in_post", 1),
        ("employment.in_post", 0),
        ("employment.in_post", []),
        ("profile.name", 123),
        ("profile.name", ["张三"]),
        ("profile.name", {"a": 1}),
        ("profile.gender", True),
        ("profile.birth_date", 19900517),
        ("profile.ethnicity", 1),
        ("education.graduated_on", {}),
        ("contact.mobile", 13800138000),
        ("contact.email", False),
        ("employment.unit_credit_code", 1.5),
        ("profile.id_number", 350203199005171234),
        ("qualification.level", ["junior"]),
        ("region_code", 350203),
        ("region_code", ["350203"]),
    ],
)
def test_wrong_json_types_are_field_errors(field, value):
    section, _, name = field.partition(".")
    patch = {section: {name: value}} if name else {section: value}
    out, errors = check(patch)
    assert codes(errors) == {field: "invalid_type"}


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
        current = full_record() if rng.random() < 0.5 else {}
        out, errors = check(patch, current)
        assert isinstance(out, dict) and isinstance(errors, list)


# ---- per-field normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "section,field,options",
    [(s, f, spec.options) for s, fs in SECTIONS.items() for f, spec in fs.items() if spec.kind == "enum"],
)
def test_enums_are_closed(section, field, options):
    for opt in OPTIONS[options]:
        assert validate_patch({section: {field: opt["code"]}}, {}, DISTRICTS, TODAY)[0][section][field] == opt["code"]
    for bad in ["x", "MALE", "本科", "99"]:
        assert codes(check({section: {field: bad}})[1]) == {f"{section}.{field}": "invalid_choice"}


def test_null_and_empty_string_clear_fields():
    out, errors = check({"contact": {"email": None, "mobile": "  "}}, full_record())
    assert errors == [] and out == {"contact": {"email": None, "mobile": None}}
    merged = apply_patch(full_record(), out)
    assert "email" not in merged["contact"] and "mobile" not in merged["contact"]
    out, errors = check({"region_code": None}, full_record())
    assert out == {"region_code": None} and "region_code" not in apply_patch(full_record(), out)


def test_text_trim_nfc_length_and_characters():
    out, errors = check({"education": {"school": "  厦门\t 大学  ", "major": "Cafe\u0301 管理"}})
    assert errors == [] and out["education"] == {"school": "厦门 大学", "major": "Café 管理"}
    assert codes(check({"education": {"school": "校" * 101}})[1]) == {"education.school": "too_long"}
    assert check({"education": {"school": "校" * 100}})[1] == []
    for bad in ["厦门\x07大学", "厦门\u200e大学", "\ue000大学", "厦门\ud800"]:
        assert codes(check({"education": {"school": bad}})[1]) == {"education.school": "invalid_characters"}
    assert check({"education": {"school": "\U00031350大学"}})[1] == []  # Ext H is not "unassigned"


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
    assert codes(check({"education": {"graduated_on": value}})[1]) == {"education.graduated_on": code}


def test_good_dates():
    for value in ["2025-06-01", "2000-02-29", " 1990-01-01 "]:
        out, errors = check({"education": {"graduated_on": value}})
        assert errors == [] and out["education"]["graduated_on"] == value.strip()


def test_mobile_email_uscc_certificate_normalised():
    code = idgen.uscc("9", "1", "350206")
    out, errors = check(
        {
            "contact": {"mobile": "+86 138-0013-8000", "email": "Wang@Example.COM"},
            "employment": {"unit_credit_code": code.lower()},
            "qualification": {"level": "junior", "certificate_no": " z-3502 0316 "},
        }
    )
    assert errors == []
    assert out["contact"] == {"mobile": "13800138000", "email": "Wang@example.com"}
    assert out["employment"]["unit_credit_code"] == code
    assert out["qualification"]["certificate_no"] == "Z-35020316"
    out, errors = check({"contact": {"mobile": "１３８００１３８０００"}})  # full-width digits
    assert out["contact"]["mobile"] == "13800138000"
    wrong = code[:17] + ("0" if code[-1] != "0" else "1")
    _, errors = check(
        {
            "contact": {"mobile": "12345678901", "email": "x@y"},
            "employment": {"unit_credit_code": wrong},
            "qualification": {"certificate_no": "Z1#"},
        }
    )
    assert codes(errors) == {
        "contact.mobile": "mobile_format",
        "contact.email": "email_format",
        "employment.unit_credit_code": "uscc_checksum",
        "qualification.certificate_no": "certificate_no_format",
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
    assert codes(check({"education": {"graduated_on": "1990-05-17"}}, stored)[1]) == {
        "education.graduated_on": "before_birth"
    }
    assert check({"education": {"graduated_on": "1990-05-18"}}, stored)[1] == []
    assert codes(check({"qualification": {"level": "junior", "obtained_on": "1989-01-01"}}, stored)[1]) == {
        "qualification.obtained_on": "before_birth"
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
    stored = full_record()
    later = idgen.resident_id("350203", date(2000, 1, 1), "male")
    out, errors = check({"profile": {"id_number": later}}, stored)
    assert out["profile"]["birth_date"] == "2000-01-01"
    assert codes(errors) == {"employment.accounting_since": "before_age_16"}  # 2012 < 16th birthday
    much_later = idgen.resident_id("350203", date(2013, 1, 1), "male")
    assert codes(check({"profile": {"id_number": much_later}}, stored)[1]) == {
        "education.graduated_on": "before_birth",
        "employment.accounting_since": "before_age_16",
    }
    passport = {
        "profile": {"id_type": "passport", "id_number": "E12345678", "birth_date": "1980-01-01"},
        "education": {"graduated_on": "2000-07-01"},
    }
    assert codes(check({"profile": {"birth_date": "2001-01-01"}}, passport)[1]) == {
        "education.graduated_on": "before_birth"
    }


def test_degree_vs_level():
    assert codes(check({"education": {"level": "associate", "degree": "bachelor"}})[1]) == {
        "education.degree": "degree_inconsistent"
    }
    assert check({"education": {"level": "bachelor", "degree": "master"}})[1] == []  # 同等学力
    assert check({"education": {"level": "associate", "degree": "none"}})[1] == []
    stored = {"education": {"level": "high_school"}}
    assert codes(check({"education": {"degree": "doctor"}}, stored)[1]) == {"education.degree": "degree_inconsistent"}


def test_qualification_none():
    _, errors = check({"qualification": {"level": "none", "certificate_no": "Z123456"}})
    assert codes(errors) == {"qualification.certificate_no": "not_applicable"}
    out, errors = check({"qualification": {"level": "none"}}, full_record())
    assert errors == []
    assert out["qualification"] == {
        "level": "none",
        "obtained_by": None,
        "obtained_on": None,
        "certificate_no": None,
        "issuer": None,
    }
    assert apply_patch(full_record(), out)["qualification"] == {"level": "none"}


# ---- whole records ---------------------------------------------------------------------------


def test_full_record_valid_and_idempotent():
    rec = full_record()
    out, errors = check(rec)
    assert errors == []
    merged = apply_patch({}, out)
    again, errors = check(merged, merged)
    assert errors == [] and apply_patch(merged, again) == merged
    assert validate_record(rec, DISTRICTS, TODAY)[1] == []


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
        patch = {
            "profile": {"birth_date": "1990-01-01", "id_number": ID},
            "education": {"degree": "master"},
            "qualification": {"level": "none"},
            "employment": {"accounting_since": "2010-01-01"},
        }
        out, errors = check(patch, current)
        assert isinstance(errors, list)
