"""The standing rules, pure: which years count, whether a year is complete, and the standing.

Seed 002 (Inner Mongolia): "具有会计专业技术资格的人员应当自取得会计专业技术资格的次年开始参加继续教育；
不具有会计专业技术资格但从事会计工作的人员，从事会计工作的次年开始参加继续教育。连续3个年度或累计4个年度
没有完成继续教育的，视同不再从事会计工作，系统自动将你的档案信息转入异动人员数据库", and "连续两年没有
考评信息的，自动转为非在岗人员". The national rule (会计专业技术人员继续教育规定): at least 90 credits a
year, professional subjects at least two thirds (CE_REQUIRED_CREDITS, CE_PROFESSIONAL_SHARE).

- The first year that counts: the year after the earliest qualification was obtained; without a
  qualification, the year after starting accounting work (`employment.accounting_since`, or the
  first work period); None when neither is known (no yearly duty).
- A year is complete when its credits reach the total and the professional share; a year of the
  old register (`legacy.ce_years`) marked completed, or with enough credits, is complete too.
- Only ended years count against a person (the current year is shown, in progress).
- The archive's records start with the year of its collection (seed 001: "会计信息档案将从采集年度算起"):
  an earlier year counts only when something records it, the old register (`legacy.ce_years`) or
  credits imported for it. Someone qualified in 2010 who collects in 2026 is not 异动 on day one
  for fifteen years nobody recorded here.
- 异动 (`abnormal`): 3 consecutive or 4 cumulative incomplete ended years; the incomplete years
  are named. 非在岗 (`not_in_post`): the annual assessments' rule
  (`server.units.assessments_rules.assessment_standing`: two consecutive years without an
  assessment, or no current work period). 异动 wins over 非在岗 (the person is treated as no
  longer doing accounting work at all). Nothing is sticky: the standing follows the facts, so a
  late import or an approved claim lifts it.
Every input is an argument: no database, no clock.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

RULES_VERSION = 1
CONSECUTIVE = 3
CUMULATIVE = 4
NORMAL, ABNORMAL, NOT_IN_POST = "normal", "abnormal", "not_in_post"
STANDING_LABELS = {NORMAL: "正常", ABNORMAL: "异动", NOT_IN_POST: "非在岗"}
PROFESSIONAL, GENERAL = "professional", "general"
TYPE_LABELS = {PROFESSIONAL: "专业科目", GENERAL: "公需科目"}
LEGACY_DONE = {"completed", "complete", "done", "合格", "完成", "已完成", "达标"}


def credit(value: Any) -> int:
    """Credits in tenths, an exact whole number (stored credits have at most one decimal)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0
    try:
        return round(float(value) * 10)
    except (ValueError, OverflowError):
        return 0


def number(tenths: int) -> float | int:
    """Tenths of credits as a JSON number (whole numbers as ints)."""
    return tenths // 10 if tenths % 10 == 0 else tenths / 10


@dataclass(frozen=True)
class Requirement:
    """The yearly requirement in tenths of credits: the total and the professional part (rounded up)."""

    total: int
    professional: int

    @classmethod
    def of(cls, total: Any, share: Fraction) -> Requirement:
        t = credit(total)
        return cls(t, math.ceil(t * share))


def parse_share(text: str) -> Fraction:
    """CE_PROFESSIONAL_SHARE ("2/3" or "0.67") as a fraction in [0, 1]; ValueError otherwise."""
    value = Fraction(str(text).strip())
    if not 0 <= value <= 1:
        raise ValueError("share out of [0, 1]")
    return value


def _year_of(value: Any) -> int | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.year
    if isinstance(value, str) and len(value) >= 4 and value[:4].isdigit():
        return int(value[:4])
    return None


def first_year(data: Mapping[str, Any]) -> int | None:
    """The first year that counts for an archive's data (see module doc), or None."""
    quals = [q for q in data.get("qualifications") or [] if isinstance(q, Mapping)]
    single = data.get("qualification")
    if isinstance(single, Mapping) and (single.get("level") or "none") != "none":
        quals.append(single)
    years = [y for y in (_year_of(q.get("obtained_on")) for q in quals) if y]
    if years:
        return min(years) + 1
    employment = data.get("employment") if isinstance(data.get("employment"), Mapping) else {}
    starts = [_year_of((employment or {}).get("accounting_since"))]
    starts += [_year_of(p.get("from")) for p in data.get("work_history") or [] if isinstance(p, Mapping)]
    known = [y for y in starts if y]
    return min(known) + 1 if known else None


def records_from(created_at: Any) -> int | None:
    """The first year the archive's own records cover: the year it was created (None: no floor)."""
    return _year_of(created_at)


def legacy_years(data: Mapping[str, Any]) -> set[int]:
    """Every year the old register (`legacy.ce_years`) mentions, completed or not."""
    legacy = data.get("legacy") if isinstance(data.get("legacy"), Mapping) else {}
    return {
        y["year"]
        for y in (legacy or {}).get("ce_years") or []
        if isinstance(y, Mapping) and isinstance(y.get("year"), int)
    }


def year_totals(entries: Iterable[Mapping[str, Any]]) -> dict[int, tuple[int, int]]:
    """{year: (total, professional)} of credit entries, in tenths."""
    out: dict[int, tuple[int, int]] = {}
    for e in entries:
        year = e.get("year")
        if not isinstance(year, int):
            continue
        c = credit(e.get("credits"))
        total, prof = out.get(year, (0, 0))
        out[year] = (total + c, prof + (c if e.get("type") == PROFESSIONAL else 0))
    return out


def legacy_complete(data: Mapping[str, Any], requirement: Requirement) -> set[int]:
    """The years the old register (`legacy.ce_years`) shows completed."""
    legacy = data.get("legacy") if isinstance(data.get("legacy"), Mapping) else {}
    done = set()
    for y in (legacy or {}).get("ce_years") or []:
        if not isinstance(y, Mapping) or not isinstance(y.get("year"), int):
            continue
        status = str(y.get("status") or "").strip().lower()
        if status in LEGACY_DONE or (y.get("credits") is not None and credit(y["credits"]) >= requirement.total):
            done.add(y["year"])
    return done


def incomplete_trigger(incomplete: list[int]) -> list[int]:
    """The incomplete years that make a person 异动 (a run of 3 consecutive, else all of 4+), or []."""
    run: list[int] = []
    best: list[int] = []
    for y in sorted(incomplete):
        run = run + [y] if run and run[-1] == y - 1 else [y]
        if len(run) >= CONSECUTIVE and len(run) > len(best):
            best = list(run)
    if len(incomplete) >= CUMULATIVE:
        return sorted(incomplete)
    return best


@dataclass
class Facts:
    """What the rules read for one archive."""

    first_year: int | None
    records_from: int | None = None  # years before it count only when recorded (legacy_years or totals)
    legacy_years: set[int] = field(default_factory=set)
    totals: dict[int, tuple[int, int]] = field(default_factory=dict)  # year -> (total, professional) in tenths
    legacy_done: set[int] = field(default_factory=set)
    assessments: dict[int, str] = field(default_factory=dict)  # year -> result label
    assessment: Mapping[str, Any] | None = None  # assessment_standing(...) of the person, or None


def evaluate(facts: Facts, requirement: Requirement, today: dt.date) -> dict[str, Any]:
    """The standing of one archive (the `standings` document without `_id`, `region_code`, times)."""
    years: list[dict[str, Any]] = []
    incomplete: list[int] = []
    start = facts.first_year
    if start is not None and start <= today.year:
        for y in range(start, today.year + 1):
            recorded = y in facts.totals or y in facts.legacy_years
            if facts.records_from is not None and y < facts.records_from and not recorded:
                continue  # before this archive's records began, and nothing tells about it
            total, prof = facts.totals.get(y, (0, 0))
            complete = (total >= requirement.total and prof >= requirement.professional) or y in facts.legacy_done
            if not complete and y < today.year:
                incomplete.append(y)
            years.append(
                {
                    "year": y,
                    "credits_total": number(total),
                    "credits_professional": number(prof),
                    "required_total": number(requirement.total),
                    "required_professional": number(requirement.professional),
                    "complete": complete,
                    "in_progress": y == today.year,
                    "assessment": facts.assessments.get(y),
                }
            )
    trigger = incomplete_trigger(incomplete)
    assessment = facts.assessment or {}
    missing_assessment = [int(y) for y in assessment.get("missing_years") or []]
    if trigger:
        standing = ABNORMAL
    elif assessment and not assessment.get("in_post", True):
        standing = NOT_IN_POST
    else:
        standing = NORMAL
    return {
        "standing": standing,
        "standing_label": STANDING_LABELS[standing],
        "incomplete_years": incomplete,
        "abnormal_years": trigger,
        "missing_assessment_years": missing_assessment,
        "assessment_code": assessment.get("code"),
        "years": years,
        "first_year": start,
        "rules_version": RULES_VERSION,
    }


def reason(result: Mapping[str, Any]) -> str:
    """Why the standing is what it is, in one Chinese sentence."""
    standing = result.get("standing")
    if standing == ABNORMAL:
        years = "、".join(str(y) for y in result.get("abnormal_years") or [])
        rule = "连续3个年度" if len(result.get("abnormal_years") or []) == CONSECUTIVE else "累计4个年度以上"
        return f"{years}年度未完成继续教育（{rule}未完成），已转入异动人员"
    if standing == NOT_IN_POST:
        missing = result.get("missing_assessment_years") or []
        if result.get("assessment_code") == "assessment_missing" and missing:
            return f"{'、'.join(str(y) for y in missing)}年度没有年度考评信息，已转为非在岗人员"
        return "没有当前的会计工作单位，为非在岗人员"
    return "继续教育和年度考评情况正常"


def what_to_do(result: Mapping[str, Any]) -> list[str]:
    """What the person should do now, as short Chinese lines."""
    lines: list[str] = []
    standing = result.get("standing")
    current = next((y for y in result.get("years") or [] if y.get("in_progress")), None)
    if standing == ABNORMAL:
        years = "、".join(str(y) for y in result.get("abnormal_years") or [])
        lines.append(f"请补齐{years}年度的继续教育学分：学分由培训机构报送后自动恢复；")
        lines.append("参加会计专业技术资格考试、注册会计师考试、学历教育或发表论著的，可申请视同继续教育认定。")
    elif standing == NOT_IN_POST:
        lines.append("请所在单位在“单位”功能中为您记录年度考评；已更换单位的，请办理信息变更。")
    if current and not current.get("complete"):
        missing_total = max(0.0, float(current["required_total"]) - float(current["credits_total"]))
        missing_prof = max(0.0, float(current["required_professional"]) - float(current["credits_professional"]))
        lines.append(
            f"{current['year']}年度还需{_num(missing_total)}学分（其中专业科目还需{_num(missing_prof)}学分），"
            f"请在{current['year']}年12月31日前完成。"
        )
    if not lines:
        lines.append("无需办理。")
    return lines


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
