"""Person names incl. rare characters (生僻字), their pinyin, and the rare-name flag."""

from __future__ import annotations

import os
import re
import unicodedata

# pypinyin's phrase dictionary costs ~42 MB in every server process; a name is read
# character by character (plus the surname tables below), so the documented switch turns
# it off. It must be set before pypinyin is first imported (faq/ never imports the package).
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
from pypinyin import Style, lazy_pinyin

from .errors import FieldProblem

MIDDLE_DOT = "\u00b7"
# Look-alikes users type for the name separator; all become U+00B7.
_DOT_VARIANTS = "\u00b7\u0387\u2022\u2027\u2219\u22c5\u30fb\uff65\u318d\u16eb\u2e31\u2e33"
# Full stops count as the separator only in names with Han characters ("阿依古丽.买买提").
_FULL_STOPS = ".\uff0e\u3002"
_APOSTROPHES = "'\u2019\u02bc"
_SEPARATORS = MIDDLE_DOT + " -'"

# CJK Unified Ideographs assigned through Unicode 15.1, listed explicitly because
# the running Python's unicodedata may predate them (3.11 ships Unicode 14:
# Extension H and I would otherwise look unassigned).
_HAN_RANGES: tuple[tuple[int, int], ...] = (
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # URO
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2B739),  # Extension C
    (0x2B740, 0x2B81D),  # Extension D
    (0x2B820, 0x2CEA1),  # Extension E
    (0x2CEB0, 0x2EBE0),  # Extension F
    (0x2EBF0, 0x2EE5D),  # Extension I
    (0x30000, 0x3134A),  # Extension G
    (0x31350, 0x323AF),  # Extension H
)

_LETTER_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo"}
_MARK_CATEGORIES = {"Mn", "Mc"}

NAME_MAX_LENGTH = 64
PINYIN_MAX_LENGTH = 128
_SYLLABLE_RE = re.compile(r"^[a-zü]+$")
_PINYIN_RE = re.compile(r"^[A-Za-zÜü]+(?: [A-Za-zÜü]+)*$")

# Readings of heteronym characters when used as a (single-character) surname.
_SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "区": "ou",
    "查": "zha",
    "盖": "ge",
    "覃": "qin",
    "缪": "miao",
    "翟": "zhai",
    "秘": "bi",
    "种": "chong",
    "折": "she",
    "纪": "ji",
    "任": "ren",
    "华": "hua",
    "柏": "bai",
    "薄": "bo",
    "葛": "ge",
    "曲": "qu",
    "沈": "shen",
    "员": "yun",
    "句": "gou",
    "阚": "kan",
    "隗": "wei",
    "繁": "po",
    "祭": "zhai",
    "尉": "wei",
    "过": "guo",
    "长": "chang",
    "重": "chong",
}
# Characters of given names whose usual reading in names is not the dictionary's first one
# (长青, 长春, 重阳, 重华); without the phrase dictionary these are read one by one.
_GIVEN_NAME_READINGS = {"长": "chang", "重": "chong"}
# Compound surnames read differently from their characters' usual readings.
_COMPOUND_SURNAMES = {
    "单于": "chan yu",
    "尉迟": "yu chi",
    "长孙": "zhang sun",
    "万俟": "mo qi",
    "澹台": "tan tai",
    "乐正": "yue zheng",
    "令狐": "ling hu",
    "长鱼": "zhang yu",
}


def is_han(ch: str) -> bool:
    """True for a CJK unified ideograph (any extension known up to Unicode 15.1) or 〇."""
    cp = ord(ch)
    if ch == "\u3007":
        return True
    return any(lo <= cp <= hi for lo, hi in _HAN_RANGES) or (
        unicodedata.category(ch) == "Lo" and "CJK" in unicodedata.name(ch, "")
    )


def is_name_letter(ch: str) -> bool:
    """True when `ch` may appear as a letter in a person name."""
    return is_han(ch) or unicodedata.category(ch) in _LETTER_CATEGORIES


def _canonical_separators(text: str) -> str:
    """Map dot/apostrophe look-alikes to canonical ones and collapse whitespace."""
    dots = _DOT_VARIANTS + (_FULL_STOPS if any(is_han(c) for c in text) else "")
    text = "".join(MIDDLE_DOT if c in dots else c for c in text)
    text = "".join("'" if c in _APOSTROPHES else c for c in text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r" ?\u00b7 ?", MIDDLE_DOT, text)
    # Spaces next to a Han character are typing slips: "张 三" -> "张三".
    out: list[str] = []
    for i, c in enumerate(text):
        if c == " " and (is_han(text[i - 1]) or is_han(text[i + 1])):
            continue
        out.append(c)
    return "".join(out)


def normalize_name(raw: str, max_length: int = NAME_MAX_LENGTH) -> str:
    """Return the NFC-normalised name or raise FieldProblem with a stable code."""
    text = unicodedata.normalize("NFC", _canonical_separators(raw))
    if not text:
        raise FieldProblem("empty", "姓名不能为空")
    if len(text) > max_length:
        raise FieldProblem("too_long", f"姓名不能超过{max_length}个字符")
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if is_name_letter(ch):
            continue
        if cat in _MARK_CATEGORIES and i > 0 and is_name_letter(text[i - 1]):
            continue
        if ch in _SEPARATORS:
            prev = text[i - 1] if i > 0 else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            ok = bool(prev and nxt) and is_name_letter(prev) and is_name_letter(nxt)
            if ok and ch != MIDDLE_DOT:
                ok = not (is_han(prev) or is_han(nxt))  # "-" and "'" only in latin-like names
            if ok:
                continue
            raise FieldProblem("name_format", "姓名中的间隔符“·”、空格、连字符只能位于两个字之间")
        if cat.startswith("N"):
            raise FieldProblem("invalid_characters", "姓名不能包含数字")
        if cat in ("Co", "Cs", "Cn", "Cc", "Cf"):
            raise FieldProblem("invalid_characters", f"姓名包含无效字符（U+{ord(ch):04X}）")
        raise FieldProblem("invalid_characters", f"姓名不能包含符号“{ch}”")
    return text


def is_rare(name: str) -> bool:
    """True when any character of the name is outside GB 2312 (separators ignored)."""
    for ch in name:
        if ch in _SEPARATORS:
            continue
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return True
    return False


def rare_characters(name: str) -> list[str]:
    """The distinct characters of `name` outside GB 2312, in order."""
    seen: list[str] = []
    for ch in name:
        if ch not in _SEPARATORS and ch not in seen and is_rare(ch):
            seen.append(ch)
    return seen


def derive_pinyin(name: str) -> str | None:
    """Lowercase space-separated pinyin of a Han name, or None if any syllable is unknown."""
    chars = [c for c in name if c != MIDDLE_DOT]
    if not chars or not all(is_han(c) for c in chars):
        return None
    syllables = lazy_pinyin(
        "".join(chars),
        style=Style.NORMAL,
        v_to_u=True,
        errors=lambda s: ["\x00"] * len(s),  # type: ignore[arg-type,return-value]  # a list per character is documented
    )
    if len(syllables) != len(chars) or not all(_SYLLABLE_RE.match(s) for s in syllables):
        return None
    syllables[1:] = [_GIVEN_NAME_READINGS.get(ch, s) for ch, s in zip(chars[1:], syllables[1:])]
    compound = _COMPOUND_SURNAMES.get("".join(chars[:2])) if len(chars) > 2 else None
    if compound:
        syllables[:2] = compound.split()
    elif chars[0] in _SURNAME_READINGS:
        syllables[0] = _SURNAME_READINGS[chars[0]]
    return " ".join(syllables)


def normalize_pinyin(raw: str, max_length: int = PINYIN_MAX_LENGTH) -> str:
    """Return the normalised user-edited pinyin or raise FieldProblem."""
    text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", raw).strip())
    if not text:
        raise FieldProblem("empty", "姓名拼音不能为空")
    if len(text) > max_length:
        raise FieldProblem("too_long", f"姓名拼音不能超过{max_length}个字符")
    if not _PINYIN_RE.match(text):
        raise FieldProblem("pinyin_format", "姓名拼音只能包含拉丁字母、空格和ü")
    return text
