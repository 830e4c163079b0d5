"""Closed lists, field specs, districts config and the OpenAPI components."""

import json
from pathlib import Path

import pytest

from server.records import (
    OPTIONS,
    SECTIONS,
    DistrictsConfigError,
    all_field_paths,
    district_codes,
    field_label,
    load_districts,
    openapi_components,
    option_codes,
    option_label,
    parse_districts,
)
from server.records.fields import LISTS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "districts.json"


def test_every_list_is_well_formed():
    for name, items in OPTIONS.items():
        codes = [o["code"] for o in items]
        assert len(codes) == len(set(codes)), name
        keys = {"code", "label", "group"} if name == "posts" else {"code", "label"}
        assert all(set(o) == keys and o["code"] and o["label"] for o in items), name


def test_posts_are_the_national_list_in_two_groups():
    groups = {o["code"]: o["group"] for o in OPTIONS["posts"]}
    assert {c for c, g in groups.items() if g == "administrative"} == {"accounting_head", "chief_accountant"}
    labels = {o["label"] for o in OPTIONS["posts"]}
    for label in ("出纳", "资产核算", "收入费用核算", "财务成果核算", "财务会计报告编制", "稽核", "会计档案管理"):
        assert label in labels
    assert option_codes("post_groups") == ("administrative", "professional")
    assert option_codes("study_modes") == ("full_time", "part_time")


def test_required_lists_present():
    for name in (
        "genders",
        "id_types",
        "education_levels",
        "degrees",
        "qualification_levels",
        "obtained_by",
        "unit_natures",
        "posts",
        "ethnicities",
        "nationalities",
        "industries",
        "document_kinds",
    ):
        assert name in OPTIONS
    assert option_codes("genders") == ("male", "female")
    assert option_codes("id_types") == (
        "resident_id",
        "residence_permit",
        "passport",
        "hk_macao_permit",
        "taiwan_permit",
    )
    assert option_codes("qualification_levels") == ("none", "junior", "intermediate", "senior", "full_senior")
    assert option_codes("obtained_by") == ("exam", "review", "exam_review")
    assert option_label("obtained_by", "exam_review") == "考评结合"
    assert option_label("id_types", "residence_permit") == "港澳台居民居住证"
    assert option_label("genders", "x") is None


def test_ethnicities_gb3304_order():
    eth = OPTIONS["ethnicities"]
    groups = [o for o in eth if int(o["code"]) <= 56]
    assert [o["code"] for o in groups] == [f"{i:02d}" for i in range(1, 57)]
    assert len({o["label"] for o in groups}) == 56 and all(o["label"].endswith("族") for o in groups)
    assert (groups[0]["label"], groups[1]["label"], groups[10]["label"], groups[55]["label"]) == (
        "汉族",
        "蒙古族",
        "满族",
        "基诺族",
    )
    assert option_label("ethnicities", "97") == "其他"
    assert option_label("ethnicities", "98") == "外国血统中国籍人士"


def test_nationalities():
    codes = option_codes("nationalities")
    assert codes[0] == "CHN" and {"HKG", "MAC", "TWN", "USA", "JPN", "KOR", "GBR"} <= set(codes)
    assert all(len(c) == 3 and c.isupper() and c.isascii() for c in codes)


def test_field_specs():
    assert all_field_paths()[:2] == ["profile.name", "profile.name_pinyin"]
    assert all_field_paths()[-1] == "region_code"
    assert field_label("profile.id_number") == "证件号码"
    assert set(SECTIONS) == {"profile", "education", "qualification", "employment", "contact"}


def test_load_districts_from_config_and_injected_path(tmp_path):
    d = load_districts(CONFIG)
    assert d.city["name"] == "厦门市"
    assert d.codes == {"350203", "350205", "350206", "350211"}
    assert d.get("350206")["name"] == "湖里区"
    assert all(set(x) == {"code", "name", "office", "phone", "address"} for x in d.districts)
    assert d.options()[0] == {"code": "350203", "label": "思明区"}
    other = tmp_path / "d.json"
    other.write_text(
        json.dumps(
            {
                "city": {"name": "某市"},
                "districts": [
                    {"code": "110105", "name": "朝阳区", "office": "财政局", "phone": "010-1", "address": "某地"}
                ],
            }
        ),
        encoding="utf-8",
    )
    assert load_districts(str(other)).codes == {"110105"}
    assert district_codes(json.loads(CONFIG.read_text(encoding="utf-8"))) == d.codes


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"city": {}},
        {"city": {}, "districts": []},
        {"city": {}, "districts": [{"code": "1"}]},
        {"city": {}, "districts": [{"code": "35020", "name": "a", "office": "b", "phone": "c", "address": "d"}]},
        {"city": {}, "districts": [{"code": "350203", "name": "a", "office": "b", "phone": "c", "address": "d"}] * 2},
    ],
)
def test_bad_districts_config(data):
    with pytest.raises(DistrictsConfigError):
        parse_districts(data)


def test_bad_json_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(DistrictsConfigError):
        load_districts(bad)


@pytest.mark.parametrize("version", ["3.1.0", "3.0.3"])
def test_openapi_components(version):
    comps = openapi_components(load_districts(CONFIG), openapi_version=version)
    json.dumps(comps, ensure_ascii=False)
    schemas = comps["schemas"]
    patch = schemas["RecordPatch"]
    assert patch["additionalProperties"] is False
    # the summary sections education / qualification are derived: not in a PATCH
    assert set(patch["properties"]) == {"profile", "employment", "contact", *LISTS, "region_code"}
    assert set(schemas["RecordEmploymentInput"]["properties"]) == {"accounting_since", "old_certificate_no"}
    entry = schemas["RecordWorkHistoryEntry"]
    assert entry["additionalProperties"] is False and {"id", "from", "to", "post", "proof"} <= set(entry["properties"])
    for list_name, items in OPTIONS.items():
        camel = "".join(p.capitalize() for p in list_name.split("_"))
        enum = schemas[f"Record{camel}"]
        assert enum["enum"] == [o["code"] for o in items]
        assert enum["x-enum-labels"] == {o["code"]: o["label"] for o in items}
    assert schemas["RecordDistricts"]["enum"] == ["350203", "350205", "350206", "350211"]
    for section, fields in SECTIONS.items():
        body = schemas[f"Record{section.capitalize()}"]
        assert body["additionalProperties"] is False and set(body["properties"]) == set(fields)
    gender = schemas["RecordProfile"]["properties"]["gender"]
    in_post = schemas["RecordEmployment"]["properties"]["in_post"]
    if version.startswith("3.0"):
        assert gender["nullable"] is True and gender["anyOf"][0] == {"$ref": "#/components/schemas/RecordGenders"}
        assert in_post["type"] == "boolean" and in_post["nullable"] is True
    else:
        assert gender["anyOf"][0] == {"$ref": "#/components/schemas/RecordGenders"}
        assert gender["anyOf"][-1] == {"type": "null"}
        assert in_post["type"] == ["boolean", "null"]
    refs = json.dumps(comps)
    for ref in {r.split('"')[0] for r in refs.split("#/components/schemas/")[1:]}:
        assert ref in schemas, ref


def test_openapi_without_districts():
    comps = openapi_components()
    region = comps["schemas"]["RecordPatch"]["properties"]["region_code"]
    assert region["anyOf"][0]["pattern"] == "^[0-9]{6}$"
    assert region["anyOf"][1]["maxLength"] == 0  # "" clears it, like null


def test_options_payload():
    from server.records import options_payload

    payload = options_payload(load_districts(CONFIG))
    assert payload["districts"][1] == {"code": "350205", "label": "海沧区"}
    assert set(payload) == set(OPTIONS) | {"districts"}
    payload["genders"][0]["label"] = "x"
    assert OPTIONS["genders"][0]["label"] == "男"  # a copy
    assert "districts" not in options_payload()
