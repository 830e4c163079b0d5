"""A transfer within the deployment (区内调转) end to end over real HTTP and the real database: the
origin releases, the destination accepts, the archive moves at once; refusals at either step;
each district's actions; racing decisions; notices once each; the chat's status answer."""

from __future__ import annotations

import asyncio

from bson import ObjectId

from tests.transfers.conftest import APPS, MESSAGES, RECORD, TRANSFERS, A, B, apply, archive_of, notices_of, reviewer


async def queue(rev, kind: str, status: str = "") -> list[str]:
    r = await rev.get(f"{APPS}?kind={kind}&status={status}")
    assert r.status == 200, r.text
    return [i["id"] for i in r.json["items"]]


async def test_origin_releases_destination_accepts_and_the_archive_moves(
    server, make_server, approved_person, staff_client
):
    other = await make_server()  # a second process on the same database, for the racing release
    rev_a = await reviewer(server, staff_client, "t-rev-a", [A])
    rev_a2 = await reviewer(other, staff_client, "t-rev-a2", [A])
    rev_b = await reviewer(server, staff_client, "t-rev-b", [B])
    db = server.services.db
    person, rec = await approved_person("mover")

    r = await apply(person, "within", B, note="调入海沧区新单位")
    assert r.status == 201, r.text
    t = r.json
    tid = t["id"]
    assert t["kind"] == "within" and t["status"] == "submitted" and t["withdrawable"] is True
    assert t["from_region_name"] == "思明区" and t["to_region_name"] == "海沧区"
    assert t["reason_label"] == "工作单位变动" and "transfer_proof" in t["documents"]
    archive = await archive_of(server.services, rec)
    assert archive["open_change"] == ObjectId(tid) and archive["region_code"] == A

    # both districts see it in their queues; only the origin has actions in this step
    assert tid in await queue(rev_a, "transfer_within", "submitted")
    assert tid in await queue(rev_b, "transfer_within", "submitted")
    detail_b = (await rev_b.get(f"{APPS}/{tid}")).json
    assert detail_b["actions"] == [] and detail_b["transfer"]["to_region"] == B
    detail_a = (await rev_a.get(f"{APPS}/{tid}")).json
    assert [a["label"] for a in detail_a["actions"]] == ["同意调出", "不同意调出"]
    photo = await rev_b.get(detail_b["photo"]["url"])  # the archive's photo beside the transfer
    assert photo.status == 200 and photo.headers["Content-Type"] == "image/jpeg"
    assert (await rev_b.get(f"/admin/api/records/{tid}/audit")).status == 200
    assert detail_a["name"] == rec["profile"]["name"]  # the archive's fields
    r = await rev_b.decide(tid, "approve", detail_b["version"])
    assert r.status == 403 and r.error_code == "not_your_step", r.text

    # two origin reviewers release at once: one 200, one 409; the step is taken once
    results = await asyncio.gather(
        rev_a.decide(tid, "approve", detail_a["version"]), rev_a2.decide(tid, "approve", detail_a["version"])
    )
    assert sorted(r.status for r in results) == [200, 409], [r.text for r in results]
    released = next(r for r in results if r.status == 200).json
    assert released["status"] == "released" and released["actions"] == []
    assert (await person.get(TRANSFERS)).json["transfers"][0]["withdrawable"] is False
    assert (await person.post(f"{TRANSFERS}/{tid}/withdraw")).status == 409
    assert tid in await queue(rev_b, "transfer_within", "released")
    detail_b = (await rev_b.get(f"{APPS}/{tid}")).json
    assert [a["label"] for a in detail_b["actions"]] == ["同意调入", "不同意调入"]
    r = await rev_a.decide(tid, "approve", detail_b["version"])
    assert r.status == 403 and r.error_code == "not_your_step"

    # the destination accepts: the archive is in B (version 2), A loses sight of the record
    assert (await rev_a.get(f"/admin/api/records/{rec['_id']}")).status == 200
    r = await rev_b.decide(tid, "approve", detail_b["version"])
    assert r.status == 200 and r.json["status"] == "accepted", r.text
    labels = [(h["label"], h["district"]) for h in r.json["history"]]
    assert labels[1:] == [("同意调出", "思明区"), ("同意调入", "海沧区")]
    moved = await archive_of(server.services, rec)
    assert moved["region_code"] == B and moved["data"]["region_code"] == B and moved["version"] == 2
    assert moved["versions"][-1]["diff"] == [{"field": "region_code", "old": A, "new": B}]
    assert moved["versions"][-1]["kind"] == "transfer_within" and moved["open_change"] is None
    assert (await rev_a.get(f"/admin/api/records/{rec['_id']}")).status == 404
    assert (await rev_b.get(f"/admin/api/records/{rec['_id']}")).status == 200
    assert str(rec["_id"]) not in await queue(rev_a, "collection", "approved")
    assert str(rec["_id"]) in await queue(rev_b, "collection", "approved")
    assert (await person.get(RECORD)).json["region_code"] == B
    # the transfer itself stays visible to both districts (its history), and so do its audit entries
    assert (await rev_a.get(f"{APPS}/{tid}")).status == 200
    for rev in (rev_a, rev_b):
        audit = (await rev.get("/admin/api/audit?page_size=100")).json["items"]
        steps = sorted((e["before"]["status"], e["after"]["status"]) for e in audit if e["record_id"] == tid)
        assert steps == [("released", "accepted"), ("submitted", "released")], steps

    # every step told the person once: released, accepted
    notices = await notices_of(server.services, ObjectId(tid))
    assert sorted(n["template"] for n in notices) == ["transfer_accepted", "transfer_released"]
    inbox = (await person.get(MESSAGES)).json
    titles = [m["title"] for m in inbox["messages"]]
    assert len(titles) == len(set(titles)) and "区内调转已完成" in titles, titles
    app = await db["applications"].find_one({"_id": ObjectId(tid)})
    assert app["effects_done"] == len(app["history"])


async def test_the_destination_declines_and_the_archive_stays(server, approved_person, staff_client):
    rev_a = await reviewer(server, staff_client, "t2-rev-a", [A])
    rev_b = await reviewer(server, staff_client, "t2-rev-b", [B])
    person, rec = await approved_person("stayer")
    tid = (await apply(person, "within", B)).json["id"]
    v = (await rev_a.get(f"{APPS}/{tid}")).json["version"]
    assert (await rev_a.decide(tid, "approve", v)).status == 200
    r = await rev_b.decide(tid, "reject", v + 1)
    assert r.status == 422  # a refusal needs a reason
    r = await rev_b.decide(tid, "reject", v + 1, reason="调入单位不在本区")
    assert r.status == 200 and r.json["status"] == "declined", r.text
    archive = await archive_of(server.services, rec)
    assert archive["region_code"] == A and archive["version"] == 1 and archive["open_change"] is None
    assert (await rev_a.get(f"/admin/api/records/{rec['_id']}")).status == 200
    assert (await rev_b.get(f"/admin/api/records/{rec['_id']}")).status == 404
    inbox = (await person.get(MESSAGES)).json["messages"]
    assert any("调入单位不在本区" in m["body"] for m in inbox), inbox
    # the archive is free again: a new transfer may be applied for
    assert (await apply(person, "within", B)).status == 201


async def test_the_origin_refuses(server, approved_person, staff_client):
    rev_a = await reviewer(server, staff_client, "t3-rev-a", [A])
    person, rec = await approved_person("refused")
    tid = (await apply(person, "within", B)).json["id"]
    v = (await rev_a.get(f"{APPS}/{tid}")).json["version"]
    r = await rev_a.decide(tid, "reject", v, reason="尚有未办结的事项")
    assert r.status == 200 and r.json["status"] == "refused"
    assert (await archive_of(server.services, rec))["region_code"] == A
    view = (await person.get(TRANSFERS)).json["transfers"][0]
    assert view["status_label"] == "调出地不同意" and view["decision"]["reason"] == "尚有未办结的事项"
    assert view["history"][-1]["by"] == "厦门市思明区财政局"  # an office, never a staff name


async def test_the_chat_status_names_the_pending_step(chat, approved_person, staff_client):
    srv, sender = await chat()
    person, rec = await approved_person("chatter", running=srv)
    r = await person.post("/api/v1/me/chat-binding")
    assert (await sender.ask("o-chat-mover", f"绑定 {r.json['code']}")).content.startswith("绑定成功")
    rev_a = await reviewer(srv, staff_client, "t4-rev-a", [A])
    tid = (await apply(person, "within", B)).json["id"]
    v = (await rev_a.get(f"{APPS}/{tid}")).json["version"]
    await rev_a.decide(tid, "approve", v)
    reply = (await sender.ask("o-chat-mover", "查询进度")).content
    assert "海沧区" in reply and "接收" in reply, reply


async def test_deriving_the_move_twice_moves_once(server, approved_person, staff_client):
    """A crash after the accept step leaves its effects to the repair worker: deriving them again
    (as the worker would) adds no second version and no second notice."""
    from server.lifecycle.engine import Lifecycle
    from server.transfers.effects import TransferEffects

    rev_a = await reviewer(server, staff_client, "t5-rev-a", [A])
    rev_b = await reviewer(server, staff_client, "t5-rev-b", [B])
    person, rec = await approved_person("twice")
    tid = (await apply(person, "within", B)).json["id"]
    v = (await rev_a.get(f"{APPS}/{tid}")).json["version"]
    await rev_a.decide(tid, "approve", v)
    assert (await rev_b.decide(tid, "approve", v + 1)).status == 200
    db = server.services.db
    app = await db["applications"].find_one({"_id": ObjectId(tid)})
    await TransferEffects(server.services).move_archive(app, app["history"][-1])
    await db["applications"].update_one({"_id": app["_id"]}, {"$set": {"effects_done": 0}})
    await server.services.get(Lifecycle).settle(app["_id"])
    archive = await archive_of(server.services, rec)
    assert archive["version"] == 2 and len(archive["versions"]) == 2 and archive["region_code"] == B
    assert len(await notices_of(server.services, app["_id"])) == 2
