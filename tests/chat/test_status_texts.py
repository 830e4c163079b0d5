"""Chat status answers follow the tables: every state of every kind has words, none falls through,
and each item is said only when it exists (pure: the reply is built from documents as stored)."""

from __future__ import annotations

import datetime as dt
import re
import string

from bson import ObjectId

from server.chat import texts
from server.chat.status import Facts, describe, describe_application, describe_standing, describe_unit
from server.duties import standing as rules
from server.lifecycle.store import new_step
from server.lifecycle.tables import COLLECTION, KINDS, TRANSFER_IN

AT = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
HOTLINE = "0592-0000000"
PLACEHOLDERS = {"submitted", "decided", "reason", "archive", "to", "unit", "claim", "granted"}
APPROVED = {"status": "approved", "decided_at": AT, "archive_no": "X"}


def application(kind: str, state: str, reason: str = "材料不全") -> dict:
    """An application of a kind in a state, as the engine stores it: the steps that led there (the
    last one into `state`, with its reason), the decision, and each kind's payload."""
    t = next((t for t in KINDS[kind].table if t.to == state), None)
    history = [new_step(1, "submit", None, "submitted", "self", "applicant", AT)]
    if t is not None and state != "submitted":
        history.append(new_step(2, t.action, t.state, state, "someone", t.actor, LATER, reason=reason))
    return {
        "_id": ObjectId(),
        "kind": kind,
        "status": state,
        "archive_no": "3502002026000123",
        "payload": {
            "to_region_name": "海沧区",
            "unit_name": "厦门示例会计服务有限公司",
            "uscc": "91350200MA0000000X",
            "year": 2025,
            "credits": 90,
        },
        "history": history,
        "submitted_at": AT,
        "decided_at": LATER if state != "submitted" else None,
        "decision": {"reason": reason, "at": LATER, "granted": {"credits": 80, "type": "professional"}},
        "ordered": {"reason": reason},
    }


def test_every_state_of_every_kind_has_its_own_words_that_format():
    """The one test over the tables: a state added to any kind without words here fails."""
    assert set(texts.STATUS) == set(KINDS), "a kind of tables.py without words (or words without a kind)"
    for name, kind in KINDS.items():
        assert set(texts.STATUS[name]) == set(kind.states), name
        said = {}
        for state, text in texts.STATUS[name].items():
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert used <= PLACEHOLDERS, (name, state, used - PLACEHOLDERS)
            said[state] = describe_application(application(name, state))
            assert said[state] and "{" not in said[state], (name, state)
            if "{reason}" in text:
                assert "材料不全" in said[state], (name, state)
            if "{decided}" in text:
                assert "2026年12月3日" in said[state], (name, state)  # the step into the state, not the submission
        assert len(set(said.values())) == len(said), name  # each state its own words


def test_missing_fields_have_words_too():
    for name, kind in KINDS.items():
        for state in kind.states:
            bare = describe_application({"kind": name, "status": state})  # no payload, no dates, no reason
            assert bare and "{" not in bare and "None" not in bare, (name, state)
    assert "新的管理地区" in describe_application({"kind": "transfer_within", "status": "released"})
    assert texts.STATUS_GRANTED_UNKNOWN in describe_application({"kind": "ce_claim", "status": "approved"})
    assert describe_application({"kind": "no_such_kind", "status": "submitted"}) == ""
    assert describe_application({"kind": "change", "status": "no_such_state"}) == ""
    assert describe_application({"status": "submitted"}).startswith("您的信息变更申请")  # a change before `kind`


def test_every_state_of_the_first_collection_has_its_own_answer():
    answers = {}
    for state in COLLECTION.states:
        record = {**application("collection", state, "证件不清晰"), "archive_no": "X"}
        answers[state] = describe(Facts(record), HOTLINE)
        assert answers[state] and HOTLINE not in answers[state], state  # not the "unknown" fallback
    assert len(set(answers.values())) == len(COLLECTION.states)
    assert "证件不清晰" in answers["rejected"] and "2026年11月30日" in answers["submitted"]
    assert "会计档案号：X。" in answers["approved"]
    assert HOTLINE in describe(Facts({"status": "archived_somehow"}), HOTLINE)
    assert describe(Facts(None), HOTLINE) == texts.STATUS_NO_RECORD


def test_the_latest_application_is_said_after_an_archive_only():
    approved = describe(Facts(APPROVED), HOTLINE)
    for name in ("change", "transfer_within", "transfer_out", "recovery"):
        for state in KINDS[name].states:
            app = application(name, state)
            assert describe(Facts(APPROVED, latest=app), HOTLINE) == f"{approved}\n{describe_application(app)}"
            assert describe(Facts({"status": "draft"}, latest=app), HOTLINE) == texts.STATUS["collection"]["draft"]
    ordered = describe_application({"status": "ordered", "ordered": {"reason": "学历信息有误"}})
    assert "学历信息有误" in ordered


def test_a_transfer_names_its_destination_and_step():
    released = describe(Facts(APPROVED, latest=application("transfer_within", "released")), HOTLINE)
    assert "海沧区" in released and re.search("等待.*接收", released)
    refused = describe(Facts(APPROVED, latest=application("transfer_within", "refused", "证明材料不清晰")), HOTLINE)
    assert "证明材料不清晰" in refused and "原管理地区" in refused
    out = describe_application(
        {**application("transfer_out", "approved"), "payload": {"to_region_name": "广东省深圳市"}}
    )
    assert "广东省深圳市" in out and "调转信息表" in out


def test_a_record_held_by_a_transfer_in_says_so():
    held = {"status": "transferring", "transfer_in": "x"}
    moving = {**application(TRANSFER_IN.name, "submitted"), "payload": {"to_region_name": "思明区"}}
    said = describe(Facts(held, latest=moving), HOTLINE)
    assert "区外调入" in said and "思明区" in said and "2026年11月30日" in said
    assert said.count("区外调入") == 1  # the record's words only, not the transfer's again
    assert "区外调入" in describe(Facts(held), HOTLINE)  # the transfer not found: still said
    refused = describe(
        Facts({"status": "draft"}, latest=application("transfer_in", "refused", "证明材料不清晰")), HOTLINE
    )
    assert refused.startswith(texts.STATUS["collection"]["draft"]) and "证明材料不清晰" in refused
    assert "区外调入" in describe(Facts(APPROVED, latest=application("transfer_in", "accepted")), HOTLINE)
    # an old refused transfer in is not news once the record was collected the ordinary way
    old = application("transfer_in", "refused")
    assert describe(Facts(APPROVED, latest=old), HOTLINE) == describe(Facts(APPROVED), HOTLINE)
    submitted = {"status": "submitted", "submitted_at": AT}
    assert describe(Facts(submitted, latest=old), HOTLINE) == describe(Facts(submitted), HOTLINE)


def test_an_account_recovery_is_said_to_the_account_that_applied():
    draft = {"status": "draft"}
    waiting = describe(Facts(draft, recovery=application("recovery", "submitted")), HOTLINE)
    assert waiting == describe_application(application("recovery", "submitted"))  # not "fill in your draft"
    assert describe(Facts(None, recovery=application("recovery", "submitted")), HOTLINE).startswith("您的账号找回申请")
    refused = describe(Facts(draft, recovery=application("recovery", "rejected", "照片不清晰")), HOTLINE)
    assert refused.startswith(texts.STATUS["collection"]["draft"]) and "照片不清晰" in refused
    assert "没有转到当前微信账号" in refused
    # once moved here, the recovery is the archive's: said as its latest application, once
    moved = application("recovery", "approved")
    said = describe(Facts(APPROVED, latest=moved, recovery=moved), HOTLINE)
    assert said.count("账号找回") == 1 and "档案已转到当前微信账号" in said
    # an old refused recovery is not news to an account that has an archive of its own
    assert describe(Facts(APPROVED, recovery=application("recovery", "rejected")), HOTLINE) == describe(
        Facts(APPROVED), HOTLINE
    )


def test_the_unit_confirmation_is_said_when_pending_or_denied():
    assert describe_unit(None) == describe_unit({"state": "confirmed", "unit_name": "甲"}) == ""
    assert "尚未进行报备确认" in describe_unit({"state": "pending", "unit_name": "甲"})
    assert "本区要求" in describe_unit({"state": "pending"}, required=True)
    assert "不是本单位员工" in describe_unit({"state": "denied", "reason": "不是本单位员工"})
    submitted = {"status": "submitted", "submitted_at": AT}
    said = describe(Facts(submitted, unit={"state": "pending", "unit_name": "甲"}, required=True), HOTLINE)
    assert "本区要求" in said
    said = describe(Facts(APPROVED, unit={"state": "pending", "unit_name": "甲"}, required=True), HOTLINE)
    assert "尚未进行报备确认" in said and "本区要求" not in said  # already approved: nothing waits for it


def test_claims_say_the_open_one_and_how_many_more():
    open_one = application("ce_claim", "submitted")
    said = describe(Facts(APPROVED, claim=open_one, open_claims=3), HOTLINE).split("\n")
    assert len(said) == 2 and "（2025年度，申请90学分）" in said[1] and "另有2项" in said[1]
    said = describe(Facts(APPROVED, claim=open_one, open_claims=1), HOTLINE)
    assert "另有" not in said
    granted = describe(Facts(APPROVED, claim=application("ce_claim", "approved")), HOTLINE)
    assert "认定2025年度专业科目80学分" in granted


def test_the_standing_is_said_only_when_it_is_not_normal():
    assert set(texts.STATUS_STANDING) == set(rules.STANDING_LABELS) - {rules.NORMAL}
    for code, text in texts.STATUS_STANDING.items():
        assert rules.STANDING_LABELS[code] in text and "查询继续教育" in text
    abnormal = {"standing": "abnormal", "abnormal_years": [2022, 2023, 2024]}
    said = describe_standing({**abnormal, "reason": rules.reason(abnormal)})
    assert "异动" in said and "2022、2023、2024年度" in said and "“查询继续教育”" in said
    assert describe_standing(abnormal) == said  # the reason derived when the preview has none
    missing = {
        "standing": "not_in_post",
        "assessment_code": "assessment_missing",
        "missing_assessment_years": [2024, 2025],
    }
    assert "非在岗" in describe_standing(missing) and "2024、2025年度" in describe_standing(missing)
    assert describe_standing({"standing": "normal", "reason": "x"}) == describe_standing(None) == ""
    assert describe(Facts(APPROVED, standing={"standing": "normal"}), HOTLINE) == describe(Facts(APPROVED), HOTLINE)


def test_every_item_one_line_in_order():
    everything = Facts(
        {**APPROVED, "status": "submitted", "submitted_at": AT},
        recovery=application("recovery", "submitted"),
        unit={"state": "pending", "unit_name": "甲"},
        claim=application("ce_claim", "submitted"),
        open_claims=1,
        standing={"standing": "abnormal", "abnormal_years": [2022, 2023, 2024]},
        unit_admins=[application("unit_admin", "verified"), application("unit_admin", "rejected", "执照模糊")],
    )
    lines = describe(everything, HOTLINE).split("\n")
    assert [line[:6] for line in lines] == [
        "您的信息采集",
        "您的账号找回",
        "您填写的工作",
        "您的视同继续",
        "您的会计人员",
        "您已于 20",
        "您申请成为厦",
    ], lines


def test_long_reasons_are_cut_and_a_reply_too_long_for_one_message_gives_way():
    long = "原因" * 150  # 300 characters: more than any form allows
    clipped = describe_application(application("change", "rejected", long))
    assert "原因原因" in clipped and "…" in clipped and len(clipped) < 120
    everything = Facts(
        {**application("collection", "rejected", long), "archive_no": "X"},
        recovery=application("recovery", "rejected", long),
        unit={"state": "denied", "unit_name": "单" * 100, "reason": long},
        claim=application("ce_claim", "rejected", long),
        unit_admins=[
            {**application("unit_admin", "revoked", long), "payload": {"unit_name": f"{n}" * 100}} for n in range(3)
        ],
    )
    said = describe(everything, HOTLINE)
    assert len(said.encode()) <= 2000 < 2048  # a passive reply stays within WeChat's text limit
    lines = said.split("\n")
    assert lines[0].startswith("您的信息采集未通过审核") and lines[-1] == texts.STATUS_MORE
    assert 2 < len(lines) < 7


async def test_status_by_chat_finds_the_transfer_in_of_a_held_or_returned_record(chat):
    server, sender = await chat()
    r = await sender.http.post("/api/v1/auth/login", json={"code": "demo:kai"})
    assert r.status == 200, r.text
    assert "尚未提交" in (await sender.ask("demo-chat-kai", "查询进度")).content  # linked by unionid
    apps = server.services.db["applications"]
    record = await apps.find_one({"openid": "demo-openid-kai"})
    moving = {
        **application("transfer_in", "submitted"),
        "payload": {"to_region_name": "思明区"},
        "openid": "demo-openid-kai",
    }
    await apps.insert_one(moving)
    await apps.update_one(
        {"_id": record["_id"]},
        {"$set": {"status": "transferring", "transfer_in": moving["_id"], "transfers_in": [moving["_id"]]}},
    )
    reply = (await sender.ask("demo-chat-kai", "查询进度")).content
    assert "区外调入" in reply and "思明区" in reply and "2026年11月30日" in reply
    # refused: the record is a draft again and names the transfer only in `transfers_in`
    await apps.update_one(
        {"_id": moving["_id"]}, {"$set": {"status": "refused", "decision": {"reason": "证明材料不清晰"}}}
    )
    await apps.update_one({"_id": record["_id"]}, {"$set": {"status": "draft", "transfer_in": None}})
    reply = (await sender.ask("demo-chat-kai", "查询进度")).content
    assert "尚未提交" in reply and "区外调入申请未通过" in reply and "证明材料不清晰" in reply
