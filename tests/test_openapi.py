"""The OpenAPI document covers every route and method of the app, each documented."""

from __future__ import annotations

import re

from handlers.openapi import implemented_methods, path_template, route_paths


async def test_every_route_and_method_is_documented(server, http):
    r = await http.get("/api/openapi.json")
    assert r.status == 200
    doc = r.json
    assert doc["openapi"].startswith("3.")
    routes = route_paths(server.app)
    assert len(routes) >= 3
    for path, handler in routes:
        assert re.fullmatch(r"[/A-Za-z0-9_.{}\-]+", path), f"regex residue in {path}"
        assert path in doc["paths"], f"{path} missing from the document"
        for method in implemented_methods(handler):
            assert method in doc["paths"][path], f"{method.upper()} {path} missing"
            declared = getattr(handler, "openapi", {}).get(method, {})
            assert declared.get("summary"), f"{handler.__name__}.{method} declares no summary"
    documented = {(p, m) for p, item in doc["paths"].items() for m in item}
    served = {(p, m) for p, h in routes for m in implemented_methods(h)}
    assert documented == served


def test_path_templates_name_their_parameters():
    assert (
        path_template(re.compile(r"/api/v1/me/documents/(?P<kind>[a-z_]+)/file$")) == "/api/v1/me/documents/{kind}/file"
    )
    assert path_template(re.compile(r"/admin/api/records/(?P<id>[0-9a-f]{24})$")) == "/admin/api/records/{id}"


async def test_request_log_lines_mask_personal_numbers(http, caplog):
    caplog.set_level("INFO", logger="kjcj.access")
    await http.get("/no/such?id=11010119900307123X&mobile=13812345678")
    lines = [getattr(rec, "fields", {}).get("path", "") for rec in caplog.records if rec.name == "kjcj.access"]
    assert lines and "11010119900307123X" not in lines[-1] and "13812345678" not in lines[-1]
    assert "110101********123X" in lines[-1] and "138****5678" in lines[-1]


async def test_the_webhook_route_is_tried_first_and_every_other_route_still_answers(server, http):
    routes = route_paths(server.app)
    assert routes[0][0] == "/wechat"  # Tornado tries rules in order; WeChat's callbacks are the hot path
    assert (await http.get("/healthz")).status == 200
    assert (await http.get("/wechat")).status == 403  # unsigned
