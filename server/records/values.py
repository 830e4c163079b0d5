"""Per-value type checks and normalisation, one function per field kind."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date

from . import identifiers as ids
from .errors import FieldProblem
from .fields import FieldSpec
from .names import is_han, is_name_letter, normalize_name, normalize_pinyin
from .options import option_codes

_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_REGION_RE = re.compile(r"^[0-9]{6}$")
_CERT_EXTRA = set("-()（）〔〕[]【】/")
_BAD_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}

_TYPE_WORDS = {"bool": "true或false"}


def _require_str(spec: FieldSpec, value: object) -> str:
    """Reject non-string JSON values with invalid_type."""
    if not isinstance(value, str):
        word = _TYPE_WORDS.get(spec.kind, "文本")
        raise FieldProblem("invalid_type", f"{spec.label}应为{word}")
    return value


def clean_text(text: str, label: str, max_length: int | None) -> str:
    """NFC-normalise, trim and collapse whitespace; refuse control/private/unassigned chars."""
    text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", text).strip())
    for ch in text:
        if unicodedata.category(ch) in _BAD_CATEGORIES and not is_han(ch):
            raise FieldProblem("invalid_characters", f"{label}包含无效字符（U+{ord(ch):04X}）")
    if max_length is not None and len(text) > max_length:
        raise FieldProblem("too_long", f"{label}不能超过{max_length}个字符")
    return text


def parse_date(text: str, label: str, today: date) -> date:
    """Parse a real YYYY-MM-DD date between 1900-01-01 and today, or raise FieldProblem."""
    if not _DATE_RE.match(text):
        raise FieldProblem("invalid_date", f"{label}格式应为YYYY-MM-DD")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise FieldProblem("invalid_date", f"{label}不是有效日期") from None
    if value < ids.MIN_DATE:
        raise FieldProblem("date_too_early", f"{label}不能早于1900-01-01")
    if value > today:
        raise FieldProblem("date_in_future", f"{label}不能晚于今天")
    return value


def _text(spec: FieldSpec, raw: str, ctx: Context) -> str:
    return clean_text(raw, spec.label, spec.max_length)


def _name(spec: FieldSpec, raw: str, ctx: Context) -> str:
    return normalize_name(raw, spec.max_length or 64)


def _pinyin(spec: FieldSpec, raw: str, ctx: Context) -> str:
    return normalize_pinyin(raw, spec.max_length or 128)


def _enum(spec: FieldSpec, raw: str, ctx: Context) -> str:
    code = raw.strip()
    if code not in option_codes(spec.options or ""):
        raise FieldProblem("invalid_choice", f"{spec.label}的取值不在可选范围内")
    return code


def _date(spec: FieldSpec, raw: str, ctx: Context) -> str:
    return parse_date(raw.strip(), spec.label, ctx.today).isoformat()


def _id_number(spec: FieldSpec, raw: str, ctx: Context) -> str:
    # Only the shape here: the real check depends on profile.id_type (see validation.py).
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw)).upper()
    if len(text) > 40:
        raise FieldProblem("too_long", f"{spec.label}过长")
    return text


def _uscc(spec: FieldSpec, raw: str, ctx: Context) -> str:
    return ids.normalize_uscc(unicodedata.normalize("NFKC", raw))


def _mobile(spec: FieldSpec, raw: str, ctx: Context) -> str:
    return ids.normalize_mobile(unicodedata.normalize("NFKC", raw))


def _email(spec: FieldSpec, raw: str, ctx: Context) -> str:
    return ids.normalize_email(unicodedata.normalize("NFKC", raw))


def _certificate_no(spec: FieldSpec, raw: str, ctx: Context) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw)).upper()
    text = unicodedata.normalize("NFC", text)
    ok = 4 <= len(text) <= (spec.max_length or 40) and all(
        (c.isascii() and c.isalnum()) or c in _CERT_EXTRA or (not c.isascii() and is_name_letter(c)) for c in text
    )
    if not ok:
        raise FieldProblem("certificate_no_format", "资格证书编号应为4至40位字母、数字或连字符")
    return text


def _region(spec: FieldSpec, raw: str, ctx: Context) -> str:
    code = raw.strip()
    if not _REGION_RE.match(code):
        raise FieldProblem("region_format", "所在区代码应为6位数字")
    if ctx.region_codes is not None and code not in ctx.region_codes:
        raise FieldProblem("region_not_served", "所选区不在本平台受理范围内")
    return code


class Context:
    """What per-value checks need besides the value itself."""

    def __init__(self, today: date, region_codes: frozenset[str] | None) -> None:
        self.today = today
        self.region_codes = region_codes


_CHECKERS: dict[str, Callable[[FieldSpec, str, Context], str]] = {
    "text": _text,
    "name": _name,
    "pinyin": _pinyin,
    "enum": _enum,
    "date": _date,
    "id_number": _id_number,
    "uscc": _uscc,
    "mobile": _mobile,
    "email": _email,
    "certificate_no": _certificate_no,
    "region": _region,
}


def check_value(spec: FieldSpec, value: object, ctx: Context) -> object:
    """Normalised value for `spec`; None means "clear the field". Raises FieldProblem."""
    if value is None:
        return None
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise FieldProblem("invalid_type", f"{spec.label}应为true或false")
        return value
    raw = _require_str(spec, value)
    if not raw.strip():
        return None
    return _CHECKERS[spec.kind](spec, raw, ctx)
