"""The start-up migration `unit_lists_v1`: people stored before the units' lists existed (their
applications' `listed` and list rows in the old shape) appear in their unit's list after a restart;
a second start changes nothing."""

from __future__ import annotations

from tests.units.conftest import insert_record


async def test_people_stored_before_are_listed_for_their_unit_after_a_restart(make_server, make_unit_admin):
    first = await make_server()
    admin, uscc = await make_unit_admin("mg-admin", running=first)
    db = first.services.db
    # a submitted collection in the old shape: it names the unit, but no list knows it
    rec = await insert_record(first.services, status="submitted", name="冯旧数据")
    await db["applications"].update_one({"_id": rec["_id"]}, {"$set": {"employment.unit_credit_code": uscc}})
    assert (await admin.get(f"/api/v1/unit/{uscc}/people")).json["total"] == 0
    assert await db["meta"].find_one({"_id": "unit_lists_v1"})  # a fresh database was only marked
    await db["meta"].delete_one({"_id": "unit_lists_v1"})  # as before this version

    await make_server()  # start-up migrates
    marker = await db["meta"].find_one({"_id": "unit_lists_v1"})
    assert marker and marker["applications"] >= 2
    people = (await admin.get(f"/api/v1/unit/{uscc}/people")).json
    assert [(i["id"], i["confirmation"]) for i in people["items"]] == [(str(rec["_id"]), "pending")]
    stored = await db["applications"].find_one({"_id": rec["_id"]})
    assert f"unit|{uscc}|pending" in stored["listed"]

    await make_server()  # done once
    assert (await db["meta"].find_one({"_id": "unit_lists_v1"}))["done_at"] == marker["done_at"]
    assert (await admin.get(f"/api/v1/unit/{uscc}/people")).json["total"] == 1
