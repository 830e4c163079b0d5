"""Employment confirmation (报备确认) over real HTTP and the real database: a verified administrator
sees exactly the people naming their unit (masked ID numbers, paged), another unit's administrator
gets 404 for the same person; confirm and deny reach the person's record (archive) and inbox and the
reviewer's detail and queue; the district setting blocks approval until confirmed; a change of
employer re-opens confirmation for the new unit."""

from __future__ import annotations

from server.lifecycle.readmodel import ReadModels
from tests.units.conftest import (
    APPS,
    MESSAGES,
    A,
    B,
    approve,
    person_of_unit,
    unit_reviewer,
)

RECORD = "/api/v1/me/record"


async def put(staff, path: str, body: dict, xsrf: str | None = None):
    headers = {"X-XSRF-Token": staff.xsrf if xsrf is None else xsrf}
    return await staff.http.request("PUT", path, json=body, headers=headers)


async def test_a_unit_sees_exactly_its_people_and_its_answers_reach_the_person(
    server, make_unit_admin, as_user, staff_client
):
    admin, uscc = await make_unit_admin("cf-admin")
    other_admin, other_uscc = await make_unit_admin("cf-other")
    rev = await unit_reviewer(server, staff_client, A)
    pending = await person_of_unit(server, uscc, name="陈待审", login="cf-p1")
    archived = await person_of_unit(server, uscc, name="李入库", login="cf-p2")
    assert (await approve(rev, archived["_id"])).status == 200
    elsewhere = await person_of_unit(server, other_uscc, name="赵别家")
    await person_of_unit(server, uscc, name="钱草稿", status="draft")

    r = await admin.get(f"/api/v1/unit/{uscc}/people")
    assert r.status == 200, r.text
    items = r.json["items"]
    assert {i["id"] for i in items} == {str(pending["_id"]), str(archived["_id"])}
    assert r.json["total"] == 2 and r.json["counts"] == {"pending": 2, "confirmed": 0, "denied": 0, "total": 2}
    for item in items:
        assert "*" in item["id_number"] and item["confirmation"] == "pending"
    assert {i["status"] for i in items} == {"submitted", "approved"}
    page = (await admin.get(f"/api/v1/unit/{uscc}/people?page=2&page_size=1")).json
    assert len(page["items"]) == 1 and page["total"] == 2
    assert (await admin.get(f"/api/v1/unit/{uscc}/people?state=nope")).status == 400

    # another unit's administrator: 403 on this unit, 404 for this unit's person through their own unit
    assert (await other_admin.get(f"/api/v1/unit/{uscc}/people")).status == 403
    for path in ("", "/confirm"):
        r = await other_admin.request(
            "GET" if not path else "POST", f"/api/v1/unit/{other_uscc}/people/{pending['_id']}{path}"
        )
        assert r.status == 404 and r.error_code == "person_not_found", r.text
    assert (await admin.get(f"/api/v1/unit/{uscc}/people/{elsewhere['_id']}")).status == 404
    one = (await admin.get(f"/api/v1/unit/{uscc}/people/{pending['_id']}")).json
    assert one["name"] == "陈待审" and "*" in one["id_number"] and one["confirmation"]["state"] == "pending"

    # confirm the archived person: their record view and inbox
    r = await admin.post(f"/api/v1/unit/{uscc}/people/{archived['_id']}/confirm")
    assert r.status == 200 and r.json["confirmation"]["state"] == "confirmed", r.text
    person = await as_user("cf-p2")
    view = (await person.get(RECORD)).json
    assert view["status"] == "approved" and view["unit_confirmation"]["state"] == "confirmed"
    assert view["unit_confirmation"]["unit_name"] == "厦门示例会计服务有限公司"
    inbox = (await person.get(MESSAGES)).json["messages"]
    assert inbox[0]["title"] == "工作单位已确认您的任职信息" and "厦门示例会计服务有限公司" in inbox[0]["body"]
    staff_view = (await rev.get(f"{APPS}/{archived['_id']}")).json["unit_confirmation"]
    assert staff_view["state"] == "confirmed" and staff_view["uscc"] == uscc

    # deny the pending one: a reason is required; then the person, the reviewer's detail and queue
    r = await admin.post(f"/api/v1/unit/{uscc}/people/{pending['_id']}/deny", json={})
    assert r.status == 422 and r.error_code == "reason_required"
    assert (await admin.get(f"/api/v1/unit/{uscc}/people?state=pending")).json["total"] == 1  # unchanged
    r = await admin.post(f"/api/v1/unit/{uscc}/people/{pending['_id']}/deny", json={"reason": "查无此人"})
    assert r.status == 200 and r.json["confirmation"]["state"] == "denied", r.text
    p1 = await as_user("cf-p1")
    assert (await p1.get(RECORD)).json["unit_confirmation"] == {
        **(await p1.get(RECORD)).json["unit_confirmation"],
        "state": "denied",
        "reason": "查无此人",
    }
    inbox = (await p1.get(MESSAGES)).json["messages"]
    assert inbox[0]["title"] == "工作单位未确认您的任职信息" and "查无此人" in inbox[0]["body"]
    notice = await server.services.db["notices"].find_one({"_id": inbox[0]["id"]})
    assert notice["delivery"]["state"] == "pending"  # the subscribe message waits for the sender
    assert await server.services.db["deliveries"].find_one({"_id": inbox[0]["id"]})
    detail = (await rev.get(f"{APPS}/{pending['_id']}")).json["unit_confirmation"]
    assert detail["state"] == "denied" and detail["reason"] == "查无此人" and detail["uscc"] == uscc
    queue = (await rev.get(f"{APPS}?kind=collection&status=submitted")).json["items"]
    flags = {i["id"]: i["unit_confirmation"] for i in queue}
    assert flags[str(pending["_id"])] == "denied" and flags[str(elsewhere["_id"])] == "pending"

    counts = (await admin.get(f"/api/v1/unit/{uscc}/people")).json["counts"]
    assert counts == {"pending": 0, "confirmed": 1, "denied": 1, "total": 2}
    denied = (await admin.get(f"/api/v1/unit/{uscc}/people?state=denied")).json["items"]
    assert [i["id"] for i in denied] == [str(pending["_id"])]
    # staff: the units of their districts with administrators and counts
    rev_b = await unit_reviewer(server, staff_client, B)
    assert (await rev_b.get("/admin/api/units")).json["total"] == 0
    units = {u["uscc"]: u for u in (await rev.get(f"/admin/api/units?region={A}")).json["items"]}
    assert set(units) == {uscc, other_uscc}
    assert units[uscc]["people"] == {"pending": 0, "confirmed": 1, "denied": 1, "total": 2}
    assert [a["name"] for a in units[uscc]["admins"]] == ["林*务"]
    # the same answer again changes nothing (no second notice)
    assert (
        await admin.post(f"/api/v1/unit/{uscc}/people/{pending['_id']}/deny", json={"reason": "查无此人"})
    ).status == 200
    assert len((await p1.get(MESSAGES)).json["messages"]) == 1


async def test_the_district_setting_blocks_approval_until_the_unit_confirms(server, make_unit_admin, staff_client):
    admin, uscc = await make_unit_admin("st-admin")
    rev = await unit_reviewer(server, staff_client, A)
    rev_b = await unit_reviewer(server, staff_client, B)
    settings = (await rev.get("/admin/api/unit-settings")).json["items"]
    assert settings == [{**settings[0], "region_code": A, "require_unit_confirmation": False}]
    path = f"/admin/api/unit-settings/{A}"
    assert (await put(rev_b, path, {"require_unit_confirmation": True})).status == 404
    assert (await put(rev, path, {"require_unit_confirmation": "yes"})).status == 422
    assert (await put(rev, path, {"require_unit_confirmation": True}, xsrf="")).status == 403
    assert (await rev.get("/admin/api/unit-settings")).json["items"][0]["require_unit_confirmation"] is False
    r = await put(rev, path, {"require_unit_confirmation": True})
    assert r.status == 200 and r.json["require_unit_confirmation"] is True, r.text

    rec = await person_of_unit(server, uscc, name="孙等确认")
    r = await approve(rev, rec["_id"])
    assert r.status == 409 and r.error_code == "unit_confirmation_required", r.text
    detail = (await rev.get(f"{APPS}/{rec['_id']}")).json
    assert detail["status"] == "submitted" and detail["unit_confirmation"]["required_before_approval"] is True
    assert (await admin.post(f"/api/v1/unit/{uscc}/people/{rec['_id']}/deny", json={"reason": "已离职"})).status == 200
    assert (await approve(rev, rec["_id"])).error_code == "unit_confirmation_required"
    assert (await admin.post(f"/api/v1/unit/{uscc}/people/{rec['_id']}/confirm")).status == 200
    r = await approve(rev, rec["_id"])
    assert r.status == 200 and r.json["status"] == "approved", r.text
    # no employer code: nothing to confirm
    loose = await person_of_unit(server, None, name="周无单位")
    assert (await approve(rev, loose["_id"])).status == 200
    # the setting is per district: B's approvals are not held
    in_b = await person_of_unit(server, uscc, name="吴海沧", region=B)
    assert (await approve(rev_b, in_b["_id"])).status == 200


async def test_a_change_of_employer_reopens_confirmation_for_the_new_unit(server, make_unit_admin):
    admin, uscc = await make_unit_admin("ch-admin")
    new_admin, new_uscc = await make_unit_admin("ch-new")
    rec = await person_of_unit(server, uscc, name="郑换单位")
    assert (await admin.post(f"/api/v1/unit/{uscc}/people/{rec['_id']}/confirm")).status == 200
    # the person now names another unit (the derived employment of their current work period)
    db = server.services.db
    await db["applications"].update_one({"_id": rec["_id"]}, {"$set": {"employment.unit_credit_code": new_uscc}})
    await server.services.get(ReadModels).sync(rec["_id"])
    assert (await admin.get(f"/api/v1/unit/{uscc}/people/{rec['_id']}")).status == 404
    assert (await admin.get(f"/api/v1/unit/{uscc}/people")).json["total"] == 0
    listed = (await new_admin.get(f"/api/v1/unit/{new_uscc}/people")).json
    assert [(i["id"], i["confirmation"]) for i in listed["items"]] == [(str(rec["_id"]), "pending")]
    one = (await new_admin.get(f"/api/v1/unit/{new_uscc}/people/{rec['_id']}")).json
    assert one["confirmation"]["state"] == "pending"


async def test_a_person_transferred_out_leaves_the_unit_s_list(server, make_unit_admin, as_user, staff_client):
    from tests.transfers.conftest import apply as apply_transfer

    admin, uscc = await make_unit_admin("out-admin")
    rev = await unit_reviewer(server, staff_client, A)
    rec = await person_of_unit(server, uscc, name="韩调出", login="out-person")
    assert (await approve(rev, rec["_id"])).status == 200
    assert (await admin.get(f"/api/v1/unit/{uscc}/people")).json["total"] == 1
    person = await as_user("out-person")
    r = await apply_transfer(person, "out", None, reason="residence", to_region_name="福建省福州市鼓楼区")
    assert r.status == 201, r.text
    assert (await approve(rev, r.json["id"])).status == 200
    assert (await admin.get(f"/api/v1/unit/{uscc}/people")).json["total"] == 0
    assert (await admin.get(f"/api/v1/unit/{uscc}/people/{rec['_id']}")).status == 404
