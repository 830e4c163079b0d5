"""The rules of collection campaign windows (采集时间窗口), pure: no database, no clock.

A window is a stored document of `campaigns` (see `server/campaigns/service.py`): a title, first
and last day (inclusive, China time), the kinds of application it governs (for now only the
first collection, "collection"), what happens to a submission outside every window
(`late_rule`: "refuse" or "mark_late"), whether transfers are frozen during it, and how many
days before its end people with drafts are reminded.

Which rule applies on a day, when at least one window governs first collections:
- inside a window: open, not late;
- outside every window, the governing window is the one that ended last (a late submission
  belongs to the deadline it missed); before any window has ended, the nearest coming one;
  - "refuse": 409 `outside_collection_window` naming that window's dates;
  - "mark_late": accepted; late when a window has ended before that day (an early submission,
    before the first window opens, is not late).
With no window governing first collections, submissions are accepted all year (not late).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.errors import Conflict, Invalid

CHINA = dt.timezone(dt.timedelta(hours=8))
WINDOW_KINDS = {"collection": "信息采集"}  # the kinds whose table rows name the "collection_window" guard
LATE_RULES = {"refuse": "截止后不再受理提交", "mark_late": "截止后仍可提交，标记为逾期"}
TITLE_MAX = 40
REMINDER_DAYS_MAX = 60
SPAN_DAYS_MAX = 366  # one window covers at most a year
YEARS = (2000, 2100)
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
FIELDS = ("title", "start", "end", "kinds", "late_rule", "freeze_transfers", "reminder_days")
DEFAULTS: dict[str, Any] = {"kinds": ["collection"], "freeze_transfers": False, "reminder_days": 7}


def day_label(d: dt.date) -> str:
    """2027年3月1日."""
    return f"{d.year}年{d.month}月{d.day}日"


def china_day(when: dt.datetime) -> dt.date:
    """The calendar day in China of a moment (a naive datetime is UTC, as the database returns it)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(CHINA).date()


@dataclass(frozen=True)
class Window:
    """One campaign window as the rules read it."""

    id: str
    title: str
    start: dt.date
    end: dt.date
    kinds: tuple[str, ...]
    late_rule: str
    freeze_transfers: bool
    reminder_days: int

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Window | None:
        """The window of a stored document; None when the document is not a usable window."""
        try:
            start, end = dt.date.fromisoformat(doc["start"]), dt.date.fromisoformat(doc["end"])
        except (KeyError, TypeError, ValueError):
            return None
        if end < start:
            return None
        return cls(
            id=str(doc["_id"]),
            title=str(doc.get("title") or ""),
            start=start,
            end=end,
            kinds=tuple(k for k in doc.get("kinds") or () if k in WINDOW_KINDS),
            late_rule=rule if isinstance(rule := doc.get("late_rule"), str) and rule in LATE_RULES else "refuse",
            freeze_transfers=bool(doc.get("freeze_transfers")),
            reminder_days=int(doc.get("reminder_days") or 0),
        )

    @property
    def label(self) -> str:
        """2027年3月1日至2027年4月30日."""
        return f"{day_label(self.start)}至{day_label(self.end)}"

    @property
    def governs_collection(self) -> bool:
        return "collection" in self.kinds

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def state(self, today: dt.date) -> str:
        """ "upcoming", "open" or "ended"."""
        return "upcoming" if today < self.start else "ended" if today > self.end else "open"

    @property
    def reminder_on(self) -> dt.date | None:
        """The day the reminder goes out (not before the window opens), or None without one."""
        if not self.reminder_days or not self.governs_collection:
            return None
        return max(self.start, self.end - dt.timedelta(days=self.reminder_days))

    def view(self, today: dt.date) -> dict:
        """The window for the mini-program and staff."""
        return {
            "id": self.id,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "label": self.label,
            "state": self.state(today),
            "kinds": list(self.kinds),
            "late_rule": self.late_rule,
            "late_rule_label": LATE_RULES[self.late_rule],
            "freeze_transfers": self.freeze_transfers,
            "days_to_end": (self.end - today).days if self.contains(today) else None,
        }


@dataclass(frozen=True)
class Decision:
    """What a first-collection submission on one day meets."""

    allowed: bool
    late: bool
    rule: str  # "always_open" (no window) | "open" (inside one) | "refuse" | "mark_late"
    window: Window | None  # the window inside which, or the governing one
    next: Window | None = None  # the nearest coming window (when outside every window)

    def refusal(self) -> Conflict:
        """409 `outside_collection_window` naming the dates (only for a refused submission)."""
        w = self.window
        assert w is not None
        if self.late:  # the governing window has ended
            message = f"本期信息采集（{w.label}）已经截止，截止后不再受理提交"
            if self.next:
                message += f"；下一期采集时间为{self.next.label}，届时可以提交"
            message += "。如有特殊情况，请联系所在区财政局。"
        else:
            message = f"信息采集尚未开始，本期采集时间为{w.label}，请在此期间提交。"
        return Conflict(message, "outside_collection_window", start=w.start.isoformat(), end=w.end.isoformat())


def collection_windows(windows: Iterable[Window]) -> list[Window]:
    """The windows governing first collections, by start."""
    return sorted((w for w in windows if w.governs_collection), key=lambda w: (w.start, w.end))


def decide(windows: Iterable[Window], day: dt.date) -> Decision:
    """The rule a first-collection submission meets on `day` (see module doc)."""
    ws = collection_windows(windows)
    if not ws:
        return Decision(True, False, "always_open", None)
    inside = [w for w in ws if w.contains(day)]
    if inside:
        return Decision(True, False, "open", min(inside, key=lambda w: w.end))
    ended = [w for w in ws if w.end < day]
    coming = [w for w in ws if w.start > day]
    nxt = min(coming, key=lambda w: w.start) if coming else None
    governing = max(ended, key=lambda w: w.end) if ended else nxt
    assert governing is not None
    late = bool(ended)
    if governing.late_rule == "mark_late":
        return Decision(True, late, "mark_late", governing, nxt)
    return Decision(False, late, "refuse", governing, nxt)


def shown_window(windows: Iterable[Window], day: dt.date) -> Window | None:
    """The window the mini-program shows: the open one, else the next, else the last one."""
    ws = collection_windows(windows)
    inside = [w for w in ws if w.contains(day)]
    if inside:
        return min(inside, key=lambda w: w.end)
    coming = [w for w in ws if w.start > day]
    if coming:
        return min(coming, key=lambda w: w.start)
    return max(ws, key=lambda w: w.end) if ws else None


def sentence(windows: Iterable[Window], day: dt.date) -> str:
    """One or two Chinese sentences on the collection period today (the FAQ's {collection_period},
    the mini-program's message)."""
    d = decide(windows, day)
    if d.rule == "always_open":
        return "目前信息采集全年开放，可以随时在小程序中填写并提交。"
    w = d.window
    assert w is not None
    after = "截止后提交的将标记为逾期提交" if w.late_rule == "mark_late" else "截止后不再受理提交"
    if d.rule == "open":
        return f"本期信息采集时间为{w.label}，请在{day_label(w.end)}前（含当日）完成提交，{after}。"
    if not d.late:  # before the first window
        early = "现在也可以提前填写并提交" if d.allowed else "开始后即可在小程序中提交"
        return f"本期信息采集时间为{w.label}，尚未开始，{early}。"
    text = f"本期信息采集（{w.label}）已经截止，"
    text += "现在仍可在小程序中提交，但将标记为逾期提交" if d.allowed else "截止后不再受理提交"
    if d.next:
        text += f"；下一期采集时间为{d.next.label}"
    return text + "。"


def transfer_freeze(windows: Iterable[Window], day: dt.date) -> Window | None:
    """The window freezing transfers on `day`, or None."""
    frozen = [w for w in windows if w.freeze_transfers and w.contains(day)]
    return min(frozen, key=lambda w: w.end) if frozen else None


def frozen_conflict(w: Window) -> Conflict:
    """409 `transfer_frozen` naming the window's dates (the same code as TRANSFER_FREEZE's)."""
    return Conflict(
        f"信息采集期间（{w.label}）暂停办理调转，请在此之后再申请",
        "transfer_frozen",
        start=w.start.isoformat(),
        end=w.end.isoformat(),
    )


# --- validation of the staff's bodies ------------------------------------------------------


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def _date(value: Any, field: str, problems: list) -> dt.date | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        problems.append(_problem(field, "invalid_date", "日期格式应为 YYYY-MM-DD"))
        return None
    try:
        d = dt.date.fromisoformat(value)
    except ValueError:
        problems.append(_problem(field, "invalid_date", "不是有效的日期"))
        return None
    if not YEARS[0] <= d.year <= YEARS[1]:
        problems.append(_problem(field, "out_of_range", f"年份应在{YEARS[0]}至{YEARS[1]}之间"))
        return None
    return d


def validate(body: Mapping[str, Any], create: bool) -> dict:
    """The accepted fields of a staff body (`create`: required ones and defaults), else Invalid
    naming every bad field. Dates are returned as ISO strings; `version` (PATCH) is passed through."""
    problems: list[dict] = []
    out: dict[str, Any] = {}
    allowed = set(FIELDS) | ({"id"} if create else {"version"})
    problems += [_problem(k, "unknown_field", "不支持的字段") for k in body if k not in allowed]
    if create:
        problems += [_problem(n, "required", "必填") for n in ("title", "start", "end", "late_rule") if n not in body]
        if "id" in body and (not isinstance(body["id"], str) or not ID_PATTERN.fullmatch(body["id"])):
            problems.append(_problem("id", "invalid", "编号为2至40位小写字母、数字或连字符，以字母或数字开头"))
        elif "id" in body:
            out["id"] = body["id"]
    if "title" in body:
        title = body["title"]
        if not isinstance(title, str) or not title.strip():
            problems.append(_problem("title", "required", "请填写名称"))
        elif len(title) > TITLE_MAX:
            problems.append(_problem("title", "too_long", f"名称不能超过{TITLE_MAX}个字"))
        elif _CONTROL.search(title):
            problems.append(_problem("title", "control_character", "名称不能包含控制字符"))
        else:
            out["title"] = " ".join(title.split())
    for name in ("start", "end"):
        if name in body:
            d = _date(body[name], name, problems)
            if d is not None:
                out[name] = d.isoformat()
    if "kinds" in body:
        kinds = body["kinds"]
        names = "、".join(f"{k}（{v}）" for k, v in WINDOW_KINDS.items())
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            problems.append(_problem("kinds", "invalid", f"请选择适用的业务：{names}"))
        elif any(k not in WINDOW_KINDS for k in kinds):
            problems.append(_problem("kinds", "invalid", f"适用的业务只能是 {names}"))
        else:
            out["kinds"] = list(dict.fromkeys(kinds))
    if "late_rule" in body:
        if not isinstance(body["late_rule"], str) or body["late_rule"] not in LATE_RULES:
            rules = "、".join(f"{k}（{v}）" for k, v in LATE_RULES.items())
            problems.append(_problem("late_rule", "invalid", f"逾期规则只能是 {rules}"))
        else:
            out["late_rule"] = body["late_rule"]
    if "freeze_transfers" in body:
        if not isinstance(body["freeze_transfers"], bool):
            problems.append(_problem("freeze_transfers", "not_a_boolean", "必须是 true 或 false"))
        else:
            out["freeze_transfers"] = body["freeze_transfers"]
    if "reminder_days" in body:
        days = body["reminder_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= REMINDER_DAYS_MAX:
            problems.append(
                _problem("reminder_days", "invalid", f"提前提醒天数应为0至{REMINDER_DAYS_MAX}的整数（0为不提醒）")
            )
        else:
            out["reminder_days"] = days
    if "version" in body and not create:
        version = body["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            problems.append(_problem("version", "invalid", "版本号应为正整数"))
        else:
            out["version"] = version
    if not create and not problems and not set(out) - {"version"}:
        problems.append(_problem("body", "empty", "没有要修改的内容"))
    if problems:
        raise Invalid(problems)
    return {**DEFAULTS, **out} if create else out


def check_window(fields: Mapping[str, Any], others: Sequence[Window]) -> None:
    """Invalid when a whole window (after a create or an edit) is inconsistent: its end before its
    start, longer than a year, or overlapping another window governing the same kinds."""
    start, end = dt.date.fromisoformat(fields["start"]), dt.date.fromisoformat(fields["end"])
    if end < start:
        raise Invalid([_problem("end", "before_start", "结束日期不能早于开始日期")])
    if (end - start).days >= SPAN_DAYS_MAX:
        raise Invalid([_problem("end", "too_long", "一个采集时间窗口最长一年")])
    kinds = set(fields.get("kinds") or ())
    for w in others:
        if kinds & set(w.kinds) and w.start <= end and start <= w.end:
            message = f"与“{w.title}”（{w.label}）时间重叠，请调整日期"
            raise Invalid([_problem("start", "overlaps_window", message)], message, "overlaps_window")
