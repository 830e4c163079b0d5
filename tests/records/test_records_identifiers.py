"""Identity numbers, permits, passports, credit codes, mobiles and e-mails."""

import random
from datetime import date

import pytest

from server.records import identifiers as ids
from tests.records import idgen

TODAY = date(2025, 6, 1)


def test_generator_matches_stdnum_and_known_samples():
    from stdnum.cn import ric, uscc

    assert idgen.id_check_char("11010519491231002") == "X"
    assert idgen.id_check_char("36042619910101007") == "1"
    assert idgen.uscc_check_char("91110000600037341") == "L"
    for number in idgen.random_resident_ids(50):
        assert ric.calc_check_digit(number) == number[-1]
    for code in idgen.random_usccs(50):
        assert uscc.calc_check_digit(code[:17]) == code[-1]


@pytest.mark.parametrize("number", idgen.random_resident_ids(300, seed=7))
def test_random_resident_ids_are_valid(number):
    info = ids.parse_resident_id(number, TODAY)
    assert info.number == number
    assert info.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert info.gender == ("male" if int(number[16]) % 2 else "female")


@pytest.mark.parametrize("gender", ["male", "female"])
def test_x_check_digit_and_lowercase_x(gender):
    number = idgen.resident_id_with_x(gender=gender)
    assert number.endswith("X")
    assert ids.parse_resident_id(number, TODAY).number == number
    info = ids.parse_resident_id(number.lower(), TODAY)
    assert info.number == number and info.gender == gender
    assert ids.parse_resident_id("11010519491231002x", TODAY).gender == "female"


def test_area_codes_unknown_to_stdnum_are_accepted():
    from stdnum.cn import ric

    number = idgen.resident_id("350299", date(1990, 1, 1))  # plausible but not a real county
    with pytest.raises(Exception):  # stdnum's region lookup rejects it (even crashes with KeyError)
        assert ric.validate(number)
    assert ids.parse_resident_id(number, TODAY).area == "350299"


@pytest.mark.parametrize(
    "number,code",
    [
        ("35020319900101123", "id_number_format"),
        ("3502031990010112345", "id_number_format"),
        ("35020319900101A23X", "id_number_format"),
        ("X50203199001011234", "id_number_format"),
        ("", "id_number_format"),
    ],
)
def test_resident_id_format_errors(number, code):
    assert idgen.code_of(ids.parse_resident_id, number, TODAY) == code


def test_resident_id_checksum_error():
    for number in idgen.random_resident_ids(30, seed=3) + [idgen.resident_id_with_x()]:
        assert idgen.code_of(ids.parse_resident_id, idgen.with_wrong_check(number), TODAY) == "id_number_checksum"


@pytest.mark.parametrize(
    "first17",
    [
        "35020319900230123",  # 30 Feb
        "35020319901301123",  # month 13
        "35020318991231123",  # before 1900
        "35020320250602123",  # after TODAY
    ],
)
def test_resident_id_birth_date_errors(first17):
    number = first17 + idgen.id_check_char(first17)
    assert idgen.code_of(ids.parse_resident_id, number, TODAY) == "id_number_birth_date"


def test_birth_today_is_accepted():
    number = idgen.resident_id("350203", TODAY)
    assert ids.parse_resident_id(number, TODAY).birth_date == TODAY


@pytest.mark.parametrize("area", ["000000", "990101", "700101", "810000", "830000", "710000"])
def test_resident_id_region_errors(area):
    number = idgen.resident_id(area, date(1990, 1, 1))
    assert idgen.code_of(ids.parse_resident_id, number, TODAY) == "id_number_region"


@pytest.mark.parametrize("prefix,region", [("810000", "HKG"), ("820000", "MAC"), ("830000", "TWN")])
def test_residence_permits(prefix, region):
    rng = random.Random(prefix)
    for _ in range(20):
        number = idgen.residence_permit(prefix, idgen.random_birth(rng), rng.choice(["male", "female"]), rng=rng)
        info = ids.parse_residence_permit(number, TODAY)
        assert info.number == number and ids.permit_region(number) == region
    leap = idgen.residence_permit(prefix, date(1988, 2, 29), "female")
    assert ids.parse_residence_permit(leap, TODAY).birth_date == date(1988, 2, 29)


def test_residence_permit_errors():
    assert idgen.code_of(ids.parse_residence_permit, idgen.resident_id("840000"), TODAY) == "permit_prefix"
    assert idgen.code_of(ids.parse_residence_permit, idgen.resident_id("350203"), TODAY) == "permit_prefix"
    bad = idgen.with_wrong_check(idgen.residence_permit("820000"))
    assert idgen.code_of(ids.parse_residence_permit, bad, TODAY) == "id_number_checksum"
    assert idgen.code_of(ids.parse_residence_permit, "81000019900101", TODAY) == "id_number_format"
    x = idgen.resident_id_with_x("830000")
    assert ids.parse_residence_permit(x.lower(), TODAY).number == x


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("e12345678", "E12345678"),
        ("G 1234 5678", "G12345678"),
        ("AB123", "AB123"),
        ("123456789012345678XY", "123456789012345678XY"),
        ("k-1234567", "K1234567"),
    ],
)
def test_passport_ok(raw, expected):
    assert ids.normalize_passport(raw) == expected


@pytest.mark.parametrize("raw", ["AB12", "A" * 21, "E1234#567", "E12345６78护", "Ε12345678"])
def test_passport_bad(raw):
    assert idgen.code_of(ids.normalize_passport, raw) == "passport_format"


def test_uscc_valid_and_normalised():
    assert ids.normalize_uscc("91110000600037341L") == "91110000600037341L"
    assert ids.normalize_uscc(" 9111 0000-6000 37341l ") == "91110000600037341L"
    for code in idgen.random_usccs(200, seed=5):
        assert ids.normalize_uscc(code) == code
        assert ids.normalize_uscc(code.lower()) == code


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341",
        "91110000600037341LL",
        "9111000060003734IL",
        "Z1110000600037341L",
        "9A110000600037341L",
        "91110000600O37341L",
    ],
)
def test_uscc_format_errors(code):
    assert idgen.code_of(ids.normalize_uscc, code) == "uscc_format"


def test_uscc_checksum_errors():
    for code in idgen.random_usccs(50, seed=9):
        wrong = code[:17] + ("0" if code[-1] != "0" else "1")
        assert idgen.code_of(ids.normalize_uscc, wrong) == "uscc_checksum"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "8613800138000",
        " 138-0013-8000 ",
        "(+86)13800138000",
    ],
)
def test_mobile_ok(raw):
    assert ids.normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "12800138000",
        "1380013800",
        "138001380001",
        "+1 13800138000",
        "1380013800a",
        "0592-5398135",
        "+8612800138000",
        "",
    ],
)
def test_mobile_bad(raw):
    assert idgen.code_of(ids.normalize_mobile, raw) == "mobile_format"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("kuaiji@Example.COM", "kuaiji@example.com"),
        ("a.b+c@mail.xm.gov.cn", "a.b+c@mail.xm.gov.cn"),
        ("Zhang_San@163.com", "Zhang_San@163.com"),
    ],
)
def test_email_ok(raw, expected):
    assert ids.normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "a@b",
        "a b@c.com",
        "@x.com",
        "a@@b.com",
        "a..b@c.com",
        "a@-b.com",
        "张三@163.com",
        "a@b.c",
        "a" * 65 + "@b.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_email_bad(raw):
    assert idgen.code_of(ids.normalize_email, raw) == "email_format"
