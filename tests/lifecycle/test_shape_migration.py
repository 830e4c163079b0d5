"""The migration to the record's fuller shape (issue #14), on documents written in the old shape
straight into the database: start-up moves first collections (every state), archives and an open
change naming the old employment section; the HTTP API then reads the lists; a second run changes
nothing."""

from __future__ import annotations

import re

from pymongo import MongoClient

from server.records.migrate_shape import MARKER, migrate_shape
from tests.lifecycle.conftest import CHANGES, RECORD, A, insert_record, reviewer

APPS = "/admin/api/applications"
LISTS = ("educations", "qualifications", "work_history")


async def to_old_shape(db, app_id) -> None:
    """What the first versions stored: no lists, the old post codes, sections typed by the person."""
    app = await db["applications"].find_one({"_id": app_id})
    await db["applications"].update_one(
        {"_id": app_id},
        {"$unset": dict.fromkeys(LISTS, ""), "$set": {"employment.post": "bookkeeping"}},
    )
    await db["archives"].update_one(
        {"_id": app["archive_no"]},
        {"$unset": {f"data.{n}": "" for n in LISTS}, "$set": {"data.employment.post": "bookkeeping"}},
    )


def dump(uri: str, name: str) -> dict:
    client = MongoClient(uri, tz_aware=True)
    try:
        db = client[name]
        out = {}
        for coll in sorted(db.list_collection_names()):
            docs = sorted(db[coll].find({}), key=lambda d: str(d["_id"]))
            if coll == "meta":  # the markers report their last run
                docs = [{"_id": d["_id"]} for d in docs]
            out[coll] = docs
        return out
    finally:
        client.close()


async def test_old_shape_data_is_moved_at_start_up_and_read_through_the_api(
    make_server, http_factory, as_user, staff_client, mongodb_uri, db_name
):
    srv = await make_server()
    db = srv.services.db
    approved = await insert_record(srv.services, status="approved", openid="demo-openid-mig-a", name="王小明")
    others = [
        await insert_record(srv.services, status=status, openid=f"demo-openid-mig-{status}", name="王小明")
        for status in ("draft", "submitted", "rejected")
    ]
    person = await as_user("mig-a", srv)
    r = await person.post(CHANGES, json={"changes": {"contact": {"mobile": "13987654321"}}})
    assert r.status == 201, r.text
    change_id = r.json["id"]
    # the change was written by the old version: it changed the employment section itself
    old_rows = [
        {"field": "employment.unit_name", "old": "厦门示例会计服务有限公司", "new": "厦门新单位有限公司"},
        {"field": "employment.post", "old": "bookkeeping", "new": "payroll"},
    ]
    change = await db["applications"].find_one({"kind": "change"})
    await db["applications"].update_one({"_id": change["_id"]}, {"$push": {"payload.changes": {"$each": old_rows}}})
    for app in (approved, *others):
        await to_old_shape(db, app["_id"])
    await db["archives"].update_one(
        {"_id": others[2]["archive_no"]}, {"$set": {"data.qualification": {"level": "none"}}}
    )  # (a rejected record has no archive: nothing matched)
    await db["applications"].update_one({"_id": others[0]["_id"]}, {"$set": {"qualification": {"level": "none"}}})
    await db["meta"].delete_one({"_id": MARKER})
    assert await db["applications"].count_documents({"educations": {"$exists": True}}) == 0

    srv2 = await make_server()  # a new instance's start-up runs the migration
    marker = await srv2.services.db["meta"].find_one({"_id": MARKER})
    assert marker["applications"] == 4 and marker["archives"] == 1 and marker["changes"] == 1

    person = await as_user("mig-a", srv2)
    view = (await person.get(RECORD)).json
    [edu] = view["educations"]
    assert re.fullmatch(r"[a-z]{8}", edu["id"])
    assert {k: edu.get(k) for k in ("level", "school", "to", "degree", "proof")} == {
        "level": "bachelor",
        "school": "厦门大学",
        "to": "2012-07-01",
        "degree": "bachelor",
        "proof": "diploma",  # the old single document, key kept
    }
    [qual] = view["qualifications"]
    assert qual["level"] == "intermediate" and qual["certificate_no"] == approved["qualification"]["certificate_no"]
    [period] = view["work_history"]
    assert period["post"] == "other" and period["from"] == "2012-08-01" and "to" not in period
    assert view["employment"]["in_post"] is True and view["employment"]["post"] == "other"
    assert view["education"]["graduated_on"] == "2012-07-01"
    assert view["accounting_years"] > 14

    draft = await as_user("mig-draft", srv2)
    dview = (await draft.get(RECORD)).json
    assert dview["qualifications"] == [] and dview["qualification"] == {"level": "none"}
    missing = [m["field"] for m in dview["missing"]]
    assert "work_history.0.proof" in missing and "educations.0.proof" not in missing  # the diploma was there
    assert "educations.0.from" in missing  # asked now, not collected before

    rev = await reviewer(srv2, staff_client, "rev-mig", [A])
    detail = (await rev.get(f"{APPS}/{change_id}")).json
    rows = {row["path"]: row for row in detail["change"]["rows"]}
    assert "employment.unit_name" in rows and "work_history" in rows
    history = rows["work_history"]["new"]
    assert [e["unit_name"] for e in history] == ["厦门示例会计服务有限公司", "厦门新单位有限公司"]
    assert history[1]["post"] == "other" and history[0]["to"] < history[1]["from"]

    # a second run (and a third start-up) changes nothing
    before = dump(mongodb_uri, db_name)
    assert await migrate_shape(srv2.services) == {"applications": 0, "archives": 0, "changes": 0}
    await make_server()
    assert dump(mongodb_uri, db_name) == before

    r = await rev.post(f"{APPS}/{change_id}/decision", json={"decision": "approve", "version": detail["version"]})
    assert r.status == 200, r.text
    view = (await person.get(RECORD)).json
    assert view["employment"]["unit_name"] == "厦门新单位有限公司" and len(view["work_history"]) == 2
    assert view["contact"]["mobile"] == "13987654321"
