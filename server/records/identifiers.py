"""Checks for identity numbers, credit codes, phone numbers and e-mail addresses."""

from __future__ import annotations

import re
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
