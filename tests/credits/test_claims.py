"""Equivalence claims (视同继续教育) over real HTTP and the real database: the person stages a proof
and applies; the archive's district approves with the credits granted (possibly fewer), which adds
credits and may lift the standing, or rejects with a reason; notices reach the inbox; the chat's
`查询继续教育` answers a bound follower."""

from __future__ import annotations

import datetime as dt

from tests.chat.conftest import event_xml
from tests.credits.conftest import (
    DUTIES,
    IMPORTS,
    MESSAGES,
    B,
    city_admin,
    form,
    reviewer,
    row,
    upload_file,
    xlsx,
)
from tests.miniprogram.conftest import jpeg_bytes

THIS_YEAR = dt.date.today().year
CLAIMS = "/api/v1/me/ce-claims"
APPS = "/admin/api/applications"


async def apply(client, year: int, credits=90, **kw):
    staged = await client.post(f"{CLAIMS}/files?slot=ce_claim_proof", data=form(jpeg_bytes(), "cert.jpg"))
    assert staged.status == 201, staged.text
    body = {"activity": "cpa_exam", "year": year, "credits": credits, "title": "注册会计师 会计科目", **kw}
    return await client.post(CLAIMS, json=body)


async def test_an_approved_claim_adds_credits_and_lifts_the_standing(server, person, staff_client):
    s = server.services
    y0 = THIS_YEAR - 3  # y0..y0+2 ended and incomplete -> 异动
    client, rec = await person("cl-ok", qualified=y0 - 1)
    admin = await city_admin(server, staff_client)
    # any import recomputes; this one brings nothing for the counted years
    assert (await upload_file(admin, IMPORTS, xlsx([row(rec, y0 - 1, 10)]))).status == 201
    assert (await client.get(DUTIES)).json["standing"] == "abnormal"

    no_proof = await client.post(CLAIMS, json={"activity": "cpa_exam", "year": y0 + 1, "credits": 90})
    assert no_proof.status == 422 and no_proof.error_code == "file_required", no_proof.text
    bad = await client.post(CLAIMS, json={"activity": "golf", "year": 1999, "credits": 500, "extra": 1})
    assert bad.status == 422 and {f["field"] for f in bad.json["error"]["fields"]} == {
        "activity",
        "year",
        "credits",
        "extra",
    }
    r = await apply(client, y0 + 1)
    assert r.status == 201 and r.json["status"] == "submitted", r.text
    cid, version = r.json["id"], r.json["version"]
    mine = (await client.get(CLAIMS)).json
    assert [c["id"] for c in mine["claims"]] == [cid] and mine["staged"]["ce_claim_proof"] is None

    rev_b = await reviewer(server, staff_client, "cl-rev-b", [B])
    assert (await rev_b.get(f"{APPS}/{cid}")).status == 404
    rev_a = await reviewer(server, staff_client, "cl-rev-a", [rec["region_code"]])
    queue = (await rev_a.get(f"{APPS}?kind=ce_claim&status=submitted")).json["items"]
    assert [i["id"] for i in queue] == [cid] and queue[0]["name"] == rec["profile"]["name"]
    detail = (await rev_a.get(f"{APPS}/{cid}")).json
    assert [d["kind"] for d in detail["documents"]] == ["ce_claim_proof"]
    assert (await rev_a.get(detail["documents"][0]["url"])).status == 200

    # the generic decision cannot approve without the credits granted
    generic = await rev_a.post(f"{APPS}/{cid}/decision", json={"decision": "approve", "version": version})
    assert generic.status == 422 and generic.error_code == "credits_required", generic.text
    decide = f"/admin/api/ce-claims/{cid}/decision"
    too_many = await rev_a.post(decide, json={"decision": "approve", "version": version, "credits_granted": 91})
    assert too_many.status == 422 and too_many.error_code == "bad_credits"
    assert (await rev_a.get(f"{APPS}/{cid}")).json["status"] == "submitted"
    assert not [
        e for e in (await s.db["ce_credits"].find_one({"_id": rec["archive_no"]}))["entries"] if e["source"] == "claim"
    ]
    ok = await rev_a.post(
        decide, json={"decision": "approve", "version": version, "credits_granted": 80, "type": "professional"}
    )
    assert ok.status == 200 and ok.json["status"] == "approved", ok.text
    again = await rev_a.post(decide, json={"decision": "approve", "version": version, "credits_granted": 80})
    assert again.status == 409

    entries = (await s.db["ce_credits"].find_one({"_id": rec["archive_no"]}))["entries"]
    claim = [e for e in entries if e["source"] == "claim"]
    assert len(claim) == 1 and claim[0]["credits"] == 80 and claim[0]["year"] == y0 + 1
    duties = (await client.get(DUTIES)).json
    year = next(y for y in duties["years"] if y["year"] == y0 + 1)
    assert year["credits_total"] == 80 and year["complete"] is False  # fewer granted than the year needs
    assert duties["standing"] == "abnormal"

    # a second claim for the year's remaining general credits completes it: no run of 3 -> normal
    r2 = await apply(client, y0 + 1, credits=10, type="general", activity="publication")
    assert r2.status == 201, r2.text
    ok2 = await rev_a.post(
        f"/admin/api/ce-claims/{r2.json['id']}/decision",
        json={"decision": "approve", "version": r2.json["version"], "credits_granted": 10},
    )
    assert ok2.status == 200, ok2.text
    duties = (await client.get(DUTIES)).json
    assert duties["standing"] == "normal" and duties["incomplete_years"] == [y0, y0 + 2]
    stored = await s.db["standings"].find_one({"_id": rec["archive_no"]})
    assert stored["standing"] == "normal"
    inbox = (await client.get(MESSAGES)).json["messages"]
    kinds = [m["kind"] for m in inbox]
    assert kinds.count("ce_claim_result") == 2 and kinds.count("standing_changed") == 2
    assert any("认定" in m["body"] and "80" in m["body"] for m in inbox if m["kind"] == "ce_claim_result")


async def test_a_rejected_claim_needs_a_reason_and_adds_nothing(server, person, staff_client):
    s = server.services
    client, rec = await person("cl-no", qualified=THIS_YEAR - 2)
    r = await apply(client, THIS_YEAR - 1, credits=30, activity="other")
    assert r.status == 201, r.text
    rev = await reviewer(server, staff_client, "cl-rev-no", [rec["region_code"]])
    decide = f"/admin/api/ce-claims/{r.json['id']}/decision"
    no_reason = await rev.post(decide, json={"decision": "reject", "version": r.json["version"]})
    assert no_reason.status == 422
    done = await rev.post(decide, json={"decision": "reject", "version": r.json["version"], "reason": "证明材料不清晰"})
    assert done.status == 200 and done.json["status"] == "rejected", done.text
    assert await s.db["ce_credits"].find_one({"_id": rec["archive_no"]}) is None
    inbox = (await client.get(MESSAGES)).json["messages"]
    assert any(m["kind"] == "ce_claim_result" and "证明材料不清晰" in m["body"] for m in inbox)
    mine = (await client.get(CLAIMS)).json["claims"]
    assert mine[0]["status_label"] == "未认定" and mine[0]["decision"]["reason"] == "证明材料不清晰"


async def test_a_draft_cannot_claim_and_a_claim_can_be_withdrawn(server, person, as_user):
    draft = await as_user("cl-draft")
    staged = await draft.post(f"{CLAIMS}/files?slot=ce_claim_proof", data=form(jpeg_bytes(), "cert.jpg"))
    assert staged.status == 201
    r = await draft.post(CLAIMS, json={"activity": "degree", "year": THIS_YEAR, "credits": 30})
    assert r.status == 409 and r.error_code == "archive_required", r.text
    client, _ = await person("cl-wd")
    r = await apply(client, THIS_YEAR, credits=20)
    w = await client.post(f"{CLAIMS}/{r.json['id']}/withdraw")
    assert w.status == 200 and w.json["status"] == "withdrawn", w.text
    assert (await client.post(f"{CLAIMS}/{r.json['id']}/withdraw")).status == 409
    other = await as_user("cl-other")
    assert (await other.post(f"{CLAIMS}/{r.json['id']}/withdraw")).status == 404


async def test_chat_answers_the_duties_of_a_bound_follower(chat, person, staff_client):
    srv, sender = await chat()
    y0 = THIS_YEAR - 3
    client, rec = await person("cl-chat", qualified=y0 - 1, running=srv)
    assert (await sender.ask("o-chat-ce", "查询继续教育")).content.startswith("您的微信还没有关联")
    code = (await client.post("/api/v1/me/chat-binding")).json["code"]
    assert (await sender.ask("o-chat-ce", f"绑定 {code}")).content.startswith("绑定成功")
    admin = await city_admin(srv, staff_client)
    assert (await upload_file(admin, IMPORTS, xlsx([row(rec, y0 + 2, 45)]))).status == 201
    reply = (await sender.ask("o-chat-ce", "查詢繼續教育")).content  # traditional characters too
    lines = reply.split("\n")
    assert lines[0] == "您的会计人员状态：异动。", reply
    assert f"{y0}、{y0 + 1}、{y0 + 2}" in lines[1]
    assert any(line.startswith(f"{y0 + 2}年度：45/90学分") and "未完成" in line for line in lines), reply
    assert any(line.startswith(f"{THIS_YEAR}年度：0/90学分") for line in lines), reply
    assert len(lines) <= 12
    clicked = await sender.send(event_xml("o-chat-ce", "CLICK", "DUTIES:ce"))  # the menu key answers the same
    assert clicked.content == reply
    assert (await sender.ask("o-chat-ce", "查询进度")).content.startswith("您的信息采集已审核通过")  # unchanged
