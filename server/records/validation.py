"""Validation and normalisation of record PATCH bodies (see validate_patch)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from typing import Any

from . import identifiers as ids
from .derived import LOCK_MESSAGE, derive, locked_paths
from .districts import DistrictsLike, district_codes
from .entries import check_periods, normalise_list
from .errors import FieldErrorItem, FieldProblem, error_item
from .fields import LISTS, READ_ONLY, SCALARS, SECTIONS
from .fields import value_at as _get
from .names import derive_pinyin
from .values import Context, check_value

Record = dict[str, Any]


def apply_patch(current: Mapping[str, Any] | None, patch: Mapping[str, Any]) -> Record:
    """Merge a normalised patch into a copy of `current`; None values delete fields."""
    merged: Record = copy.deepcopy(dict(current or {}))
    for key, value in patch.items():
        if key in SECTIONS and isinstance(value, Mapping):
            section = merged.get(key)
            section = dict(section) if isinstance(section, Mapping) else {}
            for name, v in value.items():
                if v is None:
                    section.pop(name, None)
                else:
                    section[name] = v
            merged[key] = section
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class _Run:
    """State of one validate_patch call."""

    def __init__(self, ctx: Context, current: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.current = current
        self.locked = set(locked_paths(current))
        self.out: Record = {}
        self.errors: list[FieldErrorItem] = []
        self.bad: set[str] = set()  # paths that failed their own check
        self.sent: set[str] = set()  # paths present in the request

    def error(self, path: str, code: str, message: str) -> None:
        """Record one error (first error per path wins)."""
        if path not in self.bad:
            self.bad.add(path)
            self.errors.append(error_item(path, code, message))

    def put(self, section: str | None, name: str, value: Any) -> None:
        """Store a normalised (or derived) value in the output patch."""
        if section is None:
            self.out[name] = value
        else:
            self.out.setdefault(section, {})[name] = value


def _check_shapes(patch: Mapping[str, Any], run: _Run) -> None:
    """Type-check and normalise every field present in the patch."""
    for key, body in patch.items():
        if not isinstance(key, str):
            run.error(str(key), "unknown_section", "不支持的信息项")
        elif key in SCALARS:
            run.sent.add(key)
            try:
                run.put(None, key, check_value(SCALARS[key], body, run.ctx))
            except FieldProblem as p:
                run.error(key, p.code, p.message)
        elif key in LISTS:
            run.sent.add(key)
            entries = normalise_list(key, body, run.current.get(key), run.ctx, run.error)
            if entries is None:
                run.bad.add(key)
            else:
                run.out[key] = entries
        elif key in READ_ONLY:
            run.error(key, "read_only", "该项由系统根据原会计档案生成，不能修改")
        elif key in SECTIONS:
            if not isinstance(body, Mapping):
                run.error(key, "invalid_type", "该部分应为对象（JSON object）")
                continue
            run.out.setdefault(key, {})
            for name, value in body.items():
                path = f"{key}.{name}"
                spec = SECTIONS[key].get(name) if isinstance(name, str) else None
                if spec is None:
                    run.error(path, "unknown_field", "不支持的字段")
                    continue
                if spec.derived:
                    run.error(path, "derived_field", _derived_message(key))
                    continue
                if path in run.locked:
                    run.error(path, "locked_by_register", LOCK_MESSAGE)
                    continue
                run.sent.add(path)
                try:
                    run.put(key, name, check_value(spec, value, run.ctx))
                except FieldProblem as p:
                    run.error(path, p.code, p.message)
        else:
            run.error(key, "unknown_section", "不支持的信息项")


def _derived_message(section: str) -> str:
    """Why a summary field cannot be sent, and what to send instead."""
    source = {"education": "学历信息（educations）", "qualification": "会计专业技术资格（qualifications）"}.get(
        section, "会计工作履历（work_history）"
    )
    return f"该项由系统根据{source}自动生成，请修改{source}"


def _usable(run: _Run, merged: Record, path: str) -> Any:
    """Merged string value at path unless missing, not a string, or invalid in this request."""
    value = None if path in run.bad else _get(merged, path)
    return value if isinstance(value, str) and value else None


def _as_date(value: Any) -> date | None:
    """Parse a stored ISO date defensively (None when absent or malformed)."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _check_identity(run: _Run, current: Mapping[str, Any], merged: Record) -> None:
    """Check id_number against id_type; derive/compare birth date, gender, nationality."""
    watched = {"profile.id_type", "profile.id_number", "profile.birth_date", "profile.gender", "profile.nationality"}
    if not run.sent & watched:
        return
    id_type = _usable(run, merged, "profile.id_type")
    number = _usable(run, merged, "profile.id_number")
    if number and not id_type and "profile.id_number" in run.sent and "profile.id_type" not in run.bad:
        run.error("profile.id_number", "id_type_required", "请先选择证件类型")
    if not id_type or not number:
        return
    permit = None
    try:
        if id_type == "resident_id":
            info = ids.parse_resident_id(number, run.ctx.today)
        elif id_type == "residence_permit":
            info = ids.parse_residence_permit(number, run.ctx.today)
        elif id_type in ids.TRAVEL_PERMIT_LABELS:
            info = None
            permit = ids.parse_travel_permit(id_type, number)
            number_norm = permit.number
        else:
            info = None
            number_norm = ids.normalize_passport(number)
    except FieldProblem as p:
        run.error("profile.id_number", p.code, p.message)
        return
    normalised = info.number if info else number_norm
    if normalised != _get(current, "profile.id_number") or "profile.id_number" in run.sent:
        run.put("profile", "id_number", normalised)

    if info is not None:
        _reconcile(
            run, merged, "birth_date", info.birth_date.isoformat(), "birth_date_mismatch", "出生日期与证件号码不一致"
        )
        _reconcile(run, merged, "gender", info.gender, "gender_mismatch", "性别与证件号码不一致")
    _check_nationality(run, merged, id_type, normalised, permit)


def _reconcile(run: _Run, merged: Record, name: str, derived: str, code: str, message: str) -> None:
    """A field derivable from the ID must agree when sent, and is (re)derived otherwise."""
    path = f"profile.{name}"
    if path in run.bad:
        return
    given = _get(merged, path)
    if path in run.sent and given is not None:
        if given != derived:
            run.error(path, code, message)
    elif given != derived:
        run.put("profile", name, derived)
        merged.setdefault("profile", {})[name] = derived


def _check_nationality(run: _Run, merged: Record, id_type: str, number: str, permit: Any = None) -> None:
    """Nationality must fit the ID type: CHN for resident ID, CHN/HKG/MAC/TWN for permits (the
    permit's region by default)."""
    path = "profile.nationality"
    if path in run.bad:
        return
    given = _get(merged, path)
    if id_type == "resident_id":
        allowed, derived = {"CHN"}, "CHN"
    elif id_type == "residence_permit":
        region = ids.permit_region(number) or "CHN"
        allowed, derived = {"CHN", region}, region
    elif permit is not None:
        allowed, derived = set(permit.nationalities), permit.region
    else:
        allowed, derived = None, None
    fits = given is None or (given in allowed if allowed else given != "CHN")
    if fits and given is not None:
        return
    if path in run.sent and given is not None:
        msg = "持护照登记的外籍人员国籍不能为中国" if allowed is None else "国籍/地区与证件类型不一致"
        run.error(path, "nationality_mismatch", msg)
    elif derived != given:
        run.put("profile", "nationality", derived)


def _sixteenth_birthday(born: date) -> date:
    """The date someone born on `born` turns 16 (29 Feb -> 1 Mar)."""
    try:
        return born.replace(year=born.year + 16)
    except ValueError:
        return date(born.year + 16, 3, 1)


def _check_dates(run: _Run, merged: Record) -> None:
    """Dates that must come after birth (and the 16th birthday for accounting work)."""
    birth_paths = {"profile.birth_date", "profile.id_number", "profile.id_type"}
    born = _as_date(_usable(run, merged, "profile.birth_date"))
    if born is None:
        return
    birth_changed = bool(run.sent & birth_paths)
    rules = (
        (
            "employment.accounting_since",
            _sixteenth_birthday(born),
            "before_age_16",
            "开始从事会计工作时间不能早于年满16周岁之日",
        ),
    )
    for path, limit, code, message in rules:
        if path not in run.sent and not birth_changed:
            continue
        value = _as_date(_usable(run, merged, path))
        if value is None:
            continue
        too_early = value < limit if code == "before_age_16" else value <= limit
        if too_early:
            run.error(path, code, message)


def _check_lists(run: _Run, merged: Record) -> None:
    """The rules over whole lists, for the lists sent (all of them when birth or the first work date moved)."""
    birth_paths = {"profile.birth_date", "profile.id_number", "profile.id_type"}
    names = {n for n in LISTS if n in run.sent and n not in run.bad}
    if run.sent & birth_paths:
        names |= {n for n in LISTS if n not in run.bad}
    if "employment.accounting_since" in run.sent and "work_history" not in run.bad:
        names.add("work_history")
    if not names:
        return
    born = _as_date(_usable(run, merged, "profile.birth_date"))
    since = _as_date(_usable(run, merged, "employment.accounting_since"))
    check_periods(merged, names, born, _sixteenth_birthday(born) if born else None, since, run.error)


def _derive_sections(run: _Run, merged: Record) -> None:
    """Recompute the summary sections from the merged lists; put what differs from the merged record."""
    for section, values in derive(merged).items():
        for name, value in values.items():
            if _get(merged, f"{section}.{name}") != value:
                run.put(section, name, value)


def _derive_pinyin(run: _Run, current: Mapping[str, Any], merged: Record) -> None:
    """Fill name_pinyin from a changed name unless the patch carries one."""
    if "profile.name" not in run.sent or "profile.name" in run.bad:
        return
    name = _get(merged, "profile.name")
    if "profile.name_pinyin" in run.sent:
        return
    if name == _get(current, "profile.name") and _get(current, "profile.name_pinyin"):
        return  # unchanged name: keep the (possibly user-edited) pinyin
    run.put("profile", "name_pinyin", derive_pinyin(name) if name else None)


def validate_patch(
    patch: Any,
    current: Mapping[str, Any] | None,
    districts: DistrictsLike | None,
    today: date,
) -> tuple[Record, list[FieldErrorItem]]:
    """Validate a PATCH body against the stored record; return (normalised_patch, errors).

    The normalised patch holds every sent field in canonical form plus derived
    fields (birth_date/gender/nationality from the ID number, name_pinyin, cleared
    qualification details); None means "delete this field". Apply it with
    apply_patch only when `errors` is empty. `districts=None` skips the served-district check.
    """
    current = current or {}
    run = _Run(Context(today, district_codes(districts)), current)
    if not isinstance(patch, Mapping):
        return {}, [error_item("", "invalid_type", "请求内容应为JSON对象")]
    _check_shapes(patch, run)
    merged = apply_patch(current, {k: v for k, v in run.out.items()})
    _derive_pinyin(run, current, merged)
    _check_identity(run, current, merged)
    _check_dates(run, merged)
    _check_lists(run, merged)
    if not run.errors and run.out:
        after = apply_patch(current, run.out)
        if any(name in after for name in LISTS):  # a record with lists (every record since #14)
            _derive_sections(run, after)
    out = {k: v for k, v in run.out.items() if not (isinstance(v, dict) and not v)}
    return out, run.errors


def validate_record(record: Any, districts: DistrictsLike | None, today: date) -> tuple[Record, list[FieldErrorItem]]:
    """Validate a whole stored record as if it were one PATCH onto an empty record (its derived,
    locked and read-only parts are the server's and not checked as input)."""
    if not isinstance(record, Mapping):
        return validate_patch(record, {}, districts, today)
    current = {k: record[k] for k in (*LISTS, *READ_ONLY) if k in record}
    locked = set(locked_paths(record))
    body: Record = {}
    for key, value in record.items():
        if key in READ_ONLY:
            continue
        if key in SECTIONS and isinstance(value, Mapping):
            value = {
                n: v
                for n, v in value.items()
                if not (SECTIONS[key].get(n) and SECTIONS[key][n].derived) and f"{key}.{n}" not in locked
            }
        body[key] = value
    return validate_patch(body, current, districts, today)


def archive_no(record: Mapping[str, Any]) -> str | None:
    """Archive number (会计人员档案号): the uppercase ID / residence permit / passport number; for
    the travel permits a prefix and the lifetime number (identifiers.archive_no_for)."""
    number = _get(record, "profile.id_number")
    if not isinstance(number, str) or not number.strip():
        return None
    return ids.archive_no_for(_get(record, "profile.id_type"), number)
