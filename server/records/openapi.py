"""OpenAPI 3 schemas (components) for the record PATCH body, built from fields.py."""

from __future__ import annotations

from typing import Any

from .districts import Districts
from .fields import LISTS, SCALARS, SECTION_LABELS, SECTIONS, FieldSpec
from .options import OPTIONS

_SCHEMA_PREFIX = "Record"
_FORMATS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "name": {"type": "string", "description": "姓名，支持生僻字（含CJK扩展B–H）及间隔符“·”"},
    "pinyin": {"type": "string", "pattern": "^[A-Za-zÜü]+( [A-Za-zÜü]+)*$"},
    "date": {
        "type": "string",
        "format": "date",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "YYYY-MM-DD；不能晚于今天，且须符合先后关系（如出生日期早于毕业、取得资格日期）",
    },
    "bool": {"type": "boolean"},
    "id_number": {"type": "string", "description": "居民身份证/港澳台居民居住证（18位，GB 11643校验）或护照号码"},
    "uscc": {"type": "string", "description": "统一社会信用代码（GB 32100）", "minLength": 18},
    "mobile": {
        "type": "string",
        # the canonical forms; the server also reads full-width digits and brackets (NFKC) as these
        "pattern": "^(\\+86|0086|86)?[ -]?1[3-9][0-9]([ -]?[0-9]){8}$",
        "description": "中国大陆手机号（1开头的11位，第二位3–9），可带+86/0086、空格或连字符",
    },
    "email": {"type": "string", "format": "email"},
    "certificate_no": {"type": "string", "minLength": 4},
    "region": {"type": "string", "pattern": "^[0-9]{6}$"},
}


def _camel(name: str) -> str:
    """snake_case -> CamelCase."""
    return "".join(part.capitalize() for part in name.split("_"))


def enum_schema(codes: list[str], labels: list[str], title: str) -> dict[str, Any]:
    """String enum schema carrying Chinese labels (x-enum-labels + description)."""
    return {
        "type": "string",
        "title": title,
        "enum": codes,
        "x-enum-labels": dict(zip(codes, labels)),
        "description": "；".join(f"{c}：{label}" for c, label in zip(codes, labels)),
    }


_EMPTY = {"type": "string", "maxLength": 0, "description": "空字符串：与null相同，清除该字段"}


def _nullable(schema: dict[str, Any], openapi_version: str) -> dict[str, Any]:
    """Allow null (= delete the field) in the dialect of the OpenAPI version."""
    if openapi_version.startswith("3.0"):
        if "$ref" in schema:
            return {"allOf": [schema], "nullable": True}
        return {**schema, "nullable": True}
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _field_schema(spec: FieldSpec, openapi_version: str, has_regions: bool) -> dict[str, Any]:
    """Schema of one field (enum fields reference the shared enum component)."""
    if spec.kind == "enum":
        schema: dict[str, Any] = {"$ref": f"#/components/schemas/{_SCHEMA_PREFIX}{_camel(spec.options or '')}"}
    elif spec.kind == "region" and has_regions:
        schema = {"$ref": f"#/components/schemas/{_SCHEMA_PREFIX}Districts"}
    else:
        schema = {"title": spec.label, **_FORMATS[spec.kind]}
        if spec.max_length and spec.kind in ("text", "name", "pinyin", "email", "certificate_no"):
            schema["maxLength"] = spec.max_length
    if spec.kind not in ("bool", "text", "name"):  # a value with a shape: "" (= clear) is allowed beside it
        schema = {"anyOf": [schema, _EMPTY]}
    return _nullable(schema, openapi_version)


def openapi_components(districts: Districts | None = None, openapi_version: str = "3.1.0") -> dict[str, Any]:
    """`components` object: one enum schema per OPTIONS list, one per section, and RecordPatch."""
    schemas: dict[str, Any] = {}
    for list_name, items in OPTIONS.items():
        schemas[f"{_SCHEMA_PREFIX}{_camel(list_name)}"] = enum_schema(
            [o["code"] for o in items], [o["label"] for o in items], list_name
        )
    if districts is not None:
        schemas[f"{_SCHEMA_PREFIX}Districts"] = enum_schema(
            [d["code"] for d in districts.districts], [d["name"] for d in districts.districts], "districts"
        )
    patch_props: dict[str, Any] = {}
    for section, fields in SECTIONS.items():
        # Record<Section>: the section as the record view shows it (derived fields read-only);
        # Record<Section>Input: what a PATCH may send (a derived field answers 422 derived_field)
        name = f"{_SCHEMA_PREFIX}{_camel(section)}"
        schemas[name] = {
            "type": "object",
            "title": SECTION_LABELS[section],
            "additionalProperties": False,
            "properties": {
                f: {
                    **_field_schema(s, openapi_version, districts is not None),
                    **({"readOnly": True} if s.derived else {}),
                }
                for f, s in fields.items()
            },
        }
        typed = {f: s for f, s in fields.items() if not s.derived}
        if not typed:
            continue
        schemas[f"{name}Input"] = {
            "type": "object",
            "title": SECTION_LABELS[section],
            "additionalProperties": False,
            "properties": {f: _field_schema(s, openapi_version, districts is not None) for f, s in typed.items()},
        }
        patch_props[section] = {"$ref": f"#/components/schemas/{name}Input"}
    for list_name, lspec in LISTS.items():
        entry = f"{_SCHEMA_PREFIX}{_camel(list_name)}Entry"
        schemas[entry] = {
            "type": "object",
            "title": lspec.label,
            "additionalProperties": False,
            "properties": {
                "id": _nullable(
                    {
                        "type": "string",
                        "description": "服务器分配的条目编号：保留原条目时原样传回；新条目不传（或传null）",
                    },
                    openapi_version,
                ),
                **{f: _field_schema(s, openapi_version, districts is not None) for f, s in lspec.fields.items()},
                "proof": {"description": "证明材料的键（由上传接口设置；传入的值被忽略）"},
            },
        }
        patch_props[list_name] = _nullable(
            {
                "type": "array",
                "title": lspec.label,
                "description": f"整体替换（最多{lspec.max_entries}条）；null表示清空",
                "maxItems": lspec.max_entries,
                "items": {"$ref": f"#/components/schemas/{entry}"},
            },
            openapi_version,
        )
    for key, spec in SCALARS.items():
        patch_props[key] = _field_schema(spec, openapi_version, districts is not None)
    schemas[f"{_SCHEMA_PREFIX}Patch"] = {
        "type": "object",
        "title": "会计人员信息（部分更新）",
        "description": "PATCH可只含部分信息项与字段；null或空字符串表示清除该字段；未知信息项或字段将报错。",
        "additionalProperties": False,
        "properties": patch_props,
    }
    return {"schemas": schemas}
