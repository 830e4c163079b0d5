"""Liveness, readiness and the error shape of the foundation."""

from __future__ import annotations

import asyncio
import time

from server.app import serve
from server.localdb import LocalDatabase


async def test_healthz_is_up(http):
    r = await http.get("/healthz")
    assert r.status == 200 and r.json == {"status": "ok"}


async def test_readyz_follows_the_database(settings, tmp_path, http_factory):
    local = LocalDatabase(tmp_path / "own-db", settings.cache_path)
    uri = await asyncio.get_running_loop().run_in_executor(None, local.start)
    running = await serve(settings.replace(mongodb_uri=uri), port=0, background=False)
    http = http_factory(running)
    try:
        assert (await http.get("/readyz")).status == 200
        await asyncio.get_running_loop().run_in_executor(None, local.stop)
        started = time.monotonic()
        r = await http.get("/readyz")
        assert r.status == 503
        assert r.json["error"]["code"] == "database_unavailable"
        assert time.monotonic() - started < 2.0
        await asyncio.get_running_loop().run_in_executor(None, local.start)
        for _ in range(100):
            r = await http.get("/readyz")
            if r.status == 200:
                break
            await asyncio.sleep(0.1)
        assert r.status == 200
    finally:
        await running.stop()
        await asyncio.get_running_loop().run_in_executor(None, local.stop)


async def test_unknown_path_is_a_json_404(http):
    r = await http.get("/no/such/thing")
    assert r.status == 404
    assert r.json["error"]["code"] == "not_found"
    assert r.json["error"]["message"]


async def test_wrong_method_is_a_json_405(http):
    r = await http.request("DELETE", "/healthz")
    assert r.status == 405
    assert r.json["error"] == {"code": "method_not_allowed", "message": "不支持该请求方法"}


async def test_malformed_json_is_a_json_400_that_changes_nothing(server, http, fake_wechat):
    for raw, code in (
        (b'{"code": "demo:a"', "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b'["demo:a"]', "body_not_object"),
    ):
        r = await http.post("/api/v1/auth/login", raw=raw, headers={"Content-Type": "application/json"})
        assert r.status == 400, raw
        assert r.json["error"]["code"] == code and r.json["error"]["message"]
    assert await server.services.db["user_sessions"].count_documents({}) == 0


async def test_hostile_json_is_a_json_4xx_that_changes_nothing(server, http, fake_wechat):
    # deep nesting (RecursionError) and NaN/Infinity: not JSON
    for raw in (
        b"[" * 10_000 + b"]" * 10_000,
        b'{"code":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"code": NaN}',
        b'{"code": -Infinity}',
    ):
        for path in ("/api/v1/auth/login", "/admin/api/login"):
            r = await http.post(path, raw=raw, headers={"Content-Type": "application/json"})
            assert r.status == 400, (path, raw[:40], r.text)
            assert r.json["error"]["code"] == "malformed_json" and r.json["error"]["message"]
    # lone surrogates parse, but can be neither stored nor written back as UTF-8
    for raw, fields in (
        (b'{"code": "\\ud800", "username": "\\ud800", "password": "x"}', {"code", "username"}),
        (b'{"username": "nobody", "password": "\\udfff"}', {"password"}),
        (b'{"code": "demo:a", "x": ["ok", {"\\udc00": 1}]}', {"x.1"}),
    ):
        for path in ("/api/v1/auth/login", "/admin/api/login"):
            r = await http.post(path, raw=raw, headers={"Content-Type": "application/json"})
            assert r.status == 422, (path, raw, r.text)
            problem = r.json["error"]["fields"][0]
            assert problem["code"] == "invalid_characters" and problem["field"] in fields and problem["message"]
    assert await server.services.db["user_sessions"].count_documents({}) == 0
    assert await server.services.db["staff_login_failures"].count_documents({}) == 0


async def test_an_uncaught_exception_is_a_json_500_without_details(server, http):
    from handlers.base import ApiHandler

    class Broken(ApiHandler):
        auth = "public"

        def get(self):
            raise RuntimeError("secret internals 11010119900307123X")

    server.app.wildcard_router.add_rules([(r"/test-broken", Broken)])
    r = await http.get("/test-broken")
    assert r.status == 500
    assert r.json == {"error": {"code": "internal_error", "message": "服务器内部错误，请稍后重试"}}
