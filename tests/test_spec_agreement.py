"""What the OpenAPI document declares is what the server enforces (the cases Schemathesis found
by hand before it ran in the suite): required bodies, unknown kinds, 405 with Allow, districts."""

from __future__ import annotations

from tests.admin.conftest import PASSWORD, staff_client  # noqa: F401
from tests.miniprogram.conftest import as_user, form, jpeg_bytes  # noqa: F401


async def test_a_required_body_cannot_be_empty(server, as_user):  # noqa: F811
    person = await as_user("empty")
    for method, path in (("PATCH", "/api/v1/me/record"), ("POST", "/api/v1/me/transfers")):
        r = await person.request(method, path)
        assert r.status == 400 and r.error_code == "body_required", (path, r.text)
    record = (await person.get("/api/v1/me/record")).json
    assert record["version"] == 1  # nothing changed
    spec = (await person.get("/api/openapi.json")).json
    assert spec["paths"]["/api/v1/me/record"]["patch"]["requestBody"]["required"] is True
    # logout declares no body: an empty one is fine
    assert (await person.post("/api/v1/auth/logout")).status == 204


async def test_an_unknown_document_kind_is_404_whatever_the_body(server, as_user):  # noqa: F811
    person = await as_user("kinds")
    r = await person.post("/api/v1/me/documents/horoscope", data=form(b"\x00\xff odd bytes", "x.bin", "text/plain"))
    assert r.status == 404 and r.error_code == "unknown_document_kind", r.text
    r = await person.post("/api/v1/me/documents/horoscope", raw=b"not multipart at all")
    assert r.status == 404


async def test_an_unsupported_method_is_405_with_allow(server, as_user):  # noqa: F811
    person = await as_user("methods")
    r = await person.request("TRACE", "/api/v1/me/record")
    assert r.status == 405 and r.json["error"]["code"] == "method_not_allowed"
    assert set(r.headers["Allow"].split(", ")) == {"GET", "PATCH"}
    r = await person.request("DELETE", "/api/v1/options")
    assert r.status == 405 and r.headers["Allow"] == "GET"


async def test_a_district_filter_is_one_of_the_documented_districts(server, staff_client):  # noqa: F811
    from server.staff import StaffAccounts

    await server.services.get(StaffAccounts).ensure("spec-city", "city_admin", [], PASSWORD)
    city = await staff_client(server, "spec-city")
    spec = (await city.get("/api/openapi.json")).json
    param = next(p for p in spec["paths"]["/admin/api/applications"]["get"]["parameters"] if p["name"] == "region")
    codes = spec["components"]["schemas"][param["schema"]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert "350203" in codes and "000000" not in codes
    assert (await city.get("/admin/api/applications?region=000000")).status == 400
    assert (await city.get("/admin/api/applications?region=350203")).status == 200
