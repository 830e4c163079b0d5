"""Validation and normalisation of record PATCH bodies (see validate_patch)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from typing import Any

from . import identifiers as ids
from .districts import DistrictsLike, district_codes
from .errors import FieldErrorItem, FieldProblem, error_item
from .fields import SCALARS, SECTIONS
from .fields import value_at as _get
from .names import derive_pinyin
from .values import Context, check_value

Record = dict[str, Any]

_DEGREE_NEEDS_LEVEL = {"bachelor", "master", "doctor"}
_QUAL_DETAILS = ("obtained_by", "obtained_on", "certificate_no", "issuer")


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

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
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
                run.sent.add(path)
                try:
                    run.put(key, name, check_value(spec, value, run.ctx))
                except FieldProblem as p:
                    run.error(path, p.code, p.message)
        else:
            run.error(key, "unknown_section", "不支持的信息项")


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
    try:
        if id_type == "resident_id":
            info = ids.parse_resident_id(number, run.ctx.today)
        elif id_type == "residence_permit":
            info = ids.parse_residence_permit(number, run.ctx.today)
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
    _check_nationality(run, merged, id_type, normalised)


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


def _check_nationality(run: _Run, merged: Record, id_type: str, number: str) -> None:
    """Nationality must fit the ID type: CHN for resident ID, CHN/HKG/MAC/TWN for permits."""
    path = "profile.nationality"
    if path in run.bad:
        return
    given = _get(merged, path)
    if id_type == "resident_id":
        allowed, derived = {"CHN"}, "CHN"
    elif id_type == "residence_permit":
        region = ids.permit_region(number) or "CHN"
        allowed, derived = {"CHN", region}, region
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
        ("education.graduated_on", born, "before_birth", "毕业时间应晚于出生日期"),
        ("qualification.obtained_on", born, "before_birth", "资格取得时间应晚于出生日期"),
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


def _check_education(run: _Run, merged: Record) -> None:
    """A bachelor/master/doctor degree needs at least an undergraduate education level."""
    if not run.sent & {"education.level", "education.degree"}:
        return
    level = _usable(run, merged, "education.level")
    degree = _usable(run, merged, "education.degree")
    if degree in _DEGREE_NEEDS_LEVEL and level and level not in _DEGREE_NEEDS_LEVEL:
        run.error("education.degree", "degree_inconsistent", "学位与最高学历不一致：取得学位需大学本科及以上学历")


def _check_qualification(run: _Run, current: Mapping[str, Any], merged: Record) -> None:
    """With level "none", certificate details are refused when sent and cleared when stored."""
    if _usable(run, merged, "qualification.level") != "none":
        return
    level_sent = "qualification.level" in run.sent
    for name in _QUAL_DETAILS:
        path = f"qualification.{name}"
        if path in run.sent and _get(run.out, path) is not None:
            run.error(path, "not_applicable", "未取得会计专业技术资格时无需填写此项")
        elif level_sent and _get(current, path) is not None:
            run.put("qualification", name, None)


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
    run = _Run(Context(today, district_codes(districts)))
    if not isinstance(patch, Mapping):
        return {}, [error_item("", "invalid_type", "请求内容应为JSON对象")]
    current = current or {}
    _check_shapes(patch, run)
    merged = apply_patch(current, {k: v for k, v in run.out.items()})
    _derive_pinyin(run, current, merged)
    _check_identity(run, current, merged)
    _check_dates(run, merged)
    _check_education(run, merged)
    _check_qualification(run, current, merged)
    out = {k: v for k, v in run.out.items() if not (isinstance(v, dict) and not v)}
    return out, run.errors


def validate_record(record: Any, districts: DistrictsLike | None, today: date) -> tuple[Record, list[FieldErrorItem]]:
    """Validate a whole record as if it were one PATCH onto an empty record."""
    return validate_patch(record, {}, districts, today)


def archive_no(record: Mapping[str, Any]) -> str | None:
    """Archive number (会计人员档案号): the uppercase ID / permit / passport number."""
    number = _get(record, "profile.id_number")
    if not isinstance(number, str) or not number.strip():
        return None
    return "".join(number.split()).upper()
