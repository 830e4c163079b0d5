"""Login through the fake WeChat server, bearer sessions, expiry."""

from __future__ import annotations

import datetime as dt
import hashlib

from server.db import utcnow


async def test_good_login_issues_a_hashed_expiring_token(server, http):
    r = await http.post("/api/v1/auth/login", json={"code": "demo:alice"})
    assert r.status == 200, r.text
    body = r.json
    assert set(body) == {"token", "expires_at", "record_status"}
    assert body["record_status"] == "draft"
    token = body["token"]
    assert len(token) >= 43
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(days=6, hours=23) < expires - utcnow() <= dt.timedelta(days=7)
    stored = await server.services.db["user_sessions"].find_one({})
    assert stored["_id"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored)
    assert stored["openid"] == "demo-openid-alice"
    me = await http.get("/api/v1/me/record", token=token)
    assert me.status == 200 and me.json["status"] == "draft"


async def test_logging_in_twice_keeps_one_record(server, http):
    a = (await http.post("/api/v1/auth/login", json={"code": "demo:bob"})).json["token"]
    b = (await http.post("/api/v1/auth/login", json={"code": "demo:bob"})).json["token"]
    assert a != b
    ra = (await http.get("/api/v1/me/record", token=a)).json
    rb = (await http.get("/api/v1/me/record", token=b)).json
    assert ra["id"] == rb["id"]
    assert await server.services.db["applications"].count_documents({"openid": "demo-openid-bob"}) == 1


async def test_a_code_wechat_refuses_is_a_401_with_its_own_code(server, http):
    r = await http.post("/api/v1/auth/login", json={"code": "stolen-or-used-code"})
    assert r.status == 401
    assert r.error_code == "wechat_code_invalid"
    assert "微信" in r.json["error"]["message"]
    assert await server.services.db["user_sessions"].count_documents({}) == 0
    assert await server.services.db["applications"].count_documents({}) == 0


async def test_wechat_used_code_and_rate_limit(server, http, fake_wechat):
    fake_wechat.fail_next("/sns/jscode2session", errcode=40163)
    r = await http.post("/api/v1/auth/login", json={"code": "demo:carol"})
    assert r.status == 401 and r.error_code == "wechat_code_invalid"
    fake_wechat.fail_next("/sns/jscode2session", errcode=45011)
    r = await http.post("/api/v1/auth/login", json={"code": "demo:carol"})
    assert r.status == 429 and r.error_code == "wechat_rate_limited"


async def test_wechat_down_is_a_503(server, http, fake_wechat):
    fake_wechat.fail_next("/sns/jscode2session", status=502)
    r = await http.post("/api/v1/auth/login", json={"code": "demo:dan"})
    assert r.status == 503 and r.error_code == "wechat_unavailable"


async def test_login_body_is_checked(http):
    for body, code in (
        ({}, "required"),
        ({"code": ""}, "required"),
        ({"code": 12}, "required"),
        ({"code": "x" * 300}, "too_long"),
        ({"code": "demo:a", "extra": 1}, "unknown_field"),
    ):
        r = await http.post("/api/v1/auth/login", json=body)
        assert r.status == 422, body
        assert r.json["error"]["fields"][0]["code"] == code
    r = await http.post("/api/v1/auth/login", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.error_code == "malformed_json"
    r = await http.post("/api/v1/auth/login", json=["demo:a"])
    assert r.status == 400 and r.error_code == "body_not_object"


async def test_an_expired_token_is_a_401(server, http):
    token = (await http.post("/api/v1/auth/login", json={"code": "demo:erin"})).json["token"]
    sessions = server.services.db["user_sessions"]
    await sessions.update_one(
        {"_id": hashlib.sha256(token.encode()).hexdigest()},
        {"$set": {"expires_at": utcnow() - dt.timedelta(seconds=1)}},
    )
    r = await http.get("/api/v1/me/record", token=token)
    assert r.status == 401 and r.error_code == "token_expired"
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert await sessions.count_documents({}) == 0  # removed on sight
    r = await http.get("/api/v1/me/record", token=token)
    assert r.status == 401 and r.error_code == "token_invalid"


async def test_session_days_setting_sets_the_expiry(make_server, http_factory):
    running = await make_server(session_days=1)
    client = http_factory(running)
    body = (await client.post("/api/v1/auth/login", json={"code": "demo:fay"})).json
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(hours=23) < expires - utcnow() <= dt.timedelta(days=1)


async def test_missing_bad_and_malformed_tokens_are_401(http):
    paths = ["/api/v1/me/record", "/api/v1/me/documents", "/api/v1/me/messages"]
    for path in paths:
        r = await http.get(path)
        assert r.status == 401 and r.error_code == "token_missing", path
    for header, code in (
        ("Bearer nope", "token_invalid"),
        ("Basic dXNlcjpwYXNz", "token_invalid"),
        ("Bearer", "token_invalid"),
        ("Bearer " + "a" * 500, "token_invalid"),
    ):
        r = await http.get("/api/v1/me/record", headers={"Authorization": header})
        assert r.status == 401 and r.error_code == code, header
        assert r.json["error"]["message"]


async def test_a_token_in_a_cookie_or_query_is_not_accepted(http):
    token = (await http.post("/api/v1/auth/login", json={"code": "demo:gus"})).json["token"]
    r = await http.get(f"/api/v1/me/record?access_token={token}")
    assert r.status == 401
    r = await http.get("/api/v1/me/record", headers={"Cookie": f"token={token}"})
    assert r.status == 401


async def test_logout_revokes_the_token(http):
    token = (await http.post("/api/v1/auth/login", json={"code": "demo:hal"})).json["token"]
    assert (await http.post("/api/v1/auth/logout", token=token)).status == 204
    r = await http.get("/api/v1/me/record", token=token)
    assert r.status == 401 and r.error_code == "token_invalid"


async def test_a_mini_program_token_does_not_open_the_admin_api(http):
    token = (await http.post("/api/v1/auth/login", json={"code": "demo:ivan"})).json["token"]
    for path in ("/admin/api/records", "/admin/api/audit"):
        r = await http.get(path, token=token)
        assert r.status in (401, 403), (path, r.status)
