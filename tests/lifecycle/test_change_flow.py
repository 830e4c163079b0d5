"""Information change (信息变更) end to end over real HTTP and the real database: the archive stays as
approved while a change is pending, one change at a time, jurisdiction, the reviewer's side-by-side
view, racing decisions, archive version 2 with its diff, the inbox, the chat status, withdraw, reject."""

from __future__ import annotations

import asyncio

from bson import ObjectId

from tests.lifecycle.conftest import (
    CHANGES,
    MESSAGES,
    RECORD,
    A,
    B,
    archive_of,
    changes_in_db,
    reviewer,
)

OLD_MOBILE = "13800138000"  # valid_body's mobile
NEW_MOBILE = "13912345678"
APPS = "/admin/api/applications"


def change_body(mobile: str = NEW_MOBILE, reason: str = "本人更换了手机号码") -> dict:
    return {"changes": {"contact": {"mobile": mobile}}, "reason": reason}


async def approve_first_collection(client, make_valid_record, rev) -> dict:
    """Fill the record completely (documents and photo), submit it, have it approved over HTTP."""
    await make_valid_record(client)
    r = await client.post("/api/v1/me/record/submit", json={"commitment": True})
    assert r.status == 200 and r.json["status"] == "submitted", r.text
    d = await rev.decide(r.json["id"], "approve", r.json["version"])
    assert d.status == 200 and d.json["status"] == "approved", d.text
    view = (await client.get(RECORD)).json
    assert view["status"] == "approved" and view["archive"]["version"] == 1
    return view


async def link_chat(client, sender, chat_openid: str) -> None:
    """Link an official-account chat user to the client's record with a binding code."""
    r = await client.post("/api/v1/me/chat-binding")
    assert r.status == 200, r.text
    reply = await sender.ask(chat_openid, f"绑定 {r.json['code']}")
    assert "绑定成功" in reply.content, reply.content


async def test_a_change_is_reviewed_then_becomes_archive_version_2(
    chat, make_server, as_user, make_valid_record, staff_client
):
    srv, sender = await chat()
    other = await make_server()  # a second instance on the same database, for the racing decision
    rev_a = await reviewer(srv, staff_client, "rev-a", [A])
    rev_a2 = await reviewer(other, staff_client, "rev-a2", [A])
    rev_b = await reviewer(srv, staff_client, "rev-b", [B])
    db = srv.services.db

    person = await as_user("lin", srv)
    view = await approve_first_collection(person, make_valid_record, rev_a)
    record_id = ObjectId(view["id"])
    archive_no = view["archive_no"]
    before = await db["archives"].find_one({"_id": archive_no})
    assert before["data"]["contact"]["mobile"] == OLD_MOBILE and before["record_id"] == record_id
    await link_chat(person, sender, "o-chat-lin")
    assert "审核通过" in (await sender.ask("o-chat-lin", "查询进度")).content

    # Submit a change: 201, the archive stays as approved while it is pending.
    r = await person.post(CHANGES, json=change_body())
    assert r.status == 201, r.text
    change = r.json
    cid = change["id"]
    assert change["status"] == "submitted" and change["kind"] == "change"
    assert [(c["field"], c["old"], c["new"]) for c in change["changes"]] == [("contact.mobile", OLD_MOBILE, NEW_MOBILE)]
    assert change["reason"] == "本人更换了手机号码"
    pending = await db["archives"].find_one({"_id": archive_no})
    assert pending["data"] == before["data"] and pending["version"] == 1 and pending["versions"] == before["versions"]
    assert pending["open_change"] == ObjectId(cid) and pending["changes"] == [ObjectId(cid)]
    mine = (await person.get(RECORD)).json
    assert mine["contact"]["mobile"] == OLD_MOBILE and mine["status"] == "approved"
    assert mine["archive"]["version"] == 1 and mine["archive"]["open_change"] == cid
    assert [(c["id"], c["status"]) for c in mine["changes"]] == [(cid, "submitted")]
    listed = (await person.get(CHANGES)).json
    assert listed["open"] == cid and [c["id"] for c in listed["changes"]] == [cid]

    # One change at a time.
    r = await person.post(CHANGES, json=change_body("13700001111", "再改一次"))
    assert r.status == 409 and r.error_code == "change_open", r.text
    assert [str(a["_id"]) for a in await changes_in_db(srv.services)] == [cid]
    assert (await db["archives"].find_one({"_id": archive_no}))["open_change"] == ObjectId(cid)

    reply = (await sender.ask("o-chat-lin", "查询进度")).content
    assert "信息变更申请" in reply and "正在审核中" in reply and "档案保持原样" in reply, reply

    # Another district's reviewer cannot see it nor decide on it.
    r = await rev_b.get(f"{APPS}/{cid}")
    assert r.status == 404 and r.error_code == "record_not_found"
    r = await rev_b.post(f"{APPS}/{cid}/decision", json={"decision": "approve", "version": change["version"]})
    assert r.status == 404 and r.error_code == "record_not_found"
    r = await rev_b.get(f"{APPS}?kind=change&status=submitted")
    assert r.status == 200 and r.json["items"] == [] and r.json["total"] == 0
    stored = await db["applications"].find_one({"_id": ObjectId(cid)})
    assert stored["status"] == "submitted" and stored["version"] == change["version"]

    # The district's reviewer: the queue of changes, then the change beside the archive.
    r = await rev_a.get(f"{APPS}?kind=change&status=submitted")
    assert r.status == 200, r.text
    assert [i["id"] for i in r.json["items"]] == [cid] and r.json["total"] == 1
    item = r.json["items"][0]
    assert item["kind"] == "change" and item["name"] == "张三" and item["status"] == "submitted"
    collections = (await rev_a.get(f"{APPS}?kind=collection")).json["items"]
    assert cid not in [i["id"] for i in collections]
    r = await rev_a.get(f"{APPS}/{cid}")
    assert r.status == 200, r.text
    detail = r.json
    assert detail["kind"] == "change" and detail["status"] == "submitted"
    rows = detail["change"]["rows"]
    assert [(row["path"], row["old"], row["new"]) for row in rows] == [("contact.mobile", OLD_MOBILE, NEW_MOBILE)]
    assert rows[0]["label"] and rows[0]["old_display"] == OLD_MOBILE and rows[0]["new_display"] == NEW_MOBILE
    assert detail["change"]["reason"] == "本人更换了手机号码"
    assert [a["action"] for a in detail["actions"]] == ["approve", "reject"]
    assert detail["archive"]["archive_no"] == archive_no and detail["archive"]["version"] == 1

    # Two reviewers on two instances decide at once: one 200, one 409.
    version = detail["version"]
    results = await asyncio.gather(
        rev_a.post(f"{APPS}/{cid}/decision", json={"decision": "approve", "version": version}),
        rev_a2.post(f"{APPS}/{cid}/decision", json={"decision": "approve", "version": version}),
    )
    assert sorted(r.status for r in results) == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status == 409)
    assert loser.error_code == "record_changed"
    winner = next(r for r in results if r.status == 200).json
    assert winner["status"] == "approved" and winner["version"] == version + 1
    approver = winner["decision"]["by"]

    # The archive's version 2 carries the diff; exactly one step, one notice.
    after = await db["archives"].find_one({"_id": archive_no})
    assert after["version"] == 2 and after["open_change"] is None
    assert after["data"]["contact"]["mobile"] == NEW_MOBILE
    expected = {**before["data"], "contact": {**before["data"]["contact"], "mobile": NEW_MOBILE}}
    assert after["data"] == expected
    assert len(after["versions"]) == 2
    v2 = after["versions"][1]
    assert v2["version"] == 2 and v2["kind"] == "change" and v2["application_id"] == ObjectId(cid)
    assert v2["by"] == approver and v2["diff"]  # its diff as the API shows it: below
    stored = await db["applications"].find_one({"_id": ObjectId(cid)})
    assert stored["status"] == "approved" and len(stored["history"]) == 2
    assert await db["notices"].count_documents({"application_id": ObjectId(cid)}) == 1

    # The person sees the new mobile and the archive's versions.
    mine = (await person.get(RECORD)).json
    assert mine["contact"]["mobile"] == NEW_MOBILE and mine["status"] == "approved"
    assert mine["archive"]["version"] == 2 and mine["archive"]["open_change"] is None
    assert [v["version"] for v in mine["archive"]["versions"]] == [1, 2]
    assert mine["archive"]["versions"][1]["diff"] == [
        {"field": "contact.mobile", "old": OLD_MOBILE, "new": NEW_MOBILE, "label": "手机号码"}
    ]
    assert mine["archive"]["versions"][1]["application_id"] == cid
    staff_view = (await rev_a.get(f"/admin/api/records/{record_id}")).json["archive"]
    assert staff_view["version"] == 2
    assert [(d["field"], d["old"], d["new"]) for d in staff_view["versions"][1]["diff"]] == [
        ("contact.mobile", OLD_MOBILE, NEW_MOBILE)
    ]
    assert [(c["id"], c["status"]) for c in mine["changes"]] == [(cid, "approved")]

    inbox = (await person.get(MESSAGES)).json["messages"]
    results_ = [m for m in inbox if m["kind"] == "change_result"]
    assert len(results_) == 1, inbox
    assert results_[0]["data"]["result"] == "变更通过" and results_[0]["read"] is False
    assert "已通过" in results_[0]["title"]
    assert [m["kind"] for m in inbox].count("review_result") == 1  # the first collection's approval

    reply = (await sender.ask("o-chat-lin", "查询进度")).content
    assert "信息变更" in reply and "审核通过" in reply and "档案已更新" in reply, reply

    # The archive is free again: a next change is accepted.
    r = await person.post(CHANGES, json={"changes": {"contact": {"email": "lin@example.com"}}})
    assert r.status == 201, r.text


async def test_withdraw_releases_the_archive(server, approved_person):
    person, rec = await approved_person("wd")
    other, _ = await approved_person("wd-other")
    before = await archive_of(server.services, rec)
    r = await person.post(CHANGES, json=change_body())
    assert r.status == 201, r.text
    cid = r.json["id"]
    assert (await archive_of(server.services, rec))["open_change"] == ObjectId(cid)

    # Only the owner may withdraw it; an unknown id is 404 too.
    r = await other.post(f"{CHANGES}/{cid}/withdraw")
    assert r.status == 404 and r.error_code == "change_not_found"
    r = await person.post(f"{CHANGES}/{ObjectId()}/withdraw")
    assert r.status == 404 and r.error_code == "change_not_found"
    assert (await server.services.db["applications"].find_one({"_id": ObjectId(cid)}))["status"] == "submitted"

    r = await person.post(f"{CHANGES}/{cid}/withdraw")
    assert r.status == 200, r.text
    assert r.json["status"] == "withdrawn" and r.json["id"] == cid
    archive = await archive_of(server.services, rec)
    assert archive["open_change"] is None
    assert archive["data"] == before["data"] and archive["version"] == 1 and len(archive["versions"]) == 1
    mine = (await person.get(RECORD)).json
    assert mine["archive"]["open_change"] is None and mine["contact"]["mobile"] == rec["contact"]["mobile"]
    assert [(c["id"], c["status"]) for c in mine["changes"]] == [(cid, "withdrawn")]
    assert (await person.get(CHANGES)).json["open"] is None

    r = await person.post(f"{CHANGES}/{cid}/withdraw")  # not pending any more
    assert r.status == 409, r.text

    r = await person.post(CHANGES, json=change_body("13700001111", "改为另一个号码"))
    assert r.status == 201, r.text
    assert r.json["id"] != cid
    assert (await archive_of(server.services, rec))["open_change"] == ObjectId(r.json["id"])
    listed = (await person.get(CHANGES)).json
    assert [c["status"] for c in listed["changes"]] == ["submitted", "withdrawn"]  # newest first


async def test_withdrawn_change_leaves_the_reviewers_queue(server, approved_person, staff_client):
    rev = await reviewer(server, staff_client, "rev-a", [A])
    person, _ = await approved_person("wq")
    cid = (await person.post(CHANGES, json=change_body())).json["id"]
    assert [i["id"] for i in (await rev.get(f"{APPS}?kind=change&status=submitted")).json["items"]] == [cid]
    assert (await person.post(f"{CHANGES}/{cid}/withdraw")).status == 200
    assert (await rev.get(f"{APPS}?kind=change&status=submitted")).json["items"] == []
    assert [i["id"] for i in (await rev.get(f"{APPS}?kind=change&status=withdrawn")).json["items"]] == [cid]
    detail = (await rev.get(f"{APPS}/{cid}")).json
    assert detail["status"] == "withdrawn" and detail["actions"] == []
    r = await rev.post(f"{APPS}/{cid}/decision", json={"decision": "approve", "version": detail["version"]})
    assert r.status == 409


async def test_a_rejected_change_keeps_the_archive_and_notifies(server, approved_person, staff_client):
    rev = await reviewer(server, staff_client, "rev-a", [A])
    person, rec = await approved_person("rj")
    before = await archive_of(server.services, rec)
    cid = (await person.post(CHANGES, json=change_body())).json["id"]
    version = (await rev.get(f"{APPS}/{cid}")).json["version"]

    r = await rev.post(f"{APPS}/{cid}/decision", json={"decision": "reject", "version": version})
    assert r.status == 422 and r.error_code == "invalid_decision"  # a rejection needs a reason
    r = await rev.post(
        f"{APPS}/{cid}/decision", json={"decision": "reject", "version": version, "reason": "请提供新号码的实名证明"}
    )
    assert r.status == 200, r.text
    assert r.json["status"] == "rejected" and r.json["actions"] == []

    archive = await archive_of(server.services, rec)
    assert archive["data"] == before["data"] and archive["version"] == 1 and archive["versions"] == before["versions"]
    assert archive["open_change"] is None
    mine = (await person.get(RECORD)).json
    assert mine["contact"]["mobile"] == rec["contact"]["mobile"] and mine["archive"]["version"] == 1
    listed = (await person.get(CHANGES)).json
    assert listed["open"] is None
    assert listed["changes"][0]["status"] == "rejected"
    assert listed["changes"][0]["decision"]["reason"] == "请提供新号码的实名证明"

    inbox = (await person.get(MESSAGES)).json["messages"]
    [message] = [m for m in inbox if m["kind"] == "change_result"]
    assert message["data"]["result"] == "变更未通过" and "请提供新号码的实名证明" in message["body"]
    notices = [n async for n in server.services.db["notices"].find({"application_id": ObjectId(cid)})]
    assert len(notices) == 1 and notices[0]["delivery"]["state"] == "pending"

    audit = (await rev.get(f"/admin/api/records/{rec['_id']}/audit")).json["items"]
    rejects = [e for e in audit if e["kind"] == "change" and e["action"] == "reject"]
    assert len(rejects) == 1 and rejects[0]["actor"] == "rev-a"
    assert rejects[0]["reason"] == "请提供新号码的实名证明"

    r = await person.post(CHANGES, json=change_body(reason="附上实名证明后重新申请"))
    assert r.status == 201 and r.json["id"] != cid, r.text
