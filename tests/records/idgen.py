"""Generators of valid test identifiers, independent of the code under test.

Import as `from tests.records import idgen`.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
PERMIT_PREFIXES = ("810000", "820000", "830000")
# Real GB/T 2260 county codes from several provinces (Xiamen districts first).
AREAS = (
    "350203",
    "350205",
    "350206",
    "350211",
    "110105",
    "310115",
    "440305",
    "510107",
    "650102",
    "540102",
    "230102",
    "460105",
    "150102",
    "640104",
    "632801",
)


def id_check_char(first17: str) -> str:
    """GB 11643 (ISO 7064 MOD 11-2) check character."""
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def _seq_for(gender: str | None, rng: random.Random) -> str:
    """Three-digit order code; odd for male, even for female."""
    n = rng.randrange(0, 1000)
    if gender == "male" and n % 2 == 0:
        n = (n + 1) % 1000
    if gender == "female" and n % 2 == 1:
        n = n - 1
    return f"{n:03d}"


def resident_id(
    area: str = "350203",
    birth: date = date(1990, 5, 17),
    gender: str | None = None,
    seq: str | None = None,
    rng: random.Random | None = None,
) -> str:
    """A valid 18-character resident ID number."""
    rng = rng or random.Random(0)
    first17 = f"{area}{birth:%Y%m%d}{seq if seq is not None else _seq_for(gender, rng)}"
    return first17 + id_check_char(first17)


def resident_id_with_x(area: str = "350203", birth: date = date(1990, 5, 17), gender: str | None = None) -> str:
    """A valid resident ID whose check character is X."""
    for n in range(1000):
        if gender == "male" and n % 2 == 0 or gender == "female" and n % 2 == 1:
            continue
        first17 = f"{area}{birth:%Y%m%d}{n:03d}"
        if id_check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no X check digit found")  # cannot happen: 1 in 11 sequences


def residence_permit(
    prefix: str = "810000", birth: date = date(1988, 2, 29), gender: str | None = None, rng: random.Random | None = None
) -> str:
    """A valid 港澳台居民居住证 number (prefix 810000/820000/830000)."""
    return resident_id(prefix, birth, gender, rng=rng)


def with_wrong_check(number: str) -> str:
    """Same number with a different (wrong) check character."""
    right = number[-1]
    wrong = "0" if right != "0" else "1"
    return number[:-1] + wrong


def uscc_check_char(first17: str) -> str:
    """GB 32100 check character."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc(
    authority: str = "9",
    kind: str = "1",
    area: str = "350203",
    rng: random.Random | None = None,
    body: str | None = None,
) -> str:
    """A valid unified social credit code."""
    rng = rng or random.Random(0)
    if body is None:
        body = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    first17 = f"{authority}{kind}{area}{body}"
    return first17 + uscc_check_char(first17)


def random_birth(rng: random.Random, start: date = date(1950, 1, 1), end: date = date(2005, 12, 31)) -> date:
    """A random birth date in [start, end]."""
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def random_resident_ids(n: int, seed: int = 1) -> list[str]:
    """n valid resident IDs over many areas, dates and both genders."""
    rng = random.Random(seed)
    return [
        resident_id(rng.choice(AREAS), random_birth(rng), rng.choice(("male", "female")), rng=rng) for _ in range(n)
    ]


def random_usccs(n: int, seed: int = 1) -> list[str]:
    """n valid credit codes with assorted authority/kind prefixes."""
    rng = random.Random(seed)
    prefixes = ("91", "92", "93", "11", "12", "51", "52", "53", "N2", "Y1")
    return [uscc(*rng.choice(prefixes), area=rng.choice(AREAS), rng=rng) for _ in range(n)]


def code_of(fn, *args):
    """Error code of the FieldProblem raised by fn(*args), or None if it passed."""
    from server.records.errors import FieldProblem

    try:
        fn(*args)
    except FieldProblem as p:
        return p.code
    return None
