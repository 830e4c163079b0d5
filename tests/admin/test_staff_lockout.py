"""Staff login limits under attack, through real HTTP and the real database (issue 18, items 1-2).

Attempts are claimed before the password is checked, so concurrent bursts never get more
checks than the limit and never a 503; strangers slow a username down but cannot lock the
real person out of their usual address; a city administrator unlocks; the audit log records
locks, slow-downs and unlocks. Client addresses are simulated with X-Real-IP on servers
started with `proxy_headers=True`.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from server.pool import BoundedPool
from server.staff import LoginGuard, guard, passwords
from tests.admin.conftest import PASSWORD, A, StaffClient, add_staff

LIMIT = 5
USUAL, STRANGER, NEW_PLACE = "198.51.100.7", "203.0.113.9", "192.0.2.50"


@pytest.fixture
def checks(monkeypatch):
    """Every password check the server runs, in the order they start: [stored hash, password, result]."""
    from server.staff import accounts

    log: list[list] = []
    real = accounts.verify_password

    async def spy(stored_hash, password):
        entry = [stored_hash, password, None]
        log.append(entry)
        entry[2] = await real(stored_hash, password)
        return entry[2]

    monkeypatch.setattr(accounts, "verify_password", spy)
    return log


async def _login(http, username: str, password: str, address: str | None = None):
    headers = {"X-Real-IP": address} if address else {}
    return await http.post("/admin/api/login", json={"username": username, "password": password}, headers=headers)


async def _burst(http, username: str, address: str | None = None, wrong: int = 29, right: bool = True):
    """`wrong` bad passwords and (optionally) the right one, all sent at once; [(password, response)]."""
    tries = [f"wrong-guess-{i:03d}" for i in range(wrong)] + ([PASSWORD] if right else [])
    random.shuffle(tries)
    responses = await asyncio.gather(*[_login(http, username, p, address) for p in tries])
    return list(zip(tries, responses, strict=True))


def _assert_no_server_errors(results) -> None:
    statuses = [r.status for _, r in results]
    assert all(s in (200, 401, 429) for s in statuses), sorted(set(statuses))
    for _, r in results:
        if r.status == 429:
            assert r.error_code in ("login_throttled", "account_locked", "login_busy"), r.text
            assert int(r.headers["Retry-After"]) >= 1


def _assert_right_only_within_limit(results, log: list[list], limit: int = LIMIT) -> None:
    """The right password is accepted only when it was checked before `limit` wrong ones were."""
    right_at = [i for i, e in enumerate(log) if e[1] == PASSWORD]
    accepted = [r for p, r in results if p == PASSWORD and r.status == 200]
    if accepted:
        assert len(right_at) == 1
        assert sum(1 for e in log[: right_at[0]] if e[1] != PASSWORD) < limit
        # A success clears the count: the wrong ones already claimed are still checked, then a new count starts.
        assert sum(1 for e in log[right_at[0] :] if e[1] != PASSWORD) <= 2 * limit - 1
    else:
        assert right_at == [] and len(log) <= limit  # the right password was never checked
    # Every 200 and 401 comes from a check (the check that reaches the limit answers 429).
    assert sum(1 for _, r in results if r.status in (200, 401)) <= len(log)


@pytest.fixture
def long_first_wait(monkeypatch):
    """No wait past the limit ends during a burst (the wait itself: the stranger test below)."""
    monkeypatch.setattr(guard, "FIRST_DELAY", 60.0)


async def test_concurrent_bad_logins_never_let_the_right_password_through(
    make_server, http_factory, checks, long_first_wait
):
    server = await make_server(proxy_headers=True)
    http = http_factory(server)
    for n in range(5):
        # From an address the account never used: slowed down after the limit.
        name = f"victim{n}"
        await add_staff(server.services, name)
        checks.clear()
        where = f"203.0.113.{n + 1}" if n % 2 else None  # each burst from its own address (20 per address)
        results = await _burst(http, name, where)
        _assert_no_server_errors(results)
        _assert_right_only_within_limit(results, checks)
        # A second burst at once: the limit is reached, at most the one attempt the wait allows.
        if not any(r.status == 200 for _, r in results):
            checks.clear()
            again = await _burst(http, name, where)
            _assert_no_server_errors(again)
            assert checks == []
            assert {r.error_code for _, r in again} == {"login_throttled"}

    for n in range(5):
        # At the account's usual address: locked after the limit.
        name, usual = f"owner{n}", f"198.51.100.{n + 1}"
        await add_staff(server.services, name)
        assert (await _login(http, name, PASSWORD, usual)).status == 200
        checks.clear()
        results = await _burst(http, name, usual)
        _assert_no_server_errors(results)
        _assert_right_only_within_limit(results, checks)
        if not any(r.status == 200 for _, r in results):
            assert any(r.error_code == "account_locked" for _, r in results)
            checks.clear()
            again = await _burst(http, name, usual)
            _assert_no_server_errors(again)
            assert checks == []
            assert {r.error_code for _, r in again} == {"account_locked"}


async def test_a_flood_is_answered_without_503_and_checks_stay_bounded(
    make_server, http_factory, checks, long_first_wait
):
    server = await make_server(proxy_headers=True)
    http = http_factory(server)
    await add_staff(server.services, "victim")
    results = await _burst(http, "victim", STRANGER, wrong=149)
    _assert_no_server_errors(results)
    _assert_right_only_within_limit(results, checks)
    assert sum(1 for _, r in results if r.status == 429) >= 150 - LIMIT - 1


async def test_strangers_cannot_lock_the_real_user_out_of_their_usual_address(make_server, http_factory, monkeypatch):
    monkeypatch.setattr(guard, "FIRST_DELAY", 3.0)  # room for the sequential steps below on a slow machine
    server = await make_server(proxy_headers=True, staff_login_max_delay_seconds=3)
    s = server.services
    await add_staff(s, "reviewer")
    await add_staff(s, "city", role="city_admin", regions=[])
    http = http_factory(server)
    assert (await _login(http, "reviewer", PASSWORD, USUAL)).status == 200

    # Strangers at other addresses, with the username spelt three ways: one counter, slowed down, not locked.
    answers = []
    for i, spelling in enumerate(["reviewer", "REVIEWER", " Reviewer ", "Reviewer", "reviewer ", "REVIEWER"]):
        r = await _login(http, spelling, f"guess-{i}-wrong", f"203.0.113.{i + 1}")
        answers.append((r.status, r.error_code))
    assert answers[:4] == [(401, "bad_credentials")] * 4
    assert answers[4:] == [(429, "login_throttled")] * 2
    throttled = await _login(http, " REVIEWER", PASSWORD, STRANGER)
    assert throttled.status == 429 and throttled.error_code == "login_throttled"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 3 and "秒" in throttled.json["error"]["message"]

    # The real reviewer at the usual address: in at once.
    r = await _login(http, "Reviewer", PASSWORD, USUAL)
    assert r.status == 200 and r.json["username"] == "reviewer"
    # From a new place the real reviewer waits, but only a bounded time (Retry-After, at most the max delay).
    r = await _login(http, "reviewer", PASSWORD, NEW_PLACE)
    if r.status == 429:
        assert r.error_code == "login_throttled"
        wait = int(r.headers["Retry-After"])
        assert 1 <= wait <= 3
        await asyncio.sleep(wait + 0.1)
        r = await _login(http, "reviewer", PASSWORD, NEW_PLACE)
    assert r.status == 200
    staff_doc = await s.db["staff"].find_one({"_id": "reviewer"})
    assert len(staff_doc["known_addresses"]) == 2
    assert USUAL not in str(staff_doc)  # addresses are stored only as keyed hashes

    # The slow-down is in the city's audit log, not in a district's.
    city = StaffClient(http_factory(server))
    assert (await city.login("city")).status == 200
    entries = (await city.get("/admin/api/audit?page_size=100")).json["items"]
    slowed = [e for e in entries if e["action"] == "staff_throttled"]
    assert len(slowed) == 1
    assert slowed[0]["kind"] == "staff" and slowed[0]["record_id"] == "reviewer" and slowed[0]["region_code"] is None


async def test_a_usual_address_locks_and_a_city_admin_unlocks(make_server, http_factory):
    server = await make_server(proxy_headers=True)
    s = server.services
    await add_staff(s, "rev-a", regions=[A])
    await add_staff(s, "rev-b", regions=[A])
    await add_staff(s, "city", role="city_admin", regions=[])
    http = http_factory(server)
    assert (await _login(http, "rev-a", PASSWORD, USUAL)).status == 200
    answers = [(r.status, r.error_code) for r in [await _login(http, "rev-a", "wrong-pass", USUAL) for _ in range(5)]]
    assert answers == [(401, "bad_credentials")] * 4 + [(429, "account_locked")]
    locked = await _login(http, "rev-a", PASSWORD, USUAL)
    assert locked.status == 429 and locked.error_code == "account_locked"
    assert 14 * 60 <= int(locked.headers["Retry-After"]) <= 15 * 60
    assert "解锁" in locked.json["error"]["message"]

    reviewer = StaffClient(http_factory(server))
    assert (await reviewer.login("rev-b")).status == 200
    r = await reviewer.post("/admin/api/staff/rev-a/unlock")
    assert r.status == 403 and r.error_code == "city_admin_only"
    assert (await _login(http, "rev-a", PASSWORD, USUAL)).error_code == "account_locked"

    city = StaffClient(http_factory(server))
    assert (await city.login("city")).status == 200
    assert (await city.post("/admin/api/staff/nobody/unlock")).error_code == "staff_not_found"
    assert (await city.http.post("/admin/api/staff/rev-a/unlock")).error_code == "xsrf_failed"
    r = await city.post("/admin/api/staff/REV-A/unlock")
    assert r.status == 200 and r.json["username"] == "rev-a" and r.json["cleared"] >= 1
    assert (await _login(http, "rev-a", PASSWORD, USUAL)).status == 200

    entries = (await city.get("/admin/api/audit?page_size=100")).json["items"]
    actions = [(e["action"], e["actor"], e["kind"], e["region_code"]) for e in entries if e["record_id"] == "rev-a"]
    assert ("staff_unlocked", "city", "staff", None) in actions
    assert ("staff_locked", "system", "staff", None) in actions
    assert not [e for e in (await reviewer.get("/admin/api/audit")).json["items"] if e["kind"] == "staff"]


async def test_one_address_trying_many_usernames_is_slowed_down(make_server, http_factory, monkeypatch):
    monkeypatch.setattr(guard, "FIRST_DELAY", 3.0)
    server = await make_server(proxy_headers=True, staff_login_address_limit=6)
    http = http_factory(server)
    await add_staff(server.services, "alice")
    answers = [(await _login(http, f"user{i}", "wrong-pass", STRANGER)).error_code for i in range(8)]
    assert answers[:5] == ["bad_credentials"] * 5
    assert answers[5:] == ["login_throttled"] * 3
    # Other addresses are not affected.
    assert (await _login(http, "alice", PASSWORD, USUAL)).status == 200
    assert (await _login(http, "user1", "wrong-pass", NEW_PLACE)).error_code == "bad_credentials"


async def test_a_busy_password_pool_answers_429_and_counts_nothing(make_server, http_factory, monkeypatch):
    server = await make_server(proxy_headers=True)
    http = http_factory(server)
    for i in range(8):
        await add_staff(server.services, f"user{i}")
    monkeypatch.setattr(
        passwords, "_verify_pool", BoundedPool(1, 0, "argon2-test", "登录请求过多，请稍后再试", "login_busy")
    )
    responses = await asyncio.gather(*[_login(http, f"user{i}", "wrong-pass", f"192.0.2.{i}") for i in range(8)])
    codes = [r.error_code for r in responses]
    assert all(c in ("bad_credentials", "login_busy") for c in codes), codes
    assert "login_busy" in codes
    counters = server.services.db["staff_login_failures"]
    for i, r in enumerate(responses):
        if r.error_code == "login_busy":
            assert int(r.headers["Retry-After"]) >= 1
            doc = await counters.find_one({"username": f"user{i}"})
            assert doc is None or doc["count"] == 0


async def test_usual_addresses_are_a_short_list(make_server, http_factory):
    server = await make_server(proxy_headers=True)
    http = http_factory(server)
    await add_staff(server.services, "roamer")
    for i in range(11):
        assert (await _login(http, "roamer", PASSWORD, f"198.51.100.{i + 10}")).status == 200
    doc = await server.services.db["staff"].find_one({"_id": "roamer"})
    guard = server.services.get(LoginGuard)
    assert len(doc["known_addresses"]) == 8
    assert guard.address_id("198.51.100.20") in doc["known_addresses"]  # the newest kept
    assert guard.address_id("198.51.100.10") not in doc["known_addresses"]  # the oldest dropped
