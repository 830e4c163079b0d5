"""`查询进度` through the real webhook (signed XML, a real binding code) says every item a person has
going, one line each, made through the real HTTP APIs: equivalence claims, the yearly standing, unit
administrator applications, an account recovery; and nothing else for a person who has nothing."""

from __future__ import annotations

import datetime as dt
import re

from server.chat import texts
from tests.admin.conftest import A, staff_client  # noqa: F401
from tests.credits.conftest import IMPORTS, city_admin, person, upload_file, xlsx  # noqa: F401
from tests.lifecycle.conftest import approved_person, reviewer  # noqa: F401
from tests.miniprogram.conftest import as_user, form, jpeg_bytes  # noqa: F401
from tests.units.conftest import APPS, apply_unit_admin, new_uscc, unit_reviewer  # noqa: F401

THIS_YEAR = dt.date.today().year
CLAIMS = "/api/v1/me/ce-claims"
RECOVERY = "/api/v1/me/recovery"
DAY = r"\d{4}年\d{1,2}月\d{1,2}日"


async def bind(sender, client, chat_openid: str) -> None:
    """Link a chat follower to the mini-program user of `client` with a real binding code."""
    r = await client.post("/api/v1/me/chat-binding")
    assert r.status == 200, r.text
    assert (await sender.ask(chat_openid, f"绑定 {r.json['code']}")).content.startswith("绑定成功")


async def status(sender, chat_openid: str) -> list[str]:
    """The status reply's lines."""
    reply = (await sender.ask(chat_openid, "查询进度")).content
    assert reply and "{" not in reply, reply
    return reply.split("\n")


async def test_a_person_with_nothing_else_sees_just_the_record_state(chat, approved_person, as_user):  # noqa: F811
    srv, sender = await chat()
    client, rec = await approved_person("st-plain", running=srv)
    await bind(sender, client, "o-st-plain")
    lines = await status(sender, "o-st-plain")
    assert len(lines) == 1 and re.fullmatch(
        rf"您的信息采集已审核通过（{DAY}）。会计档案号：{rec['archive_no']}。", lines[0]
    )
    drafter = await as_user("st-draft", srv)
    await bind(sender, drafter, "o-st-draft")
    assert await status(sender, "o-st-draft") == [texts.STATUS["collection"]["draft"]]


async def claim(client, credits=90, **kw):
    staged = await client.post(f"{CLAIMS}/files?slot=ce_claim_proof", data=form(jpeg_bytes(), "cert.jpg"))
    assert staged.status == 201, staged.text
    body = {"activity": "cpa_exam", "year": THIS_YEAR, "credits": credits, "title": "注册会计师 会计科目", **kw}
    r = await client.post(CLAIMS, json=body)
    assert r.status == 201, r.text
    return r.json


async def test_an_equivalence_claim_pending_then_approved_then_the_open_one_first(chat, person, staff_client):  # noqa: F811
    srv, sender = await chat()
    client, rec = await person("st-claim", qualified=THIS_YEAR - 1, running=srv)  # first year: this one (正常)
    await bind(sender, client, "o-st-claim")
    assert len(await status(sender, "o-st-claim")) == 1
    c1 = await claim(client)
    lines = await status(sender, "o-st-claim")
    assert len(lines) == 2, lines
    assert re.fullmatch(
        rf"您的视同继续教育申请（{THIS_YEAR}年度，申请90学分）已于 {DAY} 提交，正在由档案所在区财政局审核。", lines[1]
    )
    rev = await reviewer(srv, staff_client, "st-claim-rev", [rec["region_code"]])
    decide = "/admin/api/ce-claims/{}/decision"
    ok = await rev.post(
        decide.format(c1["id"]), json={"decision": "approve", "version": c1["version"], "credits_granted": 80}
    )
    assert ok.status == 200, ok.text
    lines = await status(sender, "o-st-claim")
    assert len(lines) == 2 and f"通过认定：认定{THIS_YEAR}年度专业科目80学分。" in lines[1], lines

    # two open: the newest is said, and how many more; an open one is said before a later decision
    c2 = await claim(client, credits=10, activity="publication")
    c3 = await claim(client, credits=20, activity="degree")
    lines = await status(sender, "o-st-claim")
    assert "申请20学分" in lines[1] and lines[1].endswith("另有1项视同继续教育申请正在审核。"), lines
    no = await rev.post(
        decide.format(c3["id"]), json={"decision": "reject", "version": c3["version"], "reason": "证明材料不清晰"}
    )
    assert no.status == 200, no.text
    lines = await status(sender, "o-st-claim")
    assert "申请10学分" in lines[1] and "正在由档案所在区财政局审核" in lines[1] and "另有" not in lines[1], lines
    # none open: the one that changed last (c2 withdrawn after c3 was rejected)
    assert (await client.post(f"{CLAIMS}/{c2['id']}/withdraw")).status == 200
    lines = await status(sender, "o-st-claim")
    assert lines[1] == f"您最近一次视同继续教育申请（{THIS_YEAR}年度，申请10学分）已撤回。", lines


async def test_the_standing_is_said_while_it_is_abnormal_as_the_duties_answer_says(chat, person, staff_client):  # noqa: F811
    srv, sender = await chat()
    y0 = THIS_YEAR - 3  # y0..y0+2 ended without credits: 异动
    client, rec = await person("st-late", qualified=y0 - 1, running=srv)
    await bind(sender, client, "o-st-late")
    lines = await status(sender, "o-st-late")
    assert len(lines) == 2, lines
    assert lines[1] == (
        f"您的会计人员状态为异动：{y0}、{y0 + 1}、{y0 + 2}年度未完成继续教育（连续3个年度未完成），"
        "已转入异动人员。详情请发送“查询继续教育”查看。"
    )
    duties = (await sender.ask("o-st-late", "查询继续教育")).content
    assert duties.startswith("您的会计人员状态：异动。"), duties
    # a provider's file completes the middle year: no run of 3 any more -> 正常, and the line goes
    admin = await city_admin(srv, staff_client)
    name, number = rec["profile"]["name"], rec["profile"]["id_number"]
    rows = [
        [number, name, y0 + 1, 60, "专业科目", "厦门会计学院", "准则"],
        [number, name, y0 + 1, 30, "公需科目", "厦门会计学院", "法规"],
    ]
    assert (await upload_file(admin, IMPORTS, xlsx(rows))).status == 201
    assert len(await status(sender, "o-st-late")) == 1
    assert (await sender.ask("o-st-late", "查询继续教育")).content.startswith("您的会计人员状态：正常。")


async def test_unit_administrator_applications_pending_verified_rejected_revoked(chat, apply_unit_admin, staff_client):  # noqa: F811
    srv, sender = await chat()
    first = new_uscc()
    client, app = await apply_unit_admin("st-ua", first, running=srv)
    await bind(sender, client, "o-st-ua")
    lines = await status(sender, "o-st-ua")
    assert lines[0] == texts.STATUS["collection"]["draft"] and len(lines) == 2, lines
    assert re.fullmatch(
        rf"您申请成为厦门示例会计服务有限公司的单位管理员，已于 {DAY} 提交，正在等待单位注册所在区财政局认证。",
        lines[1],
    )
    rev = await unit_reviewer(srv, staff_client, A)
    detail = (await rev.get(f"{APPS}/{app['id']}")).json
    r = await rev.post(f"{APPS}/{app['id']}/decision", json={"decision": "approve", "version": detail["version"]})
    assert r.status == 200, r.text
    lines = await status(sender, "o-st-ua")
    assert re.fullmatch(rf"您已于 {DAY} 通过认证，是厦门示例会计服务有限公司的单位管理员，.*“单位管理”.*", lines[1]), (
        lines
    )

    # a second unit, rejected with a reason: both said, the newest first
    _, other = await apply_unit_admin("st-ua", new_uscc(), running=srv, unit_name="厦门第二示例有限公司")
    r = await rev.post(
        f"{APPS}/{other['id']}/decision", json={"decision": "reject", "version": 1, "reason": "营业执照不清晰"}
    )
    assert r.status == 200, r.text
    lines = await status(sender, "o-st-ua")
    assert len(lines) == 3, lines
    assert re.fullmatch(
        rf"您申请成为厦门第二示例有限公司的单位管理员未通过认证（{DAY}），原因：营业执照不清晰。", lines[1]
    )
    assert "通过认证，是厦门示例会计服务有限公司的单位管理员" in lines[2]

    # the district revokes the first: said with the reason and the day of the revocation
    detail = (await rev.get(f"{APPS}/{app['id']}")).json
    r = await rev.post(
        f"{APPS}/{app['id']}/decision", json={"decision": "revoke", "version": detail["version"], "reason": "已离职"}
    )
    assert r.status == 200 and r.json["status"] == "revoked", r.text
    lines = await status(sender, "o-st-ua")
    assert re.fullmatch(
        rf"您作为厦门示例会计服务有限公司单位管理员的身份已于 {DAY} 被撤销，原因：已离职。", lines[2]
    ), lines


async def recover(client, rec) -> dict:
    for slot in ("recovery_id_front", "recovery_id_back", "recovery_selfie"):
        r = await client.post(f"{RECOVERY}/files?slot={slot}", data=form(jpeg_bytes(), f"{slot}.jpg"))
        assert r.status == 201, r.text
    body = {"name": rec["profile"]["name"], "id_number": rec["profile"]["id_number"]}
    r = await client.post(RECOVERY, json=body)
    assert r.status == 201, r.text
    return r.json


async def test_a_recovering_person_hears_of_the_record_now_theirs(chat, approved_person, as_user, staff_client):  # noqa: F811
    srv, sender = await chat()
    _, rec = await approved_person("st-lost", running=srv)
    new = await as_user("st-newphone", srv)
    await bind(sender, new, "o-st-new")  # linked to the new account's empty draft
    rev = await reviewer(srv, staff_client, "st-rec-rev", [A])

    first = await recover(new, rec)
    first["version"] = (await rev.get(f"{APPS}/{first['id']}")).json["version"]
    lines = await status(sender, "o-st-new")
    assert len(lines) == 1 and lines[0].startswith("您的账号找回申请已于 "), lines  # not "fill in your draft"
    r = await rev.decide(first["id"], "reject", first["version"], reason="手持证件照片不清晰")
    assert r.status == 200, r.text
    lines = await status(sender, "o-st-new")
    assert lines[0] == texts.STATUS["collection"]["draft"] and "手持证件照片不清晰" in lines[1], lines

    again = await recover(new, rec)
    again["version"] = (await rev.get(f"{APPS}/{again['id']}")).json["version"]
    r = await rev.decide(again["id"], "approve", again["version"])
    assert r.status == 200 and r.json["status"] == "approved", r.text
    lines = await status(sender, "o-st-new")  # the chat is still linked to the abandoned draft
    assert len(lines) == 2, lines
    assert lines[0].startswith("您的信息采集已审核通过") and rec["archive_no"] in lines[0]
    assert re.fullmatch(rf"您的账号找回已于 {DAY} 审核通过，档案已转到当前微信账号。", lines[1])
    duties = (await sender.ask("o-st-new", "查询继续教育")).content
    assert duties.startswith("您的会计人员状态：正常。"), duties  # the recovered archive's, not "collect first"


async def test_a_full_status_reply_reads_by_id_only(chat, person, apply_unit_admin, staff_client, monkeypatch):  # noqa: F811
    """Every read a full reply makes names documents by `_id` (FerretDB scans any other filter), and
    there are a bounded few: the link, record, account, archive, its newest later applications,
    the standing's inputs and the unit-administrator applications."""
    from pymongo.asynchronous.collection import AsyncCollection

    srv, sender = await chat()
    y0 = THIS_YEAR - 3
    client, rec = await person("st-reads", qualified=y0 - 1, running=srv)  # 异动
    await bind(sender, client, "o-st-reads")
    for credits in (10, 20, 30):
        await claim(client, credits=credits)
    await apply_unit_admin("st-reads", new_uscc(), running=srv)
    await apply_unit_admin("st-reads", new_uscc(), running=srv, unit_name="厦门第二示例有限公司")

    reads: list[tuple[str, object]] = []
    find = AsyncCollection.find

    def counted(self, filter=None, *args, **kwargs):
        reads.append((self.name, filter))
        return find(self, filter, *args, **kwargs)

    monkeypatch.setattr(AsyncCollection, "find", counted)
    lines = await status(sender, "o-st-reads")
    monkeypatch.undo()
    assert len(lines) == 5, lines  # record, claim (and 2 more), standing, two units
    assert all(isinstance(f, dict) and set(f) == {"_id"} for _, f in reads), reads
    assert len(reads) <= 20, reads
    print(f"\nstatus reply reads: {len(reads)}: {sorted(n for n, _ in reads)}")
