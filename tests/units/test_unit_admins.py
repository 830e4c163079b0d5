"""Unit administrators over real HTTP and the real database: apply with staged files, the unit's
district verifies, the unit's endpoints answer only its active verified administrators, a
revocation (by another administrator or by the district) stops access at once, notices reach the
applicant's inbox; bad input is a 4xx that changes nothing."""

from __future__ import annotations

from tests.units.conftest import (
    APPS,
    MESSAGES,
    UNIT_ADMINS,
    A,
    B,
    application_body,
    new_uscc,
    stage_files,
    unit_reviewer,
)


async def test_an_unverified_applicant_gets_403_and_a_verified_one_sees_the_unit(
    server, apply_unit_admin, staff_client
):
    uscc = new_uscc()
    client, app = await apply_unit_admin("ua-one", uscc)
    assert app["status"] == "submitted" and app["uscc"] == uscc and app["mobile"] == "139****5678"
    r = await client.get(f"/api/v1/unit/{uscc}")
    assert r.status == 403 and r.error_code == "not_unit_admin", r.text
    assert r.json["error"]["message"] == "您不是该单位的已认证管理员"
    assert (await client.get("/api/v1/me/units")).json == {"units": []}

    rev_b = await unit_reviewer(server, staff_client, B)
    assert (await rev_b.get(f"{APPS}/{app['id']}")).status == 404  # another district's
    rev = await unit_reviewer(server, staff_client, A)
    queue = (await rev.get(f"{APPS}?kind=unit_admin&status=submitted")).json["items"]
    assert [i["id"] for i in queue] == [app["id"]]
    detail = (await rev.get(f"{APPS}/{app['id']}")).json
    assert {d["kind"] for d in detail["documents"]} == {"unit_business_licence", "unit_authorisation_letter"}
    assert (await rev.get(detail["documents"][0]["url"])).status == 200
    assert [a["action"] for a in detail["actions"]] == ["approve", "reject"]
    r = await rev.post(f"{APPS}/{app['id']}/decision", json={"decision": "approve", "version": detail["version"]})
    assert r.status == 200 and r.json["status"] == "verified", r.text

    unit = await client.get(f"/api/v1/unit/{uscc}")
    assert unit.status == 200, unit.text
    assert unit.json["name"] == "厦门示例会计服务有限公司" and unit.json["region_code"] == A
    assert [(a["name"], a["is_me"]) for a in unit.json["admins"]] == [("林*务", True)]
    assert [u["uscc"] for u in (await client.get("/api/v1/me/units")).json["units"]] == [uscc]
    inbox = (await client.get(MESSAGES)).json["messages"]
    assert [m["title"] for m in inbox] == ["单位管理员认证通过"]

    # a verified administrator of one unit is refused on another unit
    other = new_uscc()
    r = await client.get(f"/api/v1/unit/{other}")
    assert r.status == 403 and r.error_code == "not_unit_admin"
    assert (await client.get("/api/v1/unit/not-a-code-at-all!")).status == 404


async def test_a_rejection_says_why_and_grants_nothing(server, apply_unit_admin, staff_client):
    uscc = new_uscc()
    client, app = await apply_unit_admin("ua-rej", uscc)
    rev = await unit_reviewer(server, staff_client, A)
    r = await rev.post(f"{APPS}/{app['id']}/decision", json={"decision": "reject", "version": 1})
    assert r.status == 422  # a reason is required
    r = await rev.post(
        f"{APPS}/{app['id']}/decision", json={"decision": "reject", "version": 1, "reason": "授权委托书未盖公章"}
    )
    assert r.status == 200 and r.json["status"] == "rejected", r.text
    assert (await client.get(f"/api/v1/unit/{uscc}")).status == 403
    inbox = (await client.get(MESSAGES)).json["messages"]
    assert "授权委托书未盖公章" in inbox[0]["body"]
    mine = (await client.get(UNIT_ADMINS)).json["applications"]
    assert mine[0]["status"] == "rejected" and mine[0]["decision"]["reason"] == "授权委托书未盖公章"
    # a new application after a rejection is allowed
    await stage_files(client)
    assert (await client.post(UNIT_ADMINS, json=application_body(uscc))).status == 201


async def test_revoking_an_administrator_stops_their_access_at_once(server, make_unit_admin, staff_client, as_user):
    first, uscc = await make_unit_admin("ua-first")
    second, same = await make_unit_admin("ua-second", uscc=uscc)
    third, _ = await make_unit_admin("ua-third", uscc=uscc)
    assert same == uscc
    admins = (await first.get(f"/api/v1/unit/{uscc}")).json["admins"]
    assert len(admins) == 3
    # the unit is registered in A: an application naming another district is refused
    late = await as_user("ua-late")
    await stage_files(late)
    r = await late.post(UNIT_ADMINS, json=application_body(uscc, region=B))
    assert r.status == 422 and r.error_code == "unit_region_mismatch", r.text
    second_id = second.unit_admin_application

    r = await first.post(f"/api/v1/unit/{uscc}/admins/{second_id}/revoke", json={})
    assert r.status == 422 and r.error_code == "reason_required"
    assert (await second.get(f"/api/v1/unit/{uscc}")).status == 200  # nothing changed
    r = await first.post(f"/api/v1/unit/{uscc}/admins/{first.unit_admin_application}/revoke", json={"reason": "x"})
    assert r.status == 409 and r.error_code == "cannot_revoke_self"
    r = await first.post(f"/api/v1/unit/{uscc}/admins/{second_id}/revoke", json={"reason": "已离职"})
    assert r.status == 200, r.text
    assert len(r.json["admins"]) == 2
    r = await second.get(f"/api/v1/unit/{uscc}")
    assert r.status == 403 and r.error_code == "not_unit_admin"  # the very next request
    assert (
        await second.post(f"/api/v1/unit/{uscc}/admins/{first.unit_admin_application}/revoke", json={"reason": "报复"})
    ).status == 403
    inbox = (await second.get(MESSAGES)).json["messages"]
    assert inbox[0]["title"] == "单位管理员身份已撤销" and "已离职" in inbox[0]["body"]

    # the district revokes another one
    rev = await unit_reviewer(server, staff_client, A)
    rev_b = await unit_reviewer(server, staff_client, B)
    third_id = third.unit_admin_application
    body = {"reason": "单位申请撤销"}
    revoke = f"{APPS}/{third_id}/decision"
    assert (await rev_b.post(revoke, json={"decision": "revoke", "version": 2, **body})).status == 404
    assert (await rev.post(revoke, json={"decision": "revoke", "version": 2})).status == 422
    r = await rev.post(revoke, json={"decision": "revoke", "version": 2, **body})
    assert r.status == 200 and r.json["status"] == "revoked", r.text
    assert (await third.get(f"/api/v1/unit/{uscc}")).status == 403
    assert (await first.get(f"/api/v1/unit/{uscc}")).status == 200
    again = await rev.post(revoke, json={"decision": "revoke", "version": 3, **body})
    assert again.status == 409


async def test_bad_applications_are_422_or_409_and_change_nothing(server, as_user, apply_unit_admin):
    client = await as_user("ua-bad")
    uscc = new_uscc()
    r = await client.post(UNIT_ADMINS, json=application_body(uscc))
    assert r.status == 422 and r.error_code == "file_required"
    await stage_files(client)
    bad = application_body(uscc[:-1] + ("0" if uscc[-1] != "0" else "1"), mobile="123", region_code="999999")
    r = await client.post(UNIT_ADMINS, json={**bad, "extra": 1})
    assert r.status == 422
    fields = {f["field"]: f["code"] for f in r.json["error"]["fields"]}
    assert fields == {
        "uscc": "uscc_checksum",
        "mobile": "mobile_format",
        "region_code": "invalid",
        "extra": "unknown_field",
    }, fields
    assert (await client.get(UNIT_ADMINS)).json["applications"] == []
    r = await client.post(f"{UNIT_ADMINS}/files?slot=photo", data=None)
    assert r.status in (400, 422)
    # legal representative: no letter needed
    legal = await as_user("ua-legal")
    await stage_files(legal, legal_representative=True)
    r = await legal.post(UNIT_ADMINS, json=application_body(new_uscc(), legal_representative=True))
    assert r.status == 201, r.text
    # one open application per unit and person; a withdrawn one frees it
    first = await client.post(UNIT_ADMINS, json=application_body(uscc))
    assert first.status == 201, first.text
    await stage_files(client)
    r = await client.post(UNIT_ADMINS, json=application_body(uscc))
    assert r.status == 409 and r.error_code == "unit_admin_open"
    r = await client.post(f"{UNIT_ADMINS}/{first.json['id']}/withdraw")
    assert r.status == 200 and r.json["status"] == "withdrawn"
    assert (await client.post(f"{UNIT_ADMINS}/{first.json['id']}/withdraw")).status == 409
    other = await as_user("ua-other")
    assert (await other.post(f"{UNIT_ADMINS}/{first.json['id']}/withdraw")).status == 404
