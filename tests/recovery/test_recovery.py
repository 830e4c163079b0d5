"""Account recovery (账号找回) over real HTTP and the real database: a person on a new WeChat account
proves who they are; the archive's district approves; the archive moves, the old account's token
is 401 at once, its chat binding no longer answers, both inboxes are told; a rejection changes
nothing; limits and bad input."""

from __future__ import annotations

from bson import ObjectId

from tests.miniprogram.conftest import form, jpeg_bytes
from tests.recovery.conftest import MESSAGES, RECORD, A, B, archive_of, reviewer

RECOVERY = "/api/v1/me/recovery"
APPS = "/admin/api/applications"
SLOTS = ("recovery_id_front", "recovery_id_back", "recovery_selfie")


async def stage_all(client) -> None:
    for slot in SLOTS:
        r = await client.post(f"{RECOVERY}/files?slot={slot}", data=form(jpeg_bytes(), f"{slot}.jpg"))
        assert r.status == 201, r.text


async def apply(client, rec, name: str | None = None):
    await stage_all(client)
    body = {"name": name or rec["profile"]["name"], "id_number": rec["profile"]["id_number"], "note": "换了手机号"}
    return await client.post(RECOVERY, json=body)


async def test_an_approved_recovery_moves_the_archive_and_shuts_the_old_account_out(
    chat, approved_person, as_user, staff_client, http_factory
):
    srv, sender = await chat()
    db = srv.services.db
    old, rec = await approved_person("lostphone", running=srv)
    code = (await old.post("/api/v1/me/chat-binding")).json["code"]
    assert (await sender.ask("o-chat-old", f"绑定 {code}")).content.startswith("绑定成功")
    assert "审核通过" in (await sender.ask("o-chat-old", "查询进度")).content

    new = await as_user("newphone", srv)
    taken = await new.patch(
        RECORD, json={"profile": {"id_type": "resident_id", "id_number": rec["profile"]["id_number"]}}
    )
    assert taken.status == 409 and "账号找回" in taken.json["error"]["message"], taken.text
    r = await apply(new, rec)
    assert r.status == 201, r.text
    rid = r.json["id"]
    assert r.json["status"] == "submitted" and r.json["id_number"].count("*") >= 8

    rev_a = await reviewer(srv, staff_client, "r-rev-a", [A])
    rev_b = await reviewer(srv, staff_client, "r-rev-b", [B])
    assert (await rev_b.get(f"{APPS}/{rid}")).status == 404
    queue = (await rev_a.get(f"{APPS}?kind=recovery&status=submitted")).json["items"]
    assert [i["id"] for i in queue] == [rid] and queue[0]["name"] == rec["profile"]["name"]
    detail = (await rev_a.get(f"{APPS}/{rid}")).json
    side = detail["recovery"]
    assert side["claimed_id_number"] == rec["profile"]["id_number"] and side["archive_photo_url"]
    assert (await rev_a.get(side["archive_photo_url"])).status == 200  # the archive's photo, beside the new ones
    assert {d["kind"] for d in detail["documents"]} == set(SLOTS)
    assert [a["label"] for a in detail["actions"]] == ["同意找回", "不同意找回"]

    d = await rev_a.decide(rid, "approve", detail["version"])
    assert d.status == 200 and d.json["status"] == "approved", d.text

    # the old account: 401 at once; its chat binding no longer answers with the status
    gone = await old.get(RECORD)
    assert gone.status == 401 and gone.error_code == "session_revoked", gone.text
    assert "审核通过" not in (await sender.ask("o-chat-old", "查询进度")).content
    # the new account: its session on the empty draft ends too; logging in again lands on the archive
    assert (await new.get(RECORD)).status == 401
    again = await as_user("newphone", srv)
    view = (await again.get(RECORD)).json
    assert view["status"] == "approved" and view["id"] == str(rec["_id"]) and view["archive"]["archive_no"]
    archive = await archive_of(srv.services, rec)
    assert archive["openid"] == "demo-openid-newphone" and archive["open_recovery"] is None
    inbox = (await again.get(MESSAGES)).json["messages"]
    assert any(m["title"] == "账号找回成功" for m in inbox), inbox
    assert any("审核通过" in m["title"] for m in inbox)  # the archive's earlier notices came along
    # the old WeChat account starts over as a stranger, and is told where the archive went
    stranger = await as_user("lostphone", srv)
    fresh = (await stranger.get(RECORD)).json
    assert fresh["status"] == "draft" and fresh["id"] != str(rec["_id"])
    told = (await stranger.get(MESSAGES)).json["messages"]
    assert [m["title"] for m in told] == ["会计人员档案已转到其他微信账号"]
    # audited
    audit = (await rev_a.get(f"/admin/api/records/{rid}/audit")).json["items"]
    assert [(e["before"]["status"], e["after"]["status"]) for e in audit] == [("submitted", "approved")]
    # the new account can now act on the archive (a change)
    change = await again.post("/api/v1/me/changes", json={"changes": {"contact": {"mobile": "13912345678"}}})
    assert change.status == 201, change.text
    # deriving the effect again changes nothing more
    from server.recovery.effects import RecoveryEffects

    app = await db["applications"].find_one({"_id": ObjectId(rid)})
    await RecoveryEffects(srv.services).rebind_account(app, app["history"][-1])
    assert (await archive_of(srv.services, rec))["openid"] == "demo-openid-newphone"
    assert (await again.get(RECORD)).status == 200


async def test_a_rejected_recovery_changes_nothing(server, approved_person, as_user, staff_client):
    old, rec = await approved_person("keeper")
    new = await as_user("claimer")
    rid = (await apply(new, rec)).json["id"]
    rev_a = await reviewer(server, staff_client, "r2-rev-a", [A])
    v = (await rev_a.get(f"{APPS}/{rid}")).json["version"]
    r = await rev_a.decide(rid, "reject", v, reason="手持证件照片与档案照片不符")
    assert r.status == 200 and r.json["status"] == "rejected"
    assert (await old.get(RECORD)).status == 200
    archive = await archive_of(server.services, rec)
    assert archive["openid"] == "demo-openid-keeper" and archive["open_recovery"] is None
    mine = (await new.get(RECOVERY)).json["recoveries"]
    assert mine[0]["status"] == "rejected" and mine[0]["decision"]["reason"] == "手持证件照片与档案照片不符"
    inbox = (await new.get(MESSAGES)).json["messages"]
    assert [m["title"] for m in inbox] == ["账号找回未通过"]
    assert (await apply(new, rec)).status == 201  # the archive may take another recovery


async def test_bad_input_limits_and_one_open_recovery(server, approved_person, as_user):
    old, rec = await approved_person("target")
    new = await as_user("prober")
    r = await new.post(RECOVERY, json={"name": rec["profile"]["name"], "id_number": rec["profile"]["id_number"]})
    assert r.status == 422 and r.error_code == "file_required"
    await stage_all(new)
    for body in ({}, {"name": 3, "id_number": "x"}, {"name": "a", "id_number": "b", "admin": 1}):
        assert (await new.post(RECOVERY, json=body)).status == 422, body
    wrong = await new.post(RECOVERY, json={"name": "别人", "id_number": rec["profile"]["id_number"]})
    unknown = await new.post(RECOVERY, json={"name": "别人", "id_number": "110101199001011237"})
    assert wrong.status == unknown.status == 404 and wrong.json == unknown.json  # a mismatch tells nothing
    assert (
        await new.post(RECOVERY, json={"name": rec["profile"]["name"], "id_number": rec["profile"]["id_number"]})
    ).status == 201
    other = await as_user("second")
    r = await apply(other, rec)
    assert r.status == 409 and r.error_code == "recovery_open"
    assert (await old.post(RECOVERY, json={"name": "x", "id_number": "y"})).status in (404, 422)
    # per account: three a day
    spammer = await as_user("spammer")
    await stage_all(spammer)
    codes = [
        (await spammer.post(RECOVERY, json={"name": "某人", "id_number": f"11010119900101{i:04d}"})).status
        for i in range(4)
    ]
    assert codes == [404, 404, 404, 429], codes
