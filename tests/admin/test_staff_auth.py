"""Staff sign-in: argon2 hashes, cookie flags, XSRF, lockout, logout, and token separation."""

from __future__ import annotations

import datetime as dt

from server.db import utcnow
from tests.admin.conftest import PASSWORD, A, StaffClient, add_staff, insert_record


async def test_login_sets_strict_httponly_cookie_and_hashes_password(server, http):
    doc = await add_staff(server.services, "alice", regions=[A])
    stored = await server.services.db["staff"].find_one({"_id": "alice"})
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in str(stored)
    assert doc["regions"] == [A]

    status, body, cookies = await _login_raw(server, http, "Alice", PASSWORD)
    assert status == 200, body
    assert body["username"] == "alice" and body["role"] == "reviewer" and body["regions"] == [A]
    session = next(c for c in cookies if c.startswith("kjcj_staff="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/admin" in session
    assert "Secure" not in session
    xsrf = next(c for c in cookies if c.startswith("kjcj_xsrf="))
    assert "HttpOnly" not in xsrf and "SameSite=Strict" in xsrf
    # The session is stored hashed: the cookie value is not in the database.
    token = session.split(";")[0].split("=", 1)[1]
    assert await server.services.db["staff_sessions"].count_documents({}) == 1
    assert await server.services.db["staff_sessions"].find_one({"_id": token}) is None
    me = await http.get("/admin/api/me")
    assert me.status == 200 and me.json["username"] == "alice"
    assert [d["code"] for d in me.json["districts"]] == [A]
    assert "照片不合格" in me.json["reject_reasons"]


async def _login_raw(server, http, username: str, password: str) -> tuple[int, dict, list[str]]:
    """Log in keeping every Set-Cookie header (the Response helper folds repeated headers)."""
    async with http.session.post(
        server.url + "/admin/api/login", json={"username": username, "password": password}
    ) as resp:
        return resp.status, await resp.json(), resp.headers.getall("Set-Cookie", [])


async def test_secure_flag_when_configured(make_server, http_factory):
    server = await make_server(staff_cookie_secure=True)
    await add_staff(server.services, "bob")
    status, _, cookies = await _login_raw(server, http_factory(server), "bob", PASSWORD)
    assert status == 200
    assert all("Secure" in c for c in cookies) and len(cookies) == 2


async def test_wrong_password_and_unknown_user_look_the_same(server, http):
    await add_staff(server.services, "carol")
    wrong = await http.post("/admin/api/login", json={"username": "carol", "password": "nope-nope-nope"})
    unknown = await http.post("/admin/api/login", json={"username": "nobody", "password": "nope-nope-nope"})
    assert wrong.status == unknown.status == 401
    assert wrong.error_code == unknown.error_code == "bad_credentials"
    assert wrong.json["error"]["message"] == unknown.json["error"]["message"]
    assert (await http.get("/admin/api/me")).status == 401


async def test_five_failures_lock_the_account_for_fifteen_minutes(server, http):
    # Locked at a usual address (one dave logged in from before); strangers elsewhere only slow
    # logins down (tests/admin/test_staff_lockout.py).
    await add_staff(server.services, "dave")
    assert (await http.post("/admin/api/login", json={"username": "dave", "password": PASSWORD})).status == 200
    codes = []
    for _ in range(5):
        r = await http.post("/admin/api/login", json={"username": "dave", "password": "wrong-password"})
        codes.append((r.status, r.error_code))
    assert codes[:4] == [(401, "bad_credentials")] * 4
    assert codes[4] == (429, "account_locked")
    # Even the right password is refused while locked, and no session is created.
    sessions = await server.services.db["staff_sessions"].count_documents({})
    r = await http.post("/admin/api/login", json={"username": "dave", "password": PASSWORD})
    assert r.status == 429 and r.error_code == "account_locked" and "分钟" in r.json["error"]["message"]
    assert 14 * 60 <= r.json["error"]["retry_after_seconds"] <= 15 * 60
    assert 14 * 60 <= int(r.headers["Retry-After"]) <= 15 * 60
    assert await server.services.db["staff_sessions"].count_documents({}) == sessions
    # Fifteen minutes later (moved in the database, not waited for) the right password works.
    past = utcnow() - dt.timedelta(seconds=1)
    counters = server.services.db["staff_login_failures"]
    await counters.update_many({"username": "dave", "policy": "usual"}, {"$set": {"open_at": past, "expires_at": past}})
    r = await http.post("/admin/api/login", json={"username": "dave", "password": PASSWORD})
    assert r.status == 200
    assert await counters.count_documents({"username": "dave", "policy": "usual"}) == 0


async def test_success_resets_the_failure_count(server, http):
    await add_staff(server.services, "erin")
    for _ in range(4):
        await http.post("/admin/api/login", json={"username": "erin", "password": "wrong-password"})
    assert (await http.post("/admin/api/login", json={"username": "erin", "password": PASSWORD})).status == 200
    r = await http.post("/admin/api/login", json={"username": "erin", "password": "wrong-password"})
    assert r.status == 401 and r.json["error"]["attempts_left"] == 4


async def test_bad_login_bodies_are_4xx(server, http):
    assert (
        await http.post(
            "/admin/api/login",
            raw=b"username=a&password=b",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    ).error_code == "json_required"
    r = await http.post("/admin/api/login", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.error_code == "malformed_json"
    r = await http.post("/admin/api/login", json={"username": ["x"], "password": 5})
    assert r.status == 422 and r.error_code == "credentials_required"


async def test_writes_need_the_xsrf_token(server, http_factory):
    s = server.services
    await add_staff(s, "frank")
    rec = await insert_record(s, region=A)
    client = StaffClient(http_factory(server))
    assert (await client.login("frank")).status == 200
    url = f"/admin/api/records/{rec['_id']}/decision"
    body = {"decision": "approve", "version": rec["version"]}
    no_header = await client.http.post(url, json=body)
    wrong = await client.http.post(url, json=body, headers={"X-XSRF-Token": "forged"})
    assert no_header.status == wrong.status == 403
    assert no_header.error_code == wrong.error_code == "xsrf_failed"
    assert (await s.db["applications"].find_one({"_id": rec["_id"]}))["status"] == "submitted"
    assert (await client.post(url, json=body)).status == 200


async def test_logout_invalidates_the_session_server_side(server, http_factory):
    await add_staff(server.services, "gina")
    client = StaffClient(http_factory(server))
    await client.login("gina")
    cookie = next(c for c in client.http.session.cookie_jar if c.key == "kjcj_staff").value
    assert (await client.post("/admin/api/logout")).status == 200
    assert await server.services.db["staff_sessions"].count_documents({}) == 0
    # Replaying the old cookie value (as a stolen copy would) no longer works.
    fresh = http_factory(server)
    r = await fresh.get("/admin/api/me", headers={"Cookie": f"kjcj_staff={cookie}"})
    assert r.status == 401 and r.error_code == "staff_session_expired"


async def test_expired_sessions_are_refused(server, http_factory):
    await add_staff(server.services, "hank")
    client = StaffClient(http_factory(server))
    await client.login("hank")
    await server.services.db["staff_sessions"].update_many({}, {"$set": {"expires_at": utcnow()}})
    assert (await client.get("/admin/api/me")).error_code == "staff_session_expired"


async def test_disabling_ends_sessions_and_blocks_login(server, http_factory):
    from server.staff import StaffAccounts

    await add_staff(server.services, "ivy")
    client = StaffClient(http_factory(server))
    await client.login("ivy")
    await server.services.get(StaffAccounts).set_disabled("ivy", True)
    assert (await client.get("/admin/api/me")).status == 401
    r = await client.login("ivy")
    assert r.status == 403 and r.error_code == "account_disabled"


async def test_tokens_and_cookies_do_not_cross_front_doors(server, http, http_factory):
    await add_staff(server.services, "jack")
    login = await http.post("/api/v1/auth/login", json={"code": "demo:jack"})
    assert login.status == 200, login.text
    token = login.json["token"]
    assert (await http.get("/api/v1/me/messages", token=token)).status == 200
    # A mini-program bearer token is worth nothing on /admin/api/.
    r = await http.get("/admin/api/records", token=token)
    assert r.status == 401 and r.error_code == "staff_login_required"
    # A staff session cookie is worth nothing on /api/v1/ (not even sent: path /admin; forced here).
    staff = StaffClient(http_factory(server))
    await staff.login("jack")
    cookie = next(c for c in staff.http.session.cookie_jar if c.key == "kjcj_staff").value
    r = await staff.http.get("/api/v1/me/messages", headers={"Cookie": f"kjcj_staff={cookie}"})
    assert r.status == 401


async def test_demo_staff_seeded_in_development_only(make_server, http_factory):
    dev = await make_server(environment="development", demo_staff=True)
    http = http_factory(dev)
    r = await http.post("/admin/api/login", json={"username": "demo", "password": "demo12345"})
    assert r.status == 200 and r.json["role"] == "city_admin" and len(r.json["regions"]) >= 2
    r = await http.post("/admin/api/login", json={"username": "reviewer", "password": "demo12345"})
    assert r.status == 200 and r.json["regions"] == ["350203"]
    again = await make_server(environment="development", demo_staff=True)  # idempotent on restart
    assert await again.services.db["staff"].count_documents({}) == 2


async def test_no_demo_staff_outside_development(make_server):
    server = await make_server(environment="test", demo_staff=True)
    assert await server.services.db["staff"].count_documents({}) == 0
