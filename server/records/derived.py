"""What the server computes from the lists: the summary sections, the years of accounting work,
the fields the legacy register locks.

`education` = the highest entry of `educations` (levels ranked junior_high < ... < doctor, then the
later graduation); `qualification` = the highest entry of `qualifications` (none < junior < ... <
full_senior, then the earlier date), level "none" when the list is empty; `employment` = the current
work period (the one without `to`) plus the two fields the person types (accounting_since,
old_certificate_no), which hold the legacy register's values when it has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from .fields import SECTIONS, field_label
from .options import option_codes

EDUCATION_RANK = {code: i for i, code in enumerate(option_codes("education_levels"))}
QUALIFICATION_RANK = {code: i for i, code in enumerate(option_codes("qualification_levels"))}
EMPLOYER_FIELDS = ("unit_name", "unit_credit_code", "unit_nature", "industry", "post")
DAYS_PER_YEAR = 365.25

# employment field -> the legacy register's key that fixes it
LEGACY_LOCKS = {"employment.accounting_since": "first_work_date", "employment.old_certificate_no": "old_certificate_no"}
LOCK_SOURCE = "legacy_register"
LOCK_SOURCE_LABEL = "来自原会计档案"
LOCK_MESSAGE = "该项来自原会计档案，不能修改"


def _entries(record: Mapping[str, Any], name: str) -> list[dict]:
    value = record.get(name)
    return [dict(e) for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def highest_education(record: Mapping[str, Any]) -> dict | None:
    """The entry of `educations` with the highest level (the latest graduation among equals)."""
    entries = [e for e in _entries(record, "educations") if e.get("level") in EDUCATION_RANK]
    if not entries:
        return None
    return max(entries, key=lambda e: (EDUCATION_RANK[e["level"]], _text(e.get("to"))))


def highest_qualification(record: Mapping[str, Any]) -> dict | None:
    """The entry of `qualifications` with the highest level (the earliest among equals)."""
    entries = [e for e in _entries(record, "qualifications") if QUALIFICATION_RANK.get(e.get("level") or "", 0) > 0]
    if not entries:
        return None
    return min(entries, key=lambda e: (-QUALIFICATION_RANK[e["level"]], _text(e.get("obtained_on")) or "9999"))


def current_period(record: Mapping[str, Any]) -> dict | None:
    """The work period without an end (the current one), or None."""
    open_ = [e for e in _entries(record, "work_history") if not e.get("to")]
    return max(open_, key=lambda e: _text(e.get("from"))) if open_ else None


def derive(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The derived summary sections of a record: {section: {field: value or None}} (None = absent)."""
    edu = highest_education(record) or {}
    qual = highest_qualification(record)
    work = current_period(record)
    legacy: Mapping[str, Any] = record.get("legacy") or {} if isinstance(record.get("legacy"), Mapping) else {}
    employment_now: Mapping[str, Any] = (
        record.get("employment") or {} if isinstance(record.get("employment"), Mapping) else {}
    )
    out: dict[str, dict[str, Any]] = {
        "education": {
            "level": edu.get("level"),
            "school": edu.get("school"),
            "major": edu.get("major"),
            "mode": edu.get("mode"),
            "graduated_on": edu.get("to"),
            "degree": edu.get("degree"),
        },
        "qualification": {name: (qual or {}).get(name) for name in SECTIONS["qualification"]},
        "employment": {"in_post": work is not None, **{f: (work or {}).get(f) for f in EMPLOYER_FIELDS}},
    }
    out["qualification"]["level"] = qual["level"] if qual else "none"
    for path, key in LEGACY_LOCKS.items():
        name = path.split(".", 1)[1]
        held = legacy.get(key) if legacy else None
        if isinstance(held, str) and held:
            out["employment"][name] = held
        elif name in employment_now:
            out["employment"][name] = employment_now.get(name)
    return out


def with_derived(record: Mapping[str, Any]) -> dict:
    """A copy of the record with its derived sections recomputed (typed fields kept)."""
    out = dict(record)
    for section, values in derive(record).items():
        body = dict(out.get(section) or {})
        for name, value in values.items():
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        out[section] = body
    return out


def locked_paths(record: Mapping[str, Any]) -> list[str]:
    """Field paths the legacy register fixes in this record."""
    legacy = record.get("legacy")
    if not isinstance(legacy, Mapping):
        return []
    return [path for path, key in LEGACY_LOCKS.items() if isinstance(legacy.get(key), str) and legacy.get(key)]


def locked_fields(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The record view's `locked_fields`."""
    return [
        {"field": p, "label": field_label(p), "source": LOCK_SOURCE, "source_label": LOCK_SOURCE_LABEL}
        for p in locked_paths(record)
    ]


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def accounting_years(record: Mapping[str, Any], today: date) -> float:
    """会计工作年限: the days of the work periods up to today (overlaps counted once), in years, 1 decimal."""
    spans = []
    for e in _entries(record, "work_history"):
        start, end = _date(e.get("from")), _date(e.get("to")) or today
        if start is not None and start <= min(end, today):
            spans.append((start, min(end, today)))
    days, reach = 0, None
    for start, end in sorted(spans):
        if reach is not None and start <= reach:
            start = reach + timedelta(days=1)
        if start <= end:
            days += (end - start).days + 1
            reach = end if reach is None else max(reach, end)
    return round(days / DAYS_PER_YEAR, 1)
