"""Annual assessment (年度考评) rules, pure: results, years, and the standing they imply.

Inner Mongolia's notice: "在岗会计人员需要由所在单位按年度…进行年度考评，考评结果由会计机构负责人代表本单位
记入…连续两年没有考评信息的，自动转为非在岗人员". This module turns that sentence into one function,
`assessment_standing(periods, assessed_years, today, first_year)`, used by the person's view, the
staff detail, the bench, and the yearly-duties rules (issue #13). It reads no database and no
clock: every input is an argument.

The rule, precisely:

- A year Y is *expected* (the person should have an assessment for it) when it has ended
  (Y < today.year), Y >= `first_year` (the first year the deployment records assessments; earlier
  years are never held against anyone), and the person was in an accounting post on 31 December
  of Y (a work period covers that day: the employer at the year's end assesses the year).
- A year is *missing* when it is expected and no unit recorded an assessment for it.
- The person is 非在岗 by the rule (`assessment_missing`) when two consecutive years Y, Y+1 are
  both missing and no assessment was recorded for any year after Y (an assessment recorded later,
  for any later year including the current one, shows the person back in post and lifts it).
  It applies from 1 January of Y+2 (`since`).
- Without a current work period the person is 非在岗 anyway (`no_current_period`).
- Otherwise they are 在岗; `warning` names the current year when the last ended year is missing:
  one more missing year (the current one, by 31 December) and the rule applies.

A unit that ends an appointment closes the person's period with that unit at the end date
(`periods_of(..., ended={uscc: date})`): the person is then 非在岗 with that unit even before they
declare the change themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from faq.normalize import to_simplified

# code -> label, in the order a unit picks them
RESULTS: dict[str, str] = {"qualified": "合格", "basically_qualified": "基本合格", "unqualified": "不合格"}
COMMENT_MAX = 200
LAPSE_YEARS = 2  # consecutive ended years without an assessment that make a person 非在岗 (y and y + 1 below)
EARLIEST_YEAR = 2000  # no deployment records assessments before this (a bound on FIRST_YEAR too)

IN_POST = "in_post"
NO_CURRENT_PERIOD = "no_current_period"
ASSESSMENT_MISSING = "assessment_missing"
STANDING_LABELS = {True: "在岗", False: "非在岗"}


def _key(text: str) -> str:
    return to_simplified("".join(text.split())).lower()


_RESULT_KEYS = {**{_key(label): code for code, label in RESULTS.items()}, **{code: code for code in RESULTS}}


def result_code(value: Any) -> str | None:
    """A result code from a code or its label (simplified or traditional, spaces ignored), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _RESULT_KEYS.get(_key(value))


def year_problem(year: Any, today: dt.date, first_year: int) -> str | None:
    """Why `year` cannot be recorded (a Chinese message), or None: a whole year from `first_year`
    to the current one (the current year may be recorded before it ends)."""
    if isinstance(year, bool) or not isinstance(year, int):
        return "考评年度应为四位数字年份"
    if year < first_year or year > today.year:
        return f"考评年度应在 {first_year} 至 {today.year} 年之间"
    return None


def parse_year(value: Any) -> int | None:
    """A year from an int, a whole float (Excel numbers) or a string like "2025" / "2025年"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip().removesuffix("年度").removesuffix("年").strip()
        if len(text) == 4 and text.isdigit():
            return int(text)
    return None


@dataclass(frozen=True)
class Period:
    """One accounting work period: [start, end] (end None: current), and its unit's credit code."""

    start: dt.date
    end: dt.date | None = None
    uscc: str | None = None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def parse_date(value: Any) -> dt.date | None:
    """A date from "YYYY-MM-DD", "YYYY-MM" (its first day), a date or a datetime; None otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return dt.date.fromisoformat(text if len(text) != 7 else f"{text}-01")
    except ValueError:
        return None


def periods_of(record: Mapping[str, Any], ended: Mapping[str, dt.date] | None = None) -> list[Period]:
    """The work periods of a record (archive data or a first collection): its `work_history`, or for
    a record of the old shape its `employment` (in post since `accounting_since`). A current period
    whose unit ended the appointment (`ended`: {credit code: end date}) ends on that date."""
    ended = ended or {}
    out: list[Period] = []
    history = record.get("work_history")
    if isinstance(history, list) and history:
        for entry in history:
            if not isinstance(entry, Mapping):
                continue
            start = parse_date(entry.get("from"))
            if start is None:
                continue
            uscc = entry.get("unit_credit_code") if isinstance(entry.get("unit_credit_code"), str) else None
            end = parse_date(entry.get("to")) if entry.get("to") else None
            if end is None and uscc is not None and uscc in ended and ended[uscc] >= start:
                end = ended[uscc]
            out.append(Period(start, end, uscc))
        return sorted(out, key=lambda p: p.start)
    employment = record.get("employment")
    if isinstance(employment, Mapping) and employment.get("in_post"):
        start = parse_date(employment.get("accounting_since")) or dt.date(EARLIEST_YEAR, 1, 1)
        uscc = employment.get("unit_credit_code") if isinstance(employment.get("unit_credit_code"), str) else None
        end = ended.get(uscc) if uscc and uscc in ended and ended[uscc] >= start else None
        out.append(Period(start, end, uscc))
    return out


def expected_years(periods: Iterable[Period], today: dt.date, first_year: int) -> list[int]:
    """The ended years from `first_year` on whose 31 December some period covers."""
    periods = list(periods)
    return [y for y in range(first_year, today.year) if any(p.covers(dt.date(y, 12, 31)) for p in periods)]


def assessment_standing(
    periods: Iterable[Period], assessed_years: Iterable[int], today: dt.date, first_year: int
) -> dict[str, Any]:
    """The person's standing under the assessment rule (see the module doc):

    {in_post, label (在岗/非在岗), code (in_post | no_current_period | assessment_missing), reason,
     expected_years, assessed_years, missing_years, since (ISO date the rule applies from, or None),
     warning ({year, deadline, message} or None)}.
    """
    periods = list(periods)
    assessed = sorted({int(y) for y in assessed_years})
    expected = expected_years(periods, today, first_year)
    missing = [y for y in expected if y not in assessed]
    gone = set(missing)
    last = assessed[-1] if assessed else None
    lapse = next((y for y in missing if y + 1 in gone and (last is None or y > last)), None)
    current = any(p.covers(today) for p in periods)
    since = dt.date(lapse + 2, 1, 1).isoformat() if lapse is not None else None
    warning = None
    if not current:
        code, reason = NO_CURRENT_PERIOD, "没有当前的会计工作单位（会计工作履历中没有进行中的期间）"
    elif lapse is not None:
        code = ASSESSMENT_MISSING
        reason = f"{lapse} 年度和 {lapse + 1} 年度连续两年没有年度考评信息，自 {since} 起转为非在岗"
    else:
        code, reason = IN_POST, "当前在会计工作岗位"
        prev = today.year - 1
        if prev in gone and (last is None or prev > last):
            warning = {
                "year": today.year,
                "deadline": f"{today.year}-12-31",
                "message": f"{prev} 年度没有年度考评信息；如 {today.year} 年度也没有，将自动转为非在岗",
            }
    in_post = code == IN_POST
    return {
        "in_post": in_post,
        "label": STANDING_LABELS[in_post],
        "code": code,
        "reason": reason,
        "expected_years": expected,
        "assessed_years": assessed,
        "missing_years": missing,
        "since": since,
        "warning": warning,
    }
