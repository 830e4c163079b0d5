"""Sections and fields of the accountant record (会计人员信息采集) and their types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .options import OPTIONS

if TYPE_CHECKING:
    from .districts import Districts

# Field kinds understood by validation.py and openapi.py.
KINDS = (
    "text",  # free text, trimmed + NFC, length-capped
    "name",  # person name, see names.py
    "pinyin",  # latin letters / spaces / ü
    "enum",  # code from OPTIONS[options]
    "date",  # "YYYY-MM-DD", real, not in the future
    "bool",  # JSON true/false
    "id_number",  # depends on profile.id_type
    "uscc",  # unified social credit code (GB 32100)
    "mobile",  # mainland mobile, normalised to 11 digits
    "email",
    "certificate_no",  # letters/digits/hyphen
    "region",  # 6-digit district code served by this deployment
)


@dataclass(frozen=True)
class FieldSpec:
    """Declarative description of one record field."""

    name: str
    kind: str
    label: str
    max_length: int | None = None
    options: str | None = None
    derived: bool = False  # computed by the server (derived.py): a PATCH naming it is refused

    def __post_init__(self) -> None:
        """Check the spec is coherent."""
        assert self.kind in KINDS, self.kind
        assert (self.kind == "enum") == (self.options is not None), self.name
        assert self.options is None or self.options in OPTIONS, self.options


def _section(*fields: FieldSpec) -> dict[str, FieldSpec]:
    """Index field specs by name, keeping order."""
    return {f.name: f for f in fields}


SECTIONS: dict[str, dict[str, FieldSpec]] = {
    "profile": _section(
        FieldSpec("name", "name", "姓名", 64),
        FieldSpec("name_pinyin", "pinyin", "姓名拼音", 128),
        FieldSpec("gender", "enum", "性别", options="genders"),
        FieldSpec("id_type", "enum", "证件类型", options="id_types"),
        FieldSpec("id_number", "id_number", "证件号码", 20),
        FieldSpec("birth_date", "date", "出生日期"),
        FieldSpec("ethnicity", "enum", "民族", options="ethnicities"),
        FieldSpec("nationality", "enum", "国籍/地区", options="nationalities"),
    ),
    # education / qualification: the highest entry of the lists, derived (derived.py)
    "education": _section(
        FieldSpec("level", "enum", "最高学历", options="education_levels", derived=True),
        FieldSpec("school", "text", "毕业院校", 100, derived=True),
        FieldSpec("major", "text", "所学专业", 100, derived=True),
        FieldSpec("mode", "enum", "学习形式", options="study_modes", derived=True),
        FieldSpec("graduated_on", "date", "毕业时间", derived=True),
        FieldSpec("degree", "enum", "学位", options="degrees", derived=True),
    ),
    "qualification": _section(
        FieldSpec("level", "enum", "会计专业技术资格", options="qualification_levels", derived=True),
        FieldSpec("obtained_by", "enum", "取得方式", options="obtained_by", derived=True),
        FieldSpec("obtained_on", "date", "取得时间", derived=True),
        FieldSpec("certificate_no", "certificate_no", "资格证书编号", 40, derived=True),
        FieldSpec("issuer", "text", "发证机关", 100, derived=True),
    ),
    # employment: the current work period (derived) and two fields the person types
    "employment": _section(
        FieldSpec("in_post", "bool", "是否在会计岗位", derived=True),
        FieldSpec("unit_name", "text", "工作单位名称", 150, derived=True),
        FieldSpec("unit_credit_code", "uscc", "单位统一社会信用代码", 18, derived=True),
        FieldSpec("unit_nature", "enum", "单位性质", options="unit_natures", derived=True),
        FieldSpec("industry", "enum", "所属行业", options="industries", derived=True),
        FieldSpec("post", "enum", "会计岗位", options="posts", derived=True),
        FieldSpec("accounting_since", "date", "首次参加会计工作日期"),
        FieldSpec("old_certificate_no", "certificate_no", "原会计从业资格证书编号", 40),
    ),
    "contact": _section(
        FieldSpec("mobile", "mobile", "手机号码", 11),
        FieldSpec("email", "email", "电子邮箱", 254),
    ),
}

SECTION_LABELS: dict[str, str] = {
    "profile": "个人基本信息",
    "education": "最高学历",
    "qualification": "最高会计专业技术资格",
    "employment": "当前工作单位及岗位",
    "contact": "联系方式",
}


@dataclass(frozen=True)
class ListSpec:
    """A list of entries (学历, 资格, 履历): each entry has a server-assigned `id` and a `proof`."""

    name: str
    label: str
    fields: dict[str, FieldSpec]
    required: tuple[str, ...]  # fields every entry needs before submission
    max_entries: int
    proof_kind: str


LISTS: dict[str, ListSpec] = {
    "educations": ListSpec(
        "educations",
        "学历信息",
        _section(
            FieldSpec("level", "enum", "学历", options="education_levels"),
            FieldSpec("school", "text", "毕业院校", 100),
            FieldSpec("major", "text", "所学专业", 100),
            FieldSpec("mode", "enum", "学习形式", options="study_modes"),
            FieldSpec("from", "date", "入学时间"),
            FieldSpec("to", "date", "毕业时间"),
            FieldSpec("certificate_no", "certificate_no", "学历证书编号", 40),
            FieldSpec("degree", "enum", "学位", options="degrees"),
        ),
        ("level", "school", "mode", "from", "to"),
        8,
        "diploma",
    ),
    "qualifications": ListSpec(
        "qualifications",
        "会计专业技术资格",
        _section(
            FieldSpec("level", "enum", "资格等级", options="qualification_levels"),
            FieldSpec("obtained_by", "enum", "取得方式", options="obtained_by"),
            FieldSpec("obtained_on", "date", "取得时间"),
            FieldSpec("certificate_no", "certificate_no", "资格证书编号", 40),
            FieldSpec("issuer", "text", "发证机关", 100),
        ),
        ("level", "obtained_by", "obtained_on", "certificate_no"),
        8,
        "qualification_certificate",
    ),
    "work_history": ListSpec(
        "work_history",
        "会计工作履历",
        _section(
            FieldSpec("unit_name", "text", "工作单位名称", 150),
            FieldSpec("unit_credit_code", "uscc", "单位统一社会信用代码", 18),
            FieldSpec("unit_nature", "enum", "单位性质", options="unit_natures"),
            FieldSpec("industry", "enum", "所属行业", options="industries"),
            FieldSpec("post", "enum", "会计岗位", options="posts"),
            FieldSpec("from", "date", "开始时间"),
            FieldSpec("to", "date", "结束时间"),
        ),
        ("unit_name", "unit_credit_code", "unit_nature", "industry", "post", "from"),
        30,
        "work_proof",
    ),
}

# Written only by the server (the legacy register, server/legacy): a PATCH naming it is refused.
READ_ONLY = ("legacy",)
# Every key of the person's part of a record (stored on the first collection and in archive data).
RECORD_KEYS = (*SECTIONS, *LISTS, *READ_ONLY, "region_code")

# Top-level scalar fields (not inside a section).
SCALARS: dict[str, FieldSpec] = {
    "region_code": FieldSpec("region_code", "region", "管理机关所在区", 6),
}


def _list_path(path: str) -> tuple[ListSpec, int | None, str] | None:
    """(list spec, index, field) of "work_history", "work_history.1" or "work_history.1.from"."""
    name, _, rest = path.partition(".")
    spec = LISTS.get(name)
    if spec is None:
        return None
    index, _, field = rest.partition(".")
    return spec, int(index) if index.isdigit() else None, field


def field_spec(path: str) -> FieldSpec | None:
    """Spec of a dotted field path such as "profile.id_number" or "work_history.1.from", or None."""
    if path in SCALARS:
        return SCALARS[path]
    listed = _list_path(path)
    if listed is not None:
        return listed[0].fields.get(listed[2]) if listed[2] else None
    section, _, name = path.partition(".")
    return SECTIONS.get(section, {}).get(name)


def field_label(path: str) -> str:
    """Chinese label of a dotted field path (the path itself when unknown)."""
    listed = _list_path(path)
    if listed is not None:
        spec, index, name = listed
        label = spec.label if index is None else f"第{index + 1}条{spec.label}"
        if name == "proof":
            return f"{label}的证明材料"
        field = spec.fields.get(name)
        return f"{label}：{field.label}" if field else label
    spec_ = field_spec(path)
    return spec_.label if spec_ else path


def is_derived(path: str) -> bool:
    """True for a summary field the server computes (derived.py)."""
    spec = None if _list_path(path) else field_spec(path)
    return bool(spec and spec.derived)


def all_field_paths() -> list[str]:
    """Every dotted field path of the record, in form order (a list counts as one path)."""
    paths = [f"{s}.{n}" for s, fields in SECTIONS.items() for n in fields]
    return paths + list(LISTS) + list(SCALARS)


def options_payload(districts: Districts | None = None) -> dict[str, list[dict[str, str]]]:
    """All closed lists for the mini-program, plus "districts" from the deployment config."""
    payload = {name: [dict(o) for o in items] for name, items in OPTIONS.items()}
    if districts is not None:
        payload["districts"] = districts.options()
    return payload


def value_at(record: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path (`section.field`) of a record, or None."""
    section, _, name = path.partition(".")
    body = record.get(section)
    if not name:
        return body
    return body.get(name) if isinstance(body, Mapping) else None
