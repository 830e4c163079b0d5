"""GET /api/v1/options and the OpenAPI document of the mini-program API."""

from __future__ import annotations

from server.records import OPTIONS


async def test_options_list_every_closed_list_without_login(http):
    r = await http.get("/api/v1/options")
    assert r.status == 200
    body = r.json
    for name, items in OPTIONS.items():
        assert body[name] == items, name
    assert {"code": "350203", "label": "思明区"} in body["districts"]
    assert {"code": "01", "label": "汉族"} in body["ethnicities"]
    assert [o["code"] for o in body["qualification_levels"]] == [
        "none",
        "junior",
        "intermediate",
        "senior",
        "full_senior",
    ]
    assert all(set(o) == {"code", "label"} for name, items in body.items() for o in items if name != "posts")
    assert all(o["group"] in ("administrative", "professional") for o in body["posts"])


async def test_openapi_documents_every_mini_program_endpoint_with_the_enums(http):
    doc = (await http.get("/api/openapi.json")).json
    paths = doc["paths"]
    expected = {
        "/api/v1/auth/login": {"post"},
        "/api/v1/auth/logout": {"post"},
        "/api/v1/options": {"get"},
        "/api/v1/me/record": {"get", "patch"},
        "/api/v1/me/record/submit": {"post"},
        "/api/v1/me/documents": {"get"},
        "/api/v1/me/documents/{kind}": {"post"},
        "/api/v1/me/documents/{kind}/file": {"get"},
        "/api/v1/me/messages": {"get"},
        "/api/v1/me/messages/{message_id}/read": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    assert paths["/api/v1/me/record"]["get"]["security"] == [{"bearer": []}]
    assert paths["/api/v1/options"]["get"]["security"] == []
    schemas = doc["components"]["schemas"]
    for name, items in OPTIONS.items():
        camel = "".join(p.capitalize() for p in name.split("_"))
        assert schemas[f"Record{camel}"]["enum"] == [o["code"] for o in items], name
    assert "350203" in schemas["RecordDistricts"]["enum"]
    assert schemas["RecordPatch"]["additionalProperties"] is False
    gender = schemas["RecordProfile"]["properties"]["gender"]  # the enum, or "" (= clear), or null
    assert gender["anyOf"][0]["$ref"] == "#/components/schemas/RecordGenders" and gender["nullable"] is True
    patch = paths["/api/v1/me/record"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/RecordPatch"
    upload = paths["/api/v1/me/documents/{kind}"]["post"]
    assert "file" in upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert schemas["DocumentKind"]["enum"][:2] == ["id_front", "id_back"]
    assert schemas["RecordStatus"]["enum"] == ["draft", "submitted", "approved", "rejected", "transferring"]
