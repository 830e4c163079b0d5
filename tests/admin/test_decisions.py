"""Decisions: one atomic conditional update (status + version), 409 otherwise, audit entries."""
from __future__ import annotations

import asyncio

from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, A, StaffClient, add_staff, insert_record


async def _reviewer(server, staff_client, name="rev"):
    await server.services.get(StaffAccounts).ensure(name, "reviewer", [A], PASSWORD)
    return await staff_client(server, name)


async def test_reject_writes_decision_history_notice_and_audit_together(server, staff_client):
    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services)
    r = await rev.decide(rec["_id"], "reject", rec["version"], "请上传白底证件照", ["照片不合格", "证件不清晰"])
    assert r.status == 200, r.text
    assert r.json["status"] == "rejected" and r.json["version"] == rec["version"] + 1
    doc = await server.services.db["records"].find_one({"_id": rec["_id"]})
    reason = "照片不合格、证件不清晰：请上传白底证件照"
    assert doc["decision"]["reason"] == reason and doc["decision"]["by"] == "rev"
    assert doc["decision"]["reason_codes"] == ["照片不合格", "证件不清晰"]
    assert doc["history"][-1] == {"status": "rejected", "at": doc["decided_at"], "by": "rev", "reason": reason}
    [notice] = doc["notices"].values()
    assert notice["kind"] == "review_result" and reason in notice["body"]
    assert notice["data"]["result"] == "审核未通过" and notice["data"]["name"] == rec["profile"]["name"]
    assert notice["delivery"]["state"] == "pending" and doc["outbox_due_at"] == notice["created_at"]
    [entry] = [e async for e in server.services.db["audit_log"].find()]
    assert entry["actor"] == "rev" and entry["action"] == "reject" and entry["reason"] == reason
    assert entry["before"] == {"status": "submitted", "version": rec["version"]}
    assert entry["after"] == {"status": "rejected", "version": rec["version"] + 1}
    listed = (await rev.get(f"/admin/api/records/{rec['_id']}/audit")).json["items"]
    assert [e["id"] for e in listed] == [entry["_id"]]


async def test_approve(server, staff_client):
    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services)
    r = await rev.decide(rec["_id"], "approve", rec["version"])
    assert r.status == 200 and r.json["status"] == "approved" and r.json["decision"]["decision"] == "approve"
    doc = await server.services.db["records"].find_one({"_id": rec["_id"]})
    [notice] = doc["notices"].values()
    assert notice["data"]["result"] == "审核通过"


async def test_stale_version_or_decided_record_is_409_and_changes_nothing(server, staff_client):
    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services)
    before = await server.services.db["records"].find_one({"_id": rec["_id"]})
    r = await rev.decide(rec["_id"], "approve", rec["version"] + 5)
    assert r.status == 409 and r.error_code == "record_changed" and r.json["error"]["version"] == rec["version"]
    assert await server.services.db["records"].find_one({"_id": rec["_id"]}) == before
    assert (await rev.decide(rec["_id"], "approve", rec["version"])).status == 200
    again = await rev.decide(rec["_id"], "reject", rec["version"] + 1, "再退回")
    assert again.status == 409 and again.json["error"]["status"] == "approved"
    draft = await insert_record(server.services, status="draft")
    assert (await rev.decide(draft["_id"], "approve", draft["version"])).status == 409
    assert await server.services.db["audit_log"].count_documents({}) == 1


async def test_bad_decision_bodies_are_4xx_and_change_nothing(server, staff_client):
    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services)
    v = rec["version"]
    url = f"/admin/api/records/{rec['_id']}/decision"
    cases = [
        ({"decision": "reject", "version": v}, 422, "reason"),                           # no reason
        ({"decision": "reject", "version": v, "reason": "   "}, 422, "reason"),
        ({"decision": "reject", "version": v, "reason_codes": ["不存在的原因"]}, 422, "reason_codes"),
        ({"decision": "approve", "version": v, "reason_codes": ["照片不合格"]}, 422, "reason_codes"),
        ({"decision": "maybe", "version": v}, 422, "decision"),
        ({"decision": "approve"}, 422, "version"),
        ({"decision": "approve", "version": "1"}, 422, "version"),
        ({"decision": "approve", "version": True}, 422, "version"),
        ({"decision": "reject", "version": v, "reason": "长" * 201}, 422, "reason"),
        ({"decision": "reject", "version": v, "reason": 5}, 422, "reason"),
        ({"decision": "reject", "version": v, "reason_codes": "照片不合格"}, 422, "reason_codes"),
    ]
    for body, status, field in cases:
        r = await rev.post(url, json=body)
        assert r.status == status and r.error_code == "invalid_decision", body
        assert r.json["error"]["fields"][0]["field"] == field, body
    r = await rev.http.post(url, raw=b"{oops", headers={"X-XSRF-Token": rev.xsrf, "Content-Type": "application/json"})
    assert r.status == 400 and r.error_code == "malformed_json"
    r = await rev.http.post(url, raw=b"[1]", headers={"X-XSRF-Token": rev.xsrf, "Content-Type": "application/json"})
    assert r.status == 400 and r.error_code == "body_not_object"
    for raw in (b'{"decision": "reject", "version": %d, "reason": "\\ud800"}' % v,
                b'{"decision": "reject", "version": %d, "reason_codes": ["\\udfff"]}' % v):
        r = await rev.http.post(url, raw=raw, headers={"X-XSRF-Token": rev.xsrf, "Content-Type": "application/json"})
        assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "invalid_characters", r.text
    doc = await server.services.db["records"].find_one({"_id": rec["_id"]})
    assert doc["status"] == "submitted" and doc["version"] == v and doc["notices"] == {}
    # Only codes, no free text, is a valid rejection.
    assert (await rev.decide(rec["_id"], "reject", v, codes=["信息不一致"])).status == 200


async def test_two_concurrent_decisions_give_one_200_and_one_409(make_server, http_factory):
    one, two = await make_server(), await make_server()
    await add_staff(one.services, "rev1", regions=[A])
    await add_staff(one.services, "rev2", regions=[A])
    c1, c2 = StaffClient(http_factory(one)), StaffClient(http_factory(two))
    await c1.login("rev1")
    await c2.login("rev2")
    for trial in range(6):
        rec = await insert_record(one.services)
        results = await asyncio.gather(c1.decide(rec["_id"], "approve", rec["version"]),
                                       c2.decide(rec["_id"], "reject", rec["version"], f"第{trial}次"))
        assert sorted(r.status for r in results) == [200, 409], [r.text for r in results]
        doc = await one.services.db["records"].find_one({"_id": rec["_id"]})
        winner = next(r for r in results if r.status == 200).json
        assert doc["status"] == winner["status"] and doc["version"] == rec["version"] + 1
        assert len(doc["notices"]) == 1 and len(doc["history"]) == len(rec["history"]) + 1
        assert await one.services.db["audit_log"].count_documents({"record_id": str(rec["_id"])}) == 1


async def test_racing_service_calls_have_one_winner(make_server):
    """Both callers pass the read check; the atomic conditional update picks one."""
    from server.errors import Conflict
    from server.review.decisions import decide
    from server.staff import StaffAccounts

    one, two = await make_server(), await make_server()
    await add_staff(one.services, "rev", regions=[A])
    doc = await one.services.db["staff"].find_one({"_id": "rev"})
    staff = one.services.get(StaffAccounts).as_staff(doc)
    for _ in range(6):
        rec = await insert_record(one.services)
        calls = [decide(s.services, staff, str(rec["_id"]), {"decision": d, "version": rec["version"],
                                                              "reason": "原因"})
                 for s, d in ((one, "approve"), (two, "reject"), (one, "reject"), (two, "approve"))]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert sum(isinstance(r, dict) for r in results) == 1, results
        assert sum(isinstance(r, Conflict) for r in results) == 3, results
        stored = await one.services.db["records"].find_one({"_id": rec["_id"]})
        assert len(stored["notices"]) == 1 and stored["version"] == rec["version"] + 1


async def test_an_audit_entry_lost_to_a_crash_is_restored_by_the_sender(server, staff_client, fake_wechat):
    from server.notify.sender import NoticeSender

    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services)
    assert (await rev.decide(rec["_id"], "approve", rec["version"])).status == 200
    [logged] = [e async for e in server.services.db["audit_log"].find()]
    # Simulate a process that died right after the decision's single write.
    await server.services.db["audit_log"].delete_many({})
    assert await server.services.get(NoticeSender).run_once() == 1
    [restored] = [e async for e in server.services.db["audit_log"].find()]
    assert restored == logged
    assert len(fake_wechat.subscribe_messages) == 1
