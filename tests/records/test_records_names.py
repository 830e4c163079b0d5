"""Names with rare characters, separators, pinyin and the rare-name flag."""

import unicodedata

import pytest

from server.records.names import (
    derive_pinyin,
    is_han,
    is_rare,
    normalize_name,
    normalize_pinyin,
    rare_characters,
)
from tests.records import idgen

# One character from each CJK block: URO, Ext A, B, C, D, E, F, G, H, I.
RARE = {
    "URO 龘": "\u9f98",
    "ExtA 㐀": "\u3400",
    "ExtB 𠈌": "\U0002020c",
    "ExtB 𪚥": "\U0002a6a5",
    "ExtC": "\U0002a700",
    "ExtD": "\U0002b740",
    "ExtE": "\U0002b820",
    "ExtF": "\U0002ceb0",
    "ExtG": "\U00030000",
    "ExtH first": "\U00031350",
    "ExtH last": "\U000323af",
    "ExtI": "\U0002ebf0",
}


@pytest.mark.parametrize("ch", list(RARE.values()), ids=list(RARE))
def test_rare_characters_round_trip_exactly(ch):
    for name in (f"王{ch}", f"{ch}{ch}", f"李{ch}明", f"阿{ch}·买买提"):
        assert normalize_name(name) == name
        assert is_han(ch)
    assert is_rare(f"王{ch}")


def test_is_rare():
    assert not is_rare("张三")
    assert not is_rare("John Smith")
    assert not is_rare("阿依古丽·买买提")  # U+00B7 itself is not in GB 2312 but separators are ignored
    assert is_rare("王𠈌")
    assert is_rare("龘")  # in URO but outside GB 2312
    assert is_rare("張學友")  # traditional characters are outside GB 2312
    assert is_rare("李𪚥龘")
    assert rare_characters("李𪚥龘𪚥") == ["𪚥", "龘"]
    assert rare_characters("张三") == []


@pytest.mark.parametrize(
    "name",
    [
        "張學友",
        "黃龍",
        "鄧麗君",
        "𪚥",
        "李〇",
        "O'Brien",
        "Jean-Pierre",
        "JOHN SMITH",
        "Zoë",
        "Владимир",
        "김민수",
        "やまだ",
        "Nguyễn Văn",
    ],
)
def test_accepted_as_is(name):
    assert normalize_name(name) == unicodedata.normalize("NFC", name)


def test_traditional_names_not_converted():
    assert normalize_name("張學友") == "張學友"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽．买买提", "阿依古丽·买买提"),
        ("阿依古丽 · 买买提", "阿依古丽·买买提"),
        ("  张 三 ", "张三"),
        ("John  Smith", "John Smith"),
        ("Jose\u0301", "José"),
        ("\uf900", "\u8c48"),  # CJK compatibility ideograph -> canonical form under NFC
    ],
)
def test_normalisation(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    "raw,code",
    [
        ("张3", "invalid_characters"),
        ("张三1", "invalid_characters"),
        ("张@三", "invalid_characters"),
        ("张三😀", "invalid_characters"),
        ("张\x00三", "invalid_characters"),
        ("张\u200b三", "invalid_characters"),
        ("\ue000", "invalid_characters"),
        ("张\U000f0000", "invalid_characters"),
        ("\u0378", "invalid_characters"),
        ("张\ud800", "invalid_characters"),
        ("\u2f08", "invalid_characters"),
        ("张_三", "invalid_characters"),
        ("·张三", "name_format"),
        ("张三·", "name_format"),
        ("张··三", "name_format"),
        ("张-三", "name_format"),
        ("-Smith", "name_format"),
        ("A. Smith", "invalid_characters"),
        ("张" * 65, "too_long"),
        ("   ", "empty"),
    ],
)
def test_refused(raw, code):
    assert idgen.code_of(normalize_name, raw) == code


@pytest.mark.parametrize(
    "name,pinyin",
    [
        ("张三", "zhang san"),
        ("吕布", "lü bu"),
        ("单雄信", "shan xiong xin"),
        ("曾小贤", "zeng xiao xian"),
        ("尉迟恭", "yu chi gong"),
        ("欧阳修", "ou yang xiu"),
        ("阿依古丽·买买提", "a yi gu li mai mai ti"),
        ("張學友", "zhang xue you"),
        ("龘", "da"),
        ("万俟卨", "mo qi xie"),
        ("长孙无忌", "zhang sun wu ji"),
        ("单于兰", "chan yu lan"),
        ("澹台灭明", "tan tai mie ming"),
        ("令狐冲", "ling hu chong"),
        ("单于", "shan yu"),
        ("孙长青", "sun chang qing"),
        ("王重阳", "wang chong yang"),
        ("长春", "chang chun"),
    ],
)
def test_derive_pinyin(name, pinyin):
    assert derive_pinyin(name) == pinyin


@pytest.mark.parametrize("name", ["John Smith", "王\U0002020c", "", "Владимир"])
def test_derive_pinyin_unknown(name):
    assert derive_pinyin(name) is None


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("zhang san", "zhang san"),
        ("  Zhang   San ", "Zhang San"),
        ("lü bu", "lü bu"),
        ("LV BU", "LV BU"),
        ("lu\u0308", "lü"),
        ("WANG XIAO", "WANG XIAO"),
    ],
)
def test_pinyin_ok(raw, expected):
    assert normalize_pinyin(raw) == expected


@pytest.mark.parametrize(
    "raw,code",
    [
        ("zhang3", "pinyin_format"),
        ("张三", "pinyin_format"),
        ("zhāng", "pinyin_format"),
        ("zhang-san", "pinyin_format"),
        ("a" * 129, "too_long"),
    ],
)
def test_pinyin_bad(raw, code):
    assert idgen.code_of(normalize_pinyin, raw) == code
