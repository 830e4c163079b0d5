"""The registration oracle (issue 18, item 5): saving someone else's ID number tells whether it is
registered, so such look-ups are limited per account and per client address, counted in the
database (every process), and the answers neither name the holder nor leak past the limit."""

from __future__ import annotations

import asyncio
from datetime import date

from server.db import utcnow
from tests.records import idgen

RECORD = "/api/v1/me/record"


def number(day: int, area: str = "350203") -> str:
    return idgen.resident_id(area, date(1985, 3, day), "male")


def id_body(value: str) -> dict:
    return {"profile": {"id_type": "resident_id", "id_number": value}}


async def register(client, value: str) -> None:
    r = await client.patch(RECORD, json=id_body(value))
    assert r.status == 200, r.text


async def test_an_account_finds_numbers_taken_five_times_an_hour_across_processes(as_user, server, make_server):
    other = await make_server()  # a second process on the same database: the count is shared
    owners = [await as_user(f"owner{i}") for i in range(2)]
    taken = [number(1), number(2)]
    for owner, value in zip(owners, taken):
        await register(owner, value)
    probe = await as_user("prober")
    probe_other = await as_user("prober", other)
    before = (await probe.get(RECORD)).json
    for i in range(5):
        client = probe if i % 2 else probe_other
        r = await client.patch(RECORD, json=id_body(taken[i % 2]))
        assert r.status == 409, r.text
        assert r.error_code == "archive_no_taken" and r.json["error"]["field"] == "profile.id_number"
        message = r.json["error"]["message"]
        assert "账号找回" in message and "财政局" in message and "可能" in message
    # Past the limit every new number is refused before it is looked up: taken, free, on either process.
    for client, value in ((probe, taken[0]), (probe_other, number(20)), (probe, number(21, "350205"))):
        r = await client.patch(RECORD, json=id_body(value))
        assert r.status == 429, r.text
        assert r.error_code == "id_number_checks_exceeded"
        assert 1 <= int(r.headers["Retry-After"]) <= 3600
        assert "账号找回" in r.json["error"]["message"]
    after = (await probe.get(RECORD)).json
    assert after["version"] == before["version"] and after["archive_no"] is None
    # Other fields still save, and so does the number the account already holds.
    assert (await probe.patch(RECORD, json={"educations": [{"school": "厦门大学"}]})).status == 200
    # Someone else on the same address is not affected (20 an hour per address by default).
    r = await (await as_user("neighbour")).patch(RECORD, json=id_body(taken[0]))
    assert r.status == 409
    counters = [d async for d in server.services.db["rate_limits"].find({})]
    assert counters and all("prober" not in d["_id"] and "127.0.0.1" not in d["_id"] for d in counters)
    assert all(d["expires_at"] > utcnow() for d in counters)  # swept once their hour is over


async def test_free_numbers_do_not_count_so_a_person_may_correct_typos(as_user):
    person = await as_user("typos")
    for day in range(1, 9):
        await register(person, number(day, "350206"))
    r = await person.get(RECORD)
    assert r.json["archive_no"] == number(8, "350206")


async def test_concurrent_lookups_cannot_pass_the_limit_together(as_user):
    owner = await as_user("holder")
    await register(owner, number(3))
    probe = await as_user("burst")
    results = await asyncio.gather(*[probe.patch(RECORD, json=id_body(number(3))) for _ in range(12)])
    statuses = sorted(r.status for r in results)
    assert statuses == [409] * 5 + [429] * 7, statuses


async def test_an_address_is_limited_whichever_account_asks(as_user, make_server):
    running = await make_server(proxy_headers=True, id_conflicts_per_address_hour=3)
    owner = await as_user("first", running)
    await register(owner, number(4))
    crowd = {"X-Real-IP": "203.0.113.7"}
    for i in range(3):
        client = await as_user(f"crowd{i}", running)
        r = await client.patch(RECORD, json=id_body(number(4)), headers=crowd)
        assert r.status == 409, r.text
    late = await as_user("crowd-late", running)
    r = await late.patch(RECORD, json=id_body(number(4)), headers=crowd)
    assert r.status == 429 and r.error_code == "id_number_checks_exceeded"
    r = await late.patch(RECORD, json=id_body(number(5)), headers=crowd)  # free, but not looked up
    assert r.status == 429
    # The same account from another address, and the address's free numbers once it is elsewhere: fine.
    r = await late.patch(RECORD, json=id_body(number(4)), headers={"X-Real-IP": "198.51.100.9"})
    assert r.status == 409
    r = await late.patch(RECORD, json=id_body(number(5)), headers={"X-Real-IP": "198.51.100.9"})
    assert r.status == 200 and r.json["archive_no"] == number(5)
