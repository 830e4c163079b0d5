"""Decisions: one atomic conditional update (status + version), 409 otherwise; the audit entry and
the notice are derived from the recorded step, once."""

from __future__ import annotations

import asyncio

from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, A, StaffClient, add_staff, insert_record, notices_of


async def _reviewer(server, staff_client, name="rev"):
    await server.services.get(StaffAccounts).ensure(name, "reviewer", [A], PASSWORD)
    return await staff_client(server, name)


async def test_reject_writes_decision_history_notice_and_audit_together(server, staff_client):
    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services)
    r = await rev.decide(rec["_id"], "reject", rec["version"], "请上传白底证件照", ["照片不合格", "证件不清晰"])
    assert r.status == 200, r.text
    assert r.json["status"] == "rejected" and r.json["version"] == rec["version"] + 1
    doc = await server.services.db["applications"].find_one({"_id": rec["_id"]})
    reason = "照片不合格、证件不清晰：请上传白底证件照"
    assert doc["decision"]["reason"] == reason and doc["decision"]["by"] == "rev"
    assert doc["decision"]["reason_codes"] == ["照片不合格", "证件不清晰"]
    step = doc["history"][-1]
    assert {k: step[k] for k in ("status", "at", "by", "reason")} == {
        "status": "rejected",
        "at": doc["decided_at"],
        "by": "rev",
        "reason": reason,
    }
    assert step["from"] == "submitted" and step["action"] == "reject" and step["role"] == "reviewer"
    [notice] = await notices_of(server.services, rec["_id"])
    assert notice["kind"] == "review_result" and reason in notice["body"]
    assert notice["data"]["result"] == "审核未通过" and notice["data"]["name"] == rec["profile"]["name"]
    delivery = await server.services.db["deliveries"].find_one({"_id": notice["_id"]})
    assert notice["delivery"]["state"] == "pending" and delivery["due_at"] == notice["created_at"]
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
    [notice] = await notices_of(server.services, rec["_id"])
    assert notice["data"]["result"] == "审核通过"
    archive = await server.services.db["archives"].find_one({"_id": rec["archive_no"]})
    assert archive["version"] == 1 and archive["record_id"] == rec["_id"] and archive["region_code"] == A


async def test_stale_version_or_decided_record_is_409_and_changes_nothing(server, staff_client):
    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services)
    before = await server.services.db["applications"].find_one({"_id": rec["_id"]})
    r = await rev.decide(rec["_id"], "approve", rec["version"] + 5)
    assert r.status == 409 and r.error_code == "record_changed" and r.json["error"]["version"] == rec["version"]
    assert await server.services.db["applications"].find_one({"_id": rec["_id"]}) == before
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
        ({"decision": "reject", "version": v}, 422, "reason"),  # no reason
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
    for raw in (
        b'{"decision": "reject", "version": %d, "reason": "\\ud800"}' % v,
        b'{"decision": "reject", "version": %d, "reason_codes": ["\\udfff"]}' % v,
    ):
        r = await rev.http.post(url, raw=raw, headers={"X-XSRF-Token": rev.xsrf, "Content-Type": "application/json"})
        assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "invalid_characters", r.text
    doc = await server.services.db["applications"].find_one({"_id": rec["_id"]})
    assert doc["status"] == "submitted" and doc["version"] == v and await notices_of(server.services, rec["_id"]) == []
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
        results = await asyncio.gather(
            c1.decide(rec["_id"], "approve", rec["version"]),
            c2.decide(rec["_id"], "reject", rec["version"], f"第{trial}次"),
        )
        assert sorted(r.status for r in results) == [200, 409], [r.text for r in results]
        doc = await one.services.db["applications"].find_one({"_id": rec["_id"]})
        winner = next(r for r in results if r.status == 200).json
        assert doc["status"] == winner["status"] and doc["version"] == rec["version"] + 1
        assert len(await notices_of(one.services, rec["_id"])) == 1
        assert len(doc["history"]) == len(rec["history"]) + 1
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
        calls = [
            decide(s.services, staff, str(rec["_id"]), {"decision": d, "version": rec["version"], "reason": "原因"})
            for s, d in ((one, "approve"), (two, "reject"), (one, "reject"), (two, "approve"))
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert sum(isinstance(r, dict) for r in results) == 1, results
        assert sum(isinstance(r, Conflict) for r in results) == 3, results
        stored = await one.services.db["applications"].find_one({"_id": rec["_id"]})
        assert len(await notices_of(one.services, rec["_id"])) == 1 and stored["version"] == rec["version"] + 1


async def test_effects_lost_to_a_crash_are_derived_once_by_the_repair(server, staff_client, fake_wechat):
    """The work dies between the step's write and its effects: the job written first is repaired."""
    from server.lifecycle.engine import Lifecycle

    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services)
    lifecycle = server.services.get(Lifecycle)
    real_settle = lifecycle.settle

    async def crash(app_id):
        raise RuntimeError("process killed after the step was written")

    lifecycle.settle = crash
    r = await rev.decide(rec["_id"], "approve", rec["version"])
    assert r.status == 200 and r.json["status"] == "approved"  # the decision is recorded: the answer says so
    lifecycle.settle = real_settle
    s = server.services
    doc = await s.db["applications"].find_one({"_id": rec["_id"]})
    assert doc["status"] == "approved" and doc["effects_done"] < doc["history"][-1]["n"]  # the step is there
    assert await notices_of(s, rec["_id"]) == [] and await s.db["archives"].count_documents({}) == 0
    assert await s.db["audit_log"].count_documents({}) == 0
    assert await s.db["lifecycle_jobs"].count_documents({}) == 1
    assert await lifecycle.repair() == 1
    assert await lifecycle.repair() == 0  # nothing left: a second pass does nothing
    await lifecycle.settle(rec["_id"])  # deriving again (another process) doubles nothing
    assert len(await notices_of(s, rec["_id"])) == 1 and await s.db["audit_log"].count_documents({}) == 1
    assert await s.db["archives"].count_documents({}) == 1
    assert await s.db["lifecycle_jobs"].count_documents({}) == 0
    listed = (await rev.get("/admin/api/records?status=approved")).json
    assert [i["id"] for i in listed["items"]] == [str(rec["_id"])]
    assert (await rev.get("/admin/api/records?status=submitted")).json["total"] == 0
