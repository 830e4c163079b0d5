"""The rules before a transfer is written: the freeze, one open application at a time, the proof
the reason needs, the destination, bad bodies; and withdrawing before the first decision."""

from __future__ import annotations

import datetime as dt

from server.db import utcnow
from tests.miniprogram.conftest import form, jpeg_bytes
from tests.transfers.conftest import APPS, TRANSFERS, A, B, apply, archive_of, reviewer, stage


async def test_a_transfer_during_the_freeze_is_refused_with_the_dates(make_server, approved_person, http_factory):
    today = (utcnow() + dt.timedelta(hours=8)).date()
    window = f"{today - dt.timedelta(days=3)}..{today + dt.timedelta(days=10)}"
    frozen = await make_server(transfer_freeze=window)
    person, rec = await approved_person("frozen", running=frozen)
    r = await apply(person, "within", B)
    assert r.status == 409 and r.error_code == "transfer_frozen", r.text
    end = today + dt.timedelta(days=10)
    assert f"{end.year}年{end.month}月{end.day}日" in r.json["error"]["message"]
    assert (await archive_of(frozen.services, rec))["open_change"] is None
    assert await frozen.services.db["applications"].count_documents({"kind": "transfer_within"}) == 0
    overview = (await person.get(TRANSFERS)).json
    assert overview["rules"]["frozen"] and overview["rules"]["freeze"][0]["end"] == end.isoformat()


async def test_one_open_application_at_a_time_whatever_its_kind(server, approved_person):
    person, rec = await approved_person("busy")
    change = await person.post("/api/v1/me/changes", json={"changes": {"contact": {"mobile": "13912345678"}}})
    assert change.status == 201, change.text
    r = await apply(person, "within", B)
    assert r.status == 409 and r.error_code == "change_open" and "信息变更" in r.json["error"]["message"]
    assert (await person.post(f"/api/v1/me/changes/{change.json['id']}/withdraw")).status == 200
    r = await apply(person, "out", None, to_region_name="福建省福州市鼓楼区")
    assert r.status == 201, r.text
    again = await apply(person, "within", B)
    assert again.status == 409 and again.error_code == "application_open" and "调出区外" in again.text
    c = await person.post("/api/v1/me/changes", json={"changes": {"contact": {"mobile": "13912345678"}}})
    assert c.status == 409 and c.error_code == "application_open"


async def test_the_proof_follows_the_reason_and_bad_bodies_change_nothing(server, approved_person):
    person, rec = await approved_person("careless")
    r = await person.post(TRANSFERS, json={"kind": "within", "to_region": B, "reason": "study"})
    assert r.status == 422 and r.error_code == "proof_required" and "学生证" in r.json["error"]["message"]
    for body, field in [
        ({"kind": "sideways", "to_region": B, "reason": "study"}, "kind"),
        ({"kind": "within", "to_region": B, "reason": "boredom"}, "reason"),
        ({"kind": "within", "to_region": "999999", "reason": "study"}, "to_region"),
        ({"kind": "within", "reason": "study"}, "to_region"),
        ({"kind": "out", "reason": "study"}, "to_region_name"),
        ({"kind": "out", "reason": "study", "to_region_name": 7}, "to_region_name"),
        ({"kind": "within", "to_region": B, "reason": "study", "admin": True}, "admin"),
        ({"kind": {}, "to_region": B, "reason": "study"}, "kind"),  # unhashable values: 422, not 500
        ({"kind": "in", "to_region": B, "reason": {}}, "reason"),
        ({"kind": "within", "to_region": {}, "reason": "study"}, "to_region"),
    ]:
        r = await person.post(TRANSFERS, json=body)
        assert r.status == 422, (body, r.text)
        assert field in [f["field"] for f in r.json["error"]["fields"]], (body, r.text)
    assert (await person.post(TRANSFERS, raw=b"{not json", headers={"Content-Type": "application/json"})).status == 400
    assert (await person.post(TRANSFERS, json=["within"])).status in (400, 422)
    await stage(person)
    r = await person.post(TRANSFERS, json={"kind": "within", "to_region": A, "reason": "residence"})
    assert r.status == 422 and r.error_code == "same_region"
    r = await person.post(f"{TRANSFERS}/files?slot=elsewhere", data=form(jpeg_bytes()))
    assert r.status == 422 and r.error_code == "invalid_slot", r.text
    r = await person.post(f"{TRANSFERS}/files?slot=transfer_proof", data=form(b"MZ\x90\x00 not an image", "a.jpg"))
    assert r.status == 415, r.text
    assert await server.services.db["applications"].count_documents({"kind": {"$regex": "^transfer"}}) == 0
    assert (await archive_of(server.services, rec))["open_change"] is None


async def test_only_a_person_with_an_archive_transfers_it(server, as_user):
    newcomer = await as_user("newcomer")
    r = await apply(newcomer, "within", B)
    assert r.status == 409 and r.error_code == "archive_missing", r.text


async def test_withdraw_before_the_first_decision(server, approved_person, staff_client):
    person, rec = await approved_person("withdrawer")
    other, _ = await approved_person("stranger")
    tid = (await apply(person, "within", B)).json["id"]
    assert (await other.post(f"{TRANSFERS}/{tid}/withdraw")).status == 404  # another person's
    r = await person.post(f"{TRANSFERS}/{tid}/withdraw")
    assert r.status == 200 and r.json["status"] == "withdrawn", r.text
    assert (await archive_of(server.services, rec))["open_change"] is None
    rev_a = await reviewer(server, staff_client, "g-rev-a", [A])
    assert (await rev_a.get(f"{APPS}/{tid}")).json["actions"] == []
    assert (await person.post(f"{TRANSFERS}/{tid}/withdraw")).status == 409
