"""The record's lists (educations, qualifications, work_history): entry checks and period rules.

A PATCH replaces a whole list. Each entry is checked like a section, its errors named by paths
such as "work_history.1.from". An entry sent with an `id` must be one of the stored list's (it
keeps that id and its `proof`); an entry without one gets a new id. `proof` is the server's
(set by the upload of the entry's document) and ignored when sent.

Rules over the whole list: `to` not before `from`; dates after birth (work from the 16th
birthday); work periods do not overlap, at most one has no end and it is the latest; no
period starts before the first accounting work date.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from .errors import FieldProblem
from .fields import LISTS, ListSpec
from .values import Context, check_value

ErrorFn = Callable[[str, str, str], None]
_ID_LETTERS = string.ascii_lowercase
_DEGREE_NEEDS_LEVEL = {"bachelor", "master", "doctor"}


def new_entry_id(taken: set[str]) -> str:
    """A fresh 8-letter entry id not in `taken` (letters only: it ends document keys and URLs)."""
    while True:
        value = "".join(secrets.choice(_ID_LETTERS) for _ in range(8))
        if value not in taken:
            taken.add(value)
            return value


def _stored(entries: Any) -> dict[str, dict]:
    """Stored entries by id."""
    if not isinstance(entries, list):
        return {}
    return {e["id"]: dict(e) for e in entries if isinstance(e, Mapping) and isinstance(e.get("id"), str)}


def normalise_list(name: str, body: Any, current: Any, ctx: Context, error: ErrorFn) -> list[dict] | None:
    """The normalised list a PATCH sends for `name` ([] for null), or None after an error."""
    spec = LISTS[name]
    if body is None:
        return []
    if not isinstance(body, list):
        error(name, "invalid_type", f"{spec.label}应为列表（JSON array）")
        return None
    if len(body) > spec.max_entries:
        error(name, "too_many_entries", f"{spec.label}最多填写{spec.max_entries}条")
        return None
    stored = _stored(current)
    taken = set(stored)
    seen: set[str] = set()
    out: list[dict] = []
    ok = True
    for i, raw in enumerate(body):
        path = f"{name}.{i}"
        if not isinstance(raw, Mapping):
            error(path, "invalid_type", f"第{i + 1}条{spec.label}应为对象（JSON object）")
            ok = False
            continue
        entry, good = _entry(spec, path, raw, stored, seen, ctx, error)
        ok = ok and good
        out.append(entry)
    if not ok:
        return None
    for entry in out:
        if "id" not in entry:
            entry["id"] = new_entry_id(taken)
    return [{"id": e.pop("id"), **e} for e in out]


def _entry(
    spec: ListSpec, path: str, raw: Mapping, stored: dict[str, dict], seen: set[str], ctx: Context, error: ErrorFn
) -> tuple[dict, bool]:
    """One normalised entry and whether it was valid."""
    entry: dict[str, Any] = {}
    ok = True
    entry_id = raw.get("id")
    if entry_id is not None:
        if not isinstance(entry_id, str) or entry_id not in stored:
            error(f"{path}.id", "unknown_entry", "该条目不存在或已删除，请刷新后重试")
            ok = False
        elif entry_id in seen:
            error(f"{path}.id", "duplicate_entry", "同一条目不能重复提交")
            ok = False
        else:
            seen.add(entry_id)
            entry["id"] = entry_id
    for key, value in raw.items():
        if key in ("id", "proof"):
            continue
        field = spec.fields.get(key) if isinstance(key, str) else None
        if field is None:
            error(f"{path}.{key}", "unknown_field", "不支持的字段")
            ok = False
            continue
        try:
            checked = check_value(field, value, ctx)
        except FieldProblem as p:
            error(f"{path}.{key}", p.code, p.message)
            ok = False
            continue
        if checked is not None:
            entry[key] = checked
    if spec.name == "qualifications" and entry.get("level") == "none":
        error(f"{path}.level", "invalid_choice", "未取得会计专业技术资格时请不要添加资格条目")
        ok = False
    proof = stored.get(entry.get("id") or "", {}).get("proof")
    if proof:
        entry["proof"] = proof
    return entry, ok


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def check_periods(
    record: Mapping[str, Any],
    names: set[str],
    born: date | None,
    sixteen: date | None,
    since: date | None,
    error: ErrorFn,
) -> None:
    """The rules over whole lists (`names`: the lists to check) of a merged record."""
    for name in ("educations", "qualifications", "work_history"):
        if name not in names:
            continue
        value = record.get(name)
        entries: list = value if isinstance(value, list) else []
        for i, e in enumerate(entries):
            if isinstance(e, Mapping):
                _check_entry(name, i, e, born, sixteen, since, error)
        if name == "work_history":
            _check_overlaps(entries, error)


def _check_entry(
    name: str, i: int, e: Mapping, born: date | None, sixteen: date | None, since: date | None, error: ErrorFn
) -> None:
    path = f"{name}.{i}"
    if name == "qualifications":
        got = _as_date(e.get("obtained_on"))
        if born and got and got <= born:
            error(f"{path}.obtained_on", "before_birth", "资格取得时间应晚于出生日期")
        return
    start, end = _as_date(e.get("from")), _as_date(e.get("to"))
    if start and end and end < start:
        error(f"{path}.to", "to_before_from", "结束时间不能早于开始时间")
    if name == "educations":
        for key, value in (("from", start), ("to", end)):
            if born and value and value <= born:
                error(f"{path}.{key}", "before_birth", "入学、毕业时间应晚于出生日期")
        if e.get("degree") in _DEGREE_NEEDS_LEVEL and e.get("level") not in _DEGREE_NEEDS_LEVEL | {None}:
            error(f"{path}.degree", "degree_inconsistent", "学位与学历不一致：取得学位需大学本科及以上学历")
        return
    if sixteen and start and start < sixteen:
        error(f"{path}.from", "before_age_16", "会计工作开始时间不能早于年满16周岁之日")
    elif since and start and start < since:
        error(f"{path}.from", "before_accounting_since", "会计工作履历不能早于首次参加会计工作日期")


def _check_overlaps(entries: list, error: ErrorFn) -> None:
    """Work periods may not overlap; at most one is open, and it is the latest."""
    dated = sorted(
        ((_as_date(e.get("from")), i, e) for i, e in enumerate(entries) if isinstance(e, Mapping)),
        key=lambda t: (t[0] or date.min, t[1]),
    )
    dated = [t for t in dated if t[0] is not None]
    starts: list[date] = [t[0] for t in dated if t[0] is not None]
    open_ = [i for _, i, e in dated if not e.get("to")]
    if len(open_) > 1:
        for i in open_[:-1]:
            error(
                f"work_history.{i}.to",
                "several_current",
                "只能有一段当前（未结束的）会计工作，请填写其余各段的结束时间",
            )
    elif open_ and dated and open_[0] != dated[-1][1]:
        i = open_[0]
        error(f"work_history.{i}.to", "current_not_latest", "当前（未结束的）会计工作应是最近的一段，请填写结束时间")
    for (_, a, ea), (_, b, _), start_b in zip(dated, dated[1:], starts[1:]):
        end_a = _as_date(ea.get("to"))
        if end_a is None or start_b <= end_a:
            message = f"第{a + 1}条与第{b + 1}条会计工作履历的时间重叠"
            error(f"work_history.{a}", "periods_overlap", message)
            error(f"work_history.{b}", "periods_overlap", message)


def close_for_new_period(old: Any, sent: Any) -> Any:
    """A change of employer: when `sent` (a work_history a change sends) keeps the stored current
    period open and appends a new open period after it, the stored one ends the day before the
    new one starts. Anything else is returned as it was (the rules then judge it)."""
    if not isinstance(sent, list) or not isinstance(old, list):
        return sent
    current = [e for e in old if isinstance(e, Mapping) and e.get("id") and not e.get("to")]
    new_open = [
        e
        for e in sent
        if isinstance(e, Mapping) and not e.get("id") and not e.get("to") and isinstance(e.get("from"), str)
    ]
    if len(current) != 1 or len(new_open) != 1:
        return sent
    start = _as_date(new_open[0]["from"].strip())
    if start is None:
        return sent
    out = []
    for e in sent:
        if isinstance(e, Mapping) and e.get("id") == current[0]["id"] and not e.get("to"):
            e = {**e, "to": (start - timedelta(days=1)).isoformat()}
        out.append(e)
    return out


def history_changes(old: Any, new: Any) -> list[tuple[str, str, str]]:
    """Why `new` is not `old` extended (earlier periods kept as they were, in order; only the
    current one may gain an end; new periods after them): [(path, code, message)]."""
    old = [e for e in old if isinstance(e, Mapping)] if isinstance(old, list) else []
    new = [e for e in new if isinstance(e, Mapping)] if isinstance(new, list) else []
    problems = []
    message = "会计工作履历经审核后不能改写，只能在最后增加新的工作经历（或为当前工作填写结束时间）"
    for i, before in enumerate(old):
        after = new[i] if i < len(new) else None
        if after is None or after.get("id") != before.get("id"):
            problems.append((f"work_history.{i}", "history_locked", message))
            continue
        if before.get("to"):
            same = dict(after) == dict(before)
        else:
            same = {k: v for k, v in after.items() if k != "to"} == {k: v for k, v in before.items() if k != "to"}
        if not same:
            problems.append((f"work_history.{i}", "history_locked", message))
    last = max((_text_date(e.get("from")) for e in old), default="")
    for i in range(len(old), len(new)):
        if _text_date(new[i].get("from")) <= last:
            problems.append((f"work_history.{i}.from", "history_locked", "新增的工作经历应晚于已有的各段工作经历"))
    return problems


def _text_date(value: Any) -> str:
    return value if isinstance(value, str) else ""
