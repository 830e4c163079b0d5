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
    "education": _section(
        FieldSpec("level", "enum", "最高学历", options="education_levels"),
        FieldSpec("school", "text", "毕业院校", 100),
        FieldSpec("major", "text", "所学专业", 100),
        FieldSpec("graduated_on", "date", "毕业时间"),
        FieldSpec("degree", "enum", "学位", options="degrees"),
    ),
    "qualification": _section(
        FieldSpec("level", "enum", "会计专业技术资格", options="qualification_levels"),
        FieldSpec("obtained_by", "enum", "取得方式", options="obtained_by"),
        FieldSpec("obtained_on", "date", "取得时间"),
        FieldSpec("certificate_no", "certificate_no", "资格证书编号", 40),
        FieldSpec("issuer", "text", "发证机关", 100),
    ),
    "employment": _section(
        FieldSpec("in_post", "bool", "是否在会计岗位"),
        FieldSpec("unit_name", "text", "工作单位名称", 150),
        FieldSpec("unit_credit_code", "uscc", "单位统一社会信用代码", 18),
        FieldSpec("unit_nature", "enum", "单位性质", options="unit_natures"),
        FieldSpec("industry", "enum", "所属行业", options="industries"),
        FieldSpec("post", "enum", "会计岗位", options="posts"),
        FieldSpec("accounting_since", "date", "开始从事会计工作时间"),
    ),
    "contact": _section(
        FieldSpec("mobile", "mobile", "手机号码", 11),
        FieldSpec("email", "email", "电子邮箱", 254),
    ),
}

SECTION_LABELS: dict[str, str] = {
    "profile": "个人基本信息",
    "education": "学历信息",
    "qualification": "会计专业技术资格",
    "employment": "工作单位及岗位",
    "contact": "联系方式",
}

# Top-level scalar fields (not inside a section).
SCALARS: dict[str, FieldSpec] = {
    "region_code": FieldSpec("region_code", "region", "管理机关所在区", 6),
}


def field_spec(path: str) -> FieldSpec | None:
    """Spec of a dotted field path such as "profile.id_number", or None."""
    if path in SCALARS:
        return SCALARS[path]
    section, _, name = path.partition(".")
    return SECTIONS.get(section, {}).get(name)


def field_label(path: str) -> str:
    """Chinese label of a dotted field path (the path itself when unknown)."""
    spec = field_spec(path)
    return spec.label if spec else path


def all_field_paths() -> list[str]:
    """Every dotted field path of the record, in form order."""
    paths = [f"{s}.{n}" for s, fields in SECTIONS.items() for n in fields]
    return paths + list(SCALARS)


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
