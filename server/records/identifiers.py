"""Checks for identity numbers, travel permits, credit codes, phone numbers and e-mail addresses."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc

from .errors import FieldProblem

MIN_DATE = date(1900, 1, 1)

# GB/T 2260 province-level prefixes used on resident identity cards.
RESIDENT_PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
    }
)
# Residence permits for Hong Kong, Macao and Taiwan residents (港澳台居民居住证).
PERMIT_PREFIXES = {"810000": "HKG", "820000": "MAC", "830000": "TWN"}

_ID18_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100 registration authority codes (first character).
_USCC_AUTHORITIES = "123456789ANY"
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


@dataclass(frozen=True)
class IdentityInfo:
    """What an 18-character GB 11643 number tells about its holder."""

    number: str
    birth_date: date
    gender: str  # "male" / "female"
    area: str  # first 6 digits


def id18_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for 17 digits (GB 11643)."""
    return _ric.calc_check_digit(first17 + "0")


def _parse_id18(raw: str, today: date, label: str) -> IdentityInfo:
    """Check length, charset, check digit and embedded birth date of a GB 11643 number."""
    number = re.sub(r"\s+", "", raw).upper()
    if not _ID18_RE.match(number):
        raise FieldProblem("id_number_format", f"{label}应为18位，前17位为数字，最后一位为数字或X")
    if number[-1] != id18_check_char(number[:17]):
        raise FieldProblem("id_number_checksum", f"{label}校验位不正确，请核对")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise FieldProblem("id_number_birth_date", f"{label}中的出生日期不是有效日期") from None
    if born < MIN_DATE or born > today:
        raise FieldProblem("id_number_birth_date", f"{label}中的出生日期不合理")
    gender = "male" if int(number[16]) % 2 == 1 else "female"
    return IdentityInfo(number=number, birth_date=born, gender=gender, area=number[:6])


def parse_resident_id(raw: str, today: date) -> IdentityInfo:
    """Validate a 居民身份证 number (lowercase x accepted) or raise FieldProblem."""
    info = _parse_id18(raw, today, "身份证号码")
    if info.area in PERMIT_PREFIXES:
        raise FieldProblem("id_number_region", "该号码为港澳台居民居住证号码，请将证件类型选择为港澳台居民居住证")
    if info.area[:2] not in RESIDENT_PROVINCES:
        raise FieldProblem("id_number_region", "身份证号码前6位地址码无效")
    return info


def parse_residence_permit(raw: str, today: date) -> IdentityInfo:
    """Validate a 港澳台居民居住证 number (810000/820000/830000 prefix) or raise FieldProblem."""
    number = re.sub(r"\s+", "", raw).upper()
    if len(number) == 18 and number[:6] not in PERMIT_PREFIXES:
        raise FieldProblem("permit_prefix", "港澳台居民居住证号码应以810000、820000或830000开头")
    return _parse_id18(number, today, "居住证号码")


def permit_region(number: str) -> str | None:
    """ISO alpha-3 code (HKG/MAC/TWN) implied by a permit number prefix."""
    return PERMIT_PREFIXES.get(number[:6])


def normalize_passport(raw: str) -> str:
    """Validate a passport number (5-20 letters/digits, uppercased) or raise FieldProblem."""
    number = re.sub(r"[\s-]+", "", raw).upper()
    if not _PASSPORT_RE.match(number):
        raise FieldProblem("passport_format", "护照号码应为5至20位字母或数字")
    return number


# --- Travel permits: 港澳居民来往内地通行证 and 台湾居民来往大陆通行证 ---------------------------
#
# Formats, as published (what the docstrings below rely on):
# * 港澳居民来往内地通行证 (回乡证). Ministry of Public Security, "港澳居民来往内地通行证号码规则",
#   published 2010-03-10 (reprinted by 中国新闻网, gn/news/2010/03-10/2162152): the number of the
#   1999 card has 11 characters: "H" (issued to Hong Kong residents) or "M" (Macao), the holder's
#   8-digit lifetime number (终身号), then 2 digits counting renewals (00 at first issue); the first
#   9 characters never change, which shows two cards belong to one holder. The electronic card
#   (2012 version, re-issued 2019 by 中华人民共和国出入境管理局; zh.wikipedia "港澳居民来往内地通行证")
#   prints the 9-character lifetime number "H"/"M" + 8 digits as 证件号码 and the renewal count as
#   a separate field 换证次数 (the same layout is described for the 2024 card below); validators
#   in use accept both, e.g. [HM] + 8 or 10 digits. Since 2024-07-10 non-Chinese permanent
#   residents get a 港澳居民来往内地通行证（非中国籍）: 9 characters starting "HA"/"MA", "一人一号、
#   终身不变" (NIA notice, 香港新闻网 2024-07-01; CTS https://ctshk.com/mep/zh/template_attach1); it
#   does not allow work or study in the mainland, so it is refused here with a pointer to the passport.
# * 台湾居民来往大陆通行证 (台胞证). 中新社 2008-09-11 "台胞证9月25日起实行'一人一号、终身不变'":
#   the 1992 booklet's number was the 8-digit lifetime number + 2 digits counting issues + the
#   issuing office's code (a letter or digit) in parentheses, e.g. 0561682001(D); Fujian, Jiangsu
#   and Shanghai dropped the parentheses and code from June 2006; from 2008-09-25 the number is the
#   8-digit lifetime number only. The 2015 electronic card (Fujian from 2015-07-06, 中国新闻网
#   2015-07-01) keeps the 8 digits (ETtoday travel news 948660: "原本8位數證號"). An 18-digit
#   number starting 830000 is a 台湾居民居住证 (residence permit), not this permit.
# Old formats can no longer be on a valid card (5/10-year validity), but stored and register data
# may carry them: they are accepted, flagged `current_format=False`, and keyed by the lifetime
# number (see archive_no_for).

HK_MACAO_PERMIT = "hk_macao_permit"
TAIWAN_PERMIT = "taiwan_permit"
TRAVEL_PERMIT_LABELS: dict[str, str] = {
    HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    TAIWAN_PERMIT: "台湾居民来往大陆通行证",
}
# Region (ISO 3166 alpha-3 as in the "nationalities" options) of an HK/Macao permit's first letter.
HK_MACAO_REGIONS: dict[str, str] = {"H": "HKG", "M": "MAC"}
TAIWAN_REGION = "TWN"
# The two document images each permit type needs (kind, Chinese label), in display order.
TRAVEL_PERMIT_DOCUMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    HK_MACAO_PERMIT: (
        ("hkmo_permit_front", "港澳居民来往内地通行证人像面"),
        ("hkmo_permit_back", "港澳居民来往内地通行证背面"),
    ),
    TAIWAN_PERMIT: (
        ("tw_permit_front", "台湾居民来往大陆通行证人像面"),
        ("tw_permit_back", "台湾居民来往大陆通行证背面"),
    ),
}
# Archive-number prefixes of the travel permits (see archive_no_for).
ARCHIVE_PREFIXES: dict[str, str] = {HK_MACAO_PERMIT: "GA", TAIWAN_PERMIT: "TW"}

_PERMIT_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_HKMO_RE = re.compile(r"^([HM])([0-9]{8})([0-9]{2})?$")
_HKMO_NON_CHINESE_RE = re.compile(r"^[HM]A[0-9]{7}$")
_TW_RE = re.compile(r"^([0-9]{8})(?:([0-9]{2})(?:\(([A-Z0-9])\)|([A-Z]))?)?$")
_HKMO_MESSAGE = "港澳居民来往内地通行证号码应为字母H（香港）或M（澳门）加8位数字，如H12345678"
_TW_MESSAGE = "台湾居民来往大陆通行证号码应为8位数字，如12345678"
_USE_RESIDENCE_PERMIT = "该号码为港澳台居民居住证号码，请将证件类型选择为港澳台居民居住证"


@dataclass(frozen=True)
class TravelPermitInfo:
    """What a travel-permit number tells: the number as printed, the region, the lifetime number."""

    number: str  # normalised: ASCII, uppercase, no spaces or dashes
    region: str  # HKG / MAC / TWN
    lifetime_no: str  # 终身号: "H12345678" / "12345678", the same across renewals
    current_format: bool  # False for the pre-2012 (HK/Macao) and pre-2008 (Taiwan) numbers

    @property
    def nationalities(self) -> frozenset[str]:
        """Nationality codes that fit: the region (derived when absent) or CHN, as for residence
        permits (holders are Chinese citizens resident in Hong Kong, Macao or Taiwan)."""
        return frozenset({self.region, "CHN"})


def _clean_permit(raw: str) -> str:
    """NFKC (full-width letters, digits, parentheses), separators dropped, uppercase."""
    return _PERMIT_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()


def parse_hk_macao_permit(raw: str) -> TravelPermitInfo:
    """Validate a 港澳居民来往内地通行证 number or raise FieldProblem `invalid_hk_macao_permit`.

    Current cards: "H"/"M" + 8 digits (the lifetime number). 1999 cards: the same + 2 digits counting
    renewals (accepted, not current). "HA"/"MA" cards (非中国籍, 2024) do not allow work: refused.
    Sources are listed above TRAVEL_PERMIT_LABELS.
    """
    number = _clean_permit(raw)
    if _HKMO_NON_CHINESE_RE.match(number):
        raise FieldProblem(
            "invalid_hk_macao_permit", "港澳居民来往内地通行证（非中国籍）不能用于在内地就业，请以护照登记"
        )
    match = _HKMO_RE.match(number)
    if match is None:
        if len(number) == 18 and number[:6] in PERMIT_PREFIXES:
            raise FieldProblem("invalid_hk_macao_permit", _USE_RESIDENCE_PERMIT)
        if re.fullmatch(r"[0-9]{8}", number):
            raise FieldProblem("invalid_hk_macao_permit", f"{_HKMO_MESSAGE}；8位纯数字为台湾居民来往大陆通行证号码")
        raise FieldProblem("invalid_hk_macao_permit", _HKMO_MESSAGE)
    letter, lifetime, renewals = match.groups()
    return TravelPermitInfo(
        number=number,
        region=HK_MACAO_REGIONS[letter],
        lifetime_no=letter + lifetime,
        current_format=renewals is None,
    )


def parse_taiwan_permit(raw: str) -> TravelPermitInfo:
    """Validate a 台湾居民来往大陆通行证 number or raise FieldProblem `invalid_taiwan_permit`.

    Since 2008 (and on the 2015 card): 8 digits, the lifetime number. Before: 10 digits (lifetime
    number + issue count), often followed by the issuing office's code in parentheses, e.g.
    0561682001(D); accepted (written with ASCII parentheses), not current. Sources above.
    """
    number = _clean_permit(raw)
    match = _TW_RE.match(number)
    if match is None:
        if len(number) == 18 and number[:6] in PERMIT_PREFIXES:
            raise FieldProblem("invalid_taiwan_permit", _USE_RESIDENCE_PERMIT)
        if _HKMO_RE.match(number) or _HKMO_NON_CHINESE_RE.match(number):
            raise FieldProblem(
                "invalid_taiwan_permit", "该号码为港澳居民来往内地通行证号码，请将证件类型选择为港澳居民来往内地通行证"
            )
        raise FieldProblem(
            "invalid_taiwan_permit", f"{_TW_MESSAGE}；2008年以前的旧证为10位数字，可带括号内的签发机关代码"
        )
    lifetime, issues, office_in_brackets, office_bare = match.groups()
    office = office_in_brackets or office_bare
    return TravelPermitInfo(
        number=lifetime + (issues or "") + (f"({office})" if office else ""),
        region=TAIWAN_REGION,
        lifetime_no=lifetime,
        current_format=issues is None,
    )


def parse_travel_permit(id_type: str, raw: str) -> TravelPermitInfo:
    """Dispatch on id_type ("hk_macao_permit" / "taiwan_permit")."""
    if id_type == HK_MACAO_PERMIT:
        return parse_hk_macao_permit(raw)
    if id_type == TAIWAN_PERMIT:
        return parse_taiwan_permit(raw)
    raise ValueError(f"not a travel permit type: {id_type!r}")


def archive_no_for(id_type: str | None, number: str | None) -> str | None:
    """The archive number (会计人员档案号) of an identity document; None without a number.

    Rule:
    * resident_id, residence_permit, passport (and a missing/unknown type): the number uppercased,
      whitespace removed — unchanged, so every existing archive keeps its number.
    * hk_macao_permit: "GA" + the lifetime number, e.g. H1234567801 and H12345678 -> "GAH12345678".
    * taiwan_permit: "TW" + the lifetime number, e.g. 0561682001(D) and 05616820 -> "TW05616820".
    Why a prefix: the permits are numbered independently of passports, and their shapes are
    passport shapes (a letter + 8 digits is how Chinese and several foreign passports are
    numbered; 8 digits occur too), so an unprefixed number could name two people. The prefixed
    forms (10 and 11 characters) cannot equal a resident-ID/residence-permit number (18) nor a
    passport number that fits the 9-character document-number field of an ICAO 9303 MRZ; a longer
    passport number that happened to match would be refused by the archive-number claim
    (`archive_no_taken`), never merged. They stay within [0-9A-Z]{8,20}, so staff search finds them.
    Keying by the lifetime number keeps one archive number across renewals ("一人一号、终身不变").
    A travel-permit number that does not parse (never after validation) falls back to prefix + the
    cleaned number rather than raising.
    """
    if not isinstance(number, str) or not number.strip():
        return None
    if id_type not in ARCHIVE_PREFIXES:
        return "".join(number.split()).upper()
    prefix = ARCHIVE_PREFIXES[id_type]
    try:
        return prefix + parse_travel_permit(id_type, number).lifetime_no
    except FieldProblem:
        return prefix + _clean_permit(number)


def archive_no_candidates(text: str) -> list[str]:
    """Every archive number a typed document number may stand for, without knowing its type: the
    number itself (resident ID, residence permit, passport) and, when it parses as one, a travel
    permit's prefixed number. Staff search and the public query look each of them up by `_id`."""
    plain = "".join(text.split()).upper()
    found = [plain] if plain else []
    for id_type in ARCHIVE_PREFIXES:
        try:
            permit = parse_travel_permit(id_type, text)
        except FieldProblem:
            continue
        key = ARCHIVE_PREFIXES[id_type] + permit.lifetime_no
        if key not in found:
            found.append(key)
    return found


def uscc_check_char(first17: str) -> str:
    """GB 32100 check character for the first 17 characters of a credit code."""
    return _uscc.calc_check_digit(first17)


def normalize_uscc(raw: str) -> str:
    """Validate a unified social credit code (GB 32100) or raise FieldProblem."""
    code = re.sub(r"[\s-]+", "", raw).upper()
    if (
        len(code) != 18
        or code[0] not in _USCC_AUTHORITIES
        or not code[1:8].isdigit()
        or any(c not in _USCC_CHARS for c in code[8:])
        or not code.isascii()
    ):
        raise FieldProblem("uscc_format", "统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）")
    if code[-1] != uscc_check_char(code[:17]):
        raise FieldProblem("uscc_checksum", "统一社会信用代码校验位不正确，请核对")
    return code


def normalize_mobile(raw: str) -> str:
    """Validate a mainland mobile number, dropping +86/0086, spaces and dashes."""
    text = re.sub(r"[\s\-()（）]+", "", raw)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not text.isascii() or not _MOBILE_RE.match(text):
        raise FieldProblem("mobile_format", "请输入11位中国大陆手机号码")
    return text


def normalize_email(raw: str) -> str:
    """Validate an e-mail address (basic format) and lowercase its domain."""
    text = raw.strip()
    if len(text) > 254 or not _EMAIL_RE.match(text) or len(text.split("@")[0]) > 64:
        raise FieldProblem("email_format", "电子邮箱格式不正确")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"
