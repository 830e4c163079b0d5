"""港澳居民来往内地通行证 and 台湾居民来往大陆通行证: number formats, regions, archive numbers, images."""

import random
import re
import string

import pytest

from server.records import identifiers as ids
from server.records.errors import FieldProblem
from server.records.options import DOCUMENT_KINDS, option_codes
from server.records.validation import archive_no
from server.review.queue import ID_LIKE
from tests.records import idgen

HK = "hk_macao_permit"
TW = "taiwan_permit"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def hk_numbers(n: int, seed: int) -> list[str]:
    """Current-format cards: H or M + an 8-digit lifetime number."""
    rng = random.Random(seed)
    return [rng.choice("HM") + _digits(rng, 8) for _ in range(n)]


def tw_numbers(n: int, seed: int) -> list[str]:
    """Current-format cards: an 8-digit lifetime number (leading zeros occur, e.g. 05616820)."""
    rng = random.Random(seed)
    return [_digits(rng, 8) for _ in range(n)]


def _problem(parse, raw: str) -> FieldProblem:
    with pytest.raises(FieldProblem) as caught:
        parse(raw)
    return caught.value


# --- 港澳居民来往内地通行证 ------------------------------------------------------------------


@pytest.mark.parametrize("number", hk_numbers(200, seed=14))
def test_current_hk_macao_numbers_are_valid(number):
    info = ids.parse_hk_macao_permit(number)
    assert info.number == number
    assert info.lifetime_no == number
    assert info.region == {"H": "HKG", "M": "MAC"}[number[0]]
    assert info.current_format is True
    assert info.nationalities == {info.region, "CHN"}


@pytest.mark.parametrize(
    ("raw", "number", "region", "lifetime", "current"),
    [
        ("H12345678", "H12345678", "HKG", "H12345678", True),
        ("M08123456", "M08123456", "MAC", "M08123456", True),
        ("h60218834", "H60218834", "HKG", "H60218834", True),  # lowercase letter
        (" H 6021 8834 ", "H60218834", "HKG", "H60218834", True),  # spaces as read off the card
        ("H-6021-8834", "H60218834", "HKG", "H60218834", True),
        ("M–0812–3456", "M08123456", "MAC", "M08123456", True),  # en dashes pasted from a document
        ("Ｈ６０２１８８３４", "H60218834", "HKG", "H60218834", True),  # full-width input method
        ("H6021883400", "H6021883400", "HKG", "H60218834", False),  # 1999 card, first issue (00)
        ("H6021883403", "H6021883403", "HKG", "H60218834", False),  # 1999 card, third renewal
        ("m0812345601", "M0812345601", "MAC", "M08123456", False),
    ],
)
def test_hk_macao_normalisation_region_and_lifetime_number(raw, number, region, lifetime, current):
    info = ids.parse_hk_macao_permit(raw)
    assert (info.number, info.region, info.lifetime_no, info.current_format) == (number, region, lifetime, current)
    assert ids.parse_hk_macao_permit(info.number) == info  # normalising is idempotent


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "H",
        "H1234567",  # 7 digits
        "H123456789",  # 9 digits
        "H123456789012",  # 12 digits
        "H12345678901",  # 11 digits after the letter
        "A12345678",  # not H/M
        "E12345678",  # a Chinese passport number
        "K12345678",
        "HK12345678",
        "12345678H",
        "H1234567X",
        "H12345678(1)",
        "H12345678A",
        "港H12345678",
        "H١٢٣٤٥٦٧٨",  # Arabic-Indic digits are not ASCII digits
        "A123456(7)",  # a Hong Kong identity card number
        "H12.345678",
        "H12345678 01 X",
    ],
)
def test_malformed_hk_macao_numbers_are_refused(raw):
    problem = _problem(ids.parse_hk_macao_permit, raw)
    assert problem.code == "invalid_hk_macao_permit"
    assert "H（香港）或M（澳门）加8位数字" in problem.message


@pytest.mark.parametrize("raw", ["HA1234567", "ma7654321", "HA 123 4567"])
def test_non_chinese_hk_macao_permits_point_to_the_passport(raw):
    problem = _problem(ids.parse_hk_macao_permit, raw)
    assert problem.code == "invalid_hk_macao_permit"
    assert "非中国籍" in problem.message and "护照" in problem.message


def test_hk_macao_hints_for_other_documents():
    taiwan = _problem(ids.parse_hk_macao_permit, "05616820")
    assert taiwan.code == "invalid_hk_macao_permit" and "台湾居民来往大陆通行证" in taiwan.message
    for prefix in ("810000", "820000", "830000"):
        residence = _problem(ids.parse_hk_macao_permit, idgen.residence_permit(prefix))
        assert residence.code == "invalid_hk_macao_permit" and "港澳台居民居住证" in residence.message


# --- 台湾居民来往大陆通行证 ------------------------------------------------------------------


@pytest.mark.parametrize("number", tw_numbers(200, seed=15))
def test_current_taiwan_numbers_are_valid(number):
    info = ids.parse_taiwan_permit(number)
    assert (info.number, info.lifetime_no, info.region, info.current_format) == (number, number, "TWN", True)
    assert info.nationalities == {"TWN", "CHN"}


@pytest.mark.parametrize(
    ("raw", "number", "lifetime", "current"),
    [
        ("05616820", "05616820", "05616820", True),
        ("0561 6820", "05616820", "05616820", True),
        ("０５６１６８２０", "05616820", "05616820", True),  # full-width digits
        ("0561682001(D)", "0561682001(D)", "05616820", False),  # booklet issued by CTS Macao
        ("0561682001（D）", "0561682001(D)", "05616820", False),  # full-width parentheses
        ("0561682001 (b)", "0561682001(B)", "05616820", False),
        ("0561682001D", "0561682001(D)", "05616820", False),  # code typed without parentheses
        ("1029384702(1)", "1029384702(1)", "10293847", False),  # office code may be a digit
        ("1029384702", "1029384702", "10293847", False),  # Fujian/Jiangsu/Shanghai, 2006-2008
    ],
)
def test_taiwan_normalisation_and_lifetime_number(raw, number, lifetime, current):
    info = ids.parse_taiwan_permit(raw)
    assert (info.number, info.lifetime_no, info.current_format, info.region) == (number, lifetime, current, "TWN")
    assert ids.parse_taiwan_permit(info.number) == info


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1234567",  # 7 digits
        "123456789",  # 9 digits
        "12345678901",  # 11 digits
        "123456789012",
        "12345678(B)",  # office code only came after the issue count
        "12345678B",
        "1234567890(AB)",
        "1234567890()",
        "1234567890(",
        "1234567890(D",
        "1234567a",
        "A123456789",  # a Taiwan national identity card number
        "F290299977",
        "T12345678",
        "台12345678",
        "١٢٣٤٥٦٧٨",
        "1234.5678",
    ],
)
def test_malformed_taiwan_numbers_are_refused(raw):
    problem = _problem(ids.parse_taiwan_permit, raw)
    assert problem.code == "invalid_taiwan_permit"
    assert "8位数字" in problem.message


def test_taiwan_hints_for_other_documents():
    for raw in ("H60218834", "M0812345601", "HA1234567"):
        problem = _problem(ids.parse_taiwan_permit, raw)
        assert problem.code == "invalid_taiwan_permit" and "港澳居民来往内地通行证" in problem.message
    problem = _problem(ids.parse_taiwan_permit, idgen.residence_permit("830000"))
    assert problem.code == "invalid_taiwan_permit" and "港澳台居民居住证" in problem.message


def _mutate(rng: random.Random, text: str, alphabet: str) -> str:
    """0-3 random insertions, deletions or replacements."""
    chars = list(text)
    for _ in range(rng.randint(0, 3)):
        at = rng.randint(0, len(chars))
        op = rng.choice("idr")
        if op == "i":
            chars.insert(at, rng.choice(alphabet))
        elif chars and at < len(chars):
            if op == "d":
                del chars[at]
            else:
                chars[at] = rng.choice(alphabet)
    return "".join(chars)


def test_mutated_numbers_either_parse_to_the_format_or_raise_field_problem():
    rng = random.Random(2025)
    alphabet = string.ascii_letters + string.digits + " -()（）．。HMhm０１２３港台\t"
    seeds = hk_numbers(50, seed=41) + tw_numbers(50, seed=42) + ["H6021883401", "0561682001(D)", "HA1234567"]
    outcomes = {"valid": 0, "refused": 0}
    for _ in range(4000):
        raw = _mutate(rng, rng.choice(seeds), alphabet)
        for parse, code, pattern in (
            (ids.parse_hk_macao_permit, "invalid_hk_macao_permit", r"[HM][0-9]{8}([0-9]{2})?"),
            (ids.parse_taiwan_permit, "invalid_taiwan_permit", r"[0-9]{8}([0-9]{2}(\([A-Z0-9]\))?)?"),
        ):
            try:
                info = parse(raw)
            except FieldProblem as p:
                assert p.code == code
                outcomes["refused"] += 1
                continue
            outcomes["valid"] += 1
            assert re.fullmatch(pattern, info.number), (raw, info.number)
            assert info.number.replace("(", "").replace(")", "") == re.sub(
                r"[^0-9A-Z]", "", raw.upper().translate(_FULL)
            )
    assert outcomes["valid"] > 500 and outcomes["refused"] > 500, outcomes


_FULL = str.maketrans("０１２３", "0123")


def test_dispatch_by_id_type():
    assert ids.parse_travel_permit(HK, "h60218834").number == "H60218834"
    assert ids.parse_travel_permit(TW, "05616820").region == "TWN"
    with pytest.raises(ValueError):
        ids.parse_travel_permit("passport", "E12345678")


# --- Archive numbers -----------------------------------------------------------------------


def test_archive_numbers_of_existing_types_are_unchanged():
    samples = [
        ("resident_id", n) for n in idgen.random_resident_ids(50, seed=21) + [idgen.resident_id_with_x().lower()]
    ]
    samples += [
        ("residence_permit", idgen.residence_permit("810000")),
        ("passport", "e 1234 5678"),
        ("passport", "G12345678"),
    ]
    for id_type, number in samples:
        assert ids.archive_no_for(id_type, number) == archive_no({"profile": {"id_number": number}})
    assert ids.archive_no_for(None, " x1 ") == "X1"
    for empty in (None, "", "   "):
        assert ids.archive_no_for(HK, empty) is None
        assert ids.archive_no_for("resident_id", empty) is None


@pytest.mark.parametrize(
    ("id_type", "numbers", "expected"),
    [
        (HK, ["H60218834", "h 6021 8834", "H6021883400", "H6021883407"], "GAH60218834"),
        (HK, ["M08123456", "M0812345601"], "GAM08123456"),
        (TW, ["05616820", "0561682001(D)", "0561682001", "0561682002(B)", "０５６１６８２０"], "TW05616820"),
    ],
)
def test_travel_permit_archive_numbers_follow_the_lifetime_number(id_type, numbers, expected):
    assert {ids.archive_no_for(id_type, n) for n in numbers} == {expected}


def test_travel_permit_archive_numbers_never_equal_another_documents():
    tw = tw_numbers(300, seed=31)
    hk = hk_numbers(300, seed=32)
    # The same strings used as passport numbers (real passports look like this) keep their own keys.
    passports = {ids.archive_no_for("passport", n) for n in tw + hk}
    permits = {ids.archive_no_for(TW, n) for n in tw} | {ids.archive_no_for(HK, n) for n in hk}
    assert len(permits) == len(set(tw)) + len(set(hk))
    assert not passports & permits
    residents = {ids.archive_no_for("resident_id", n) for n in idgen.random_resident_ids(300, seed=33)}
    assert not residents & permits
    for key in permits:
        assert key is not None
        assert len(key) in (10, 11)  # longer than any ICAO MRZ passport number, shorter than an ID
        assert ID_LIKE.fullmatch(key), key  # staff queue search by number reaches it
    # An HK permit and a Taiwan permit with the same digits stay apart too.
    assert ids.archive_no_for(HK, "H05616820") != ids.archive_no_for(TW, "05616820")


def test_archive_number_of_an_unparsable_permit_does_not_raise():
    assert ids.archive_no_for(TW, "abc 12") == "TWABC12"
    assert ids.archive_no_for(HK, "x-1") == "GAX1"


# --- Constants the record shape wires ------------------------------------------------------


def test_labels_regions_and_documents():
    assert ids.TRAVEL_PERMIT_LABELS == {HK: "港澳居民来往内地通行证", TW: "台湾居民来往大陆通行证"}
    nationalities = set(option_codes("nationalities"))
    assert set(ids.HK_MACAO_REGIONS.values()) | {ids.TAIWAN_REGION} <= nationalities
    kinds = [kind for docs in ids.TRAVEL_PERMIT_DOCUMENTS.values() for kind, _ in docs]
    assert kinds == ["hkmo_permit_front", "hkmo_permit_back", "tw_permit_front", "tw_permit_back"]
    labels = {kind: label for docs in ids.TRAVEL_PERMIT_DOCUMENTS.values() for kind, label in docs}
    assert all(DOCUMENT_KINDS.get(kind, label) == label for kind, label in labels.items())  # same label once wired
    assert not set(kinds) & {"id_front", "id_back", "permit_front", "permit_back", "passport_info", "passport_validity"}
    for id_type, docs in ids.TRAVEL_PERMIT_DOCUMENTS.items():
        front, back = docs
        assert front[1] == ids.TRAVEL_PERMIT_LABELS[id_type] + "人像面"
        assert back[1] == ids.TRAVEL_PERMIT_LABELS[id_type] + "背面"
        assert all(re.fullmatch(r"[a-z_]+", kind) for kind, _ in docs)
    assert set(ids.ARCHIVE_PREFIXES) == set(ids.TRAVEL_PERMIT_LABELS)
