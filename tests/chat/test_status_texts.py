"""Chat status answers follow the tables: every state of every kind has words, none falls through."""

from __future__ import annotations

import datetime as dt
import re

from bson import ObjectId

from server.chat import texts
from server.chat.status import describe, describe_application, describe_change
from server.lifecycle.tables import CHANGE, COLLECTION, KINDS, TRANSFER_KINDS

AT = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def test_every_state_of_the_first_collection_has_its_own_answer():
    answers = {}
    for state in COLLECTION.states:
        record = {
            "status": state,
            "submitted_at": AT,
            "decided_at": AT,
            "archive_no": "X",
            "decision": {"reason": "证件不清晰"},
        }
        answers[state] = describe(record, "0592-0000000")
        assert answers[state] and "0592-0000000" not in answers[state], state  # not the "unknown" fallback
    assert len(set(answers.values())) == len(COLLECTION.states)
    assert "证件不清晰" in answers["rejected"] and "2026年11月30日" in answers["submitted"]


def test_every_state_of_a_change_has_words_and_is_said_after_an_approved_record():
    assert set(texts.STATUS_CHANGE) == set(CHANGE.states)
    approved = {"status": "approved", "decided_at": AT, "archive_no": "X"}
    for state in CHANGE.states:
        change = {
            "status": state,
            "submitted_at": AT,
            "decided_at": AT,
            "decision": {"reason": "材料不全"},
            "ordered": {"reason": "学历信息有误"},
        }
        said = describe_change(change)
        assert said and said in describe(approved, "0592-0000000", change), state
    assert "学历信息有误" in describe_change({"status": "ordered", "ordered": {"reason": "学历信息有误"}})
    assert "材料不全" in describe_change({"status": "rejected", "decision": {"reason": "材料不全"}})
    assert describe({"status": "draft"}, "x", {"status": "submitted"}) == texts.STATUS_DRAFT  # no archive yet


def transfer(kind: str, state: str, to: str = "海沧区") -> dict:
    """A transfer application as the tables write it (only what the chat reads)."""
    return {
        "kind": kind,
        "status": state,
        "region_code": "350203",
        "to_region": "350205",
        "payload": {"reason": "new_employer", "reason_label": "新单位", "to_region_name": to},
        "submitted_at": AT,
        "decided_at": AT,
        "decision": {"decision": state, "reason": "证明材料不清晰", "at": AT},
    }


def test_every_state_of_every_transfer_kind_has_words_that_format():
    assert set(texts.STATUS_TRANSFER) == set(TRANSFER_KINDS)
    fields = {"submitted": "2026年11月30日", "decided": "2026年11月30日", "reason": "材料不全", "to": "海沧区"}
    for name in TRANSFER_KINDS:
        assert set(texts.STATUS_TRANSFER[name]) == set(KINDS[name].states), name
        for state, text in texts.STATUS_TRANSFER[name].items():
            assert text.format(**fields), (name, state)  # no KeyError: only these placeholders
            said = describe_application(transfer(name, state))
            assert said and "{" not in said, (name, state)
        said_all = [describe_application(transfer(name, s)) for s in KINDS[name].states]
        assert len(set(said_all)) == len(said_all), name  # each state its own words
    assert texts.STATUS_TRANSFERRING.format(**fields)


def test_a_transfer_is_said_after_an_approved_record():
    approved = {"status": "approved", "decided_at": AT, "archive_no": "X"}
    released = describe(approved, "0592-0000000", transfer("transfer_within", "released"))
    assert released.startswith(describe(approved, "0592-0000000"))
    assert "海沧区" in released and re.search("等待.*接收", released)
    refused = describe(approved, "x", transfer("transfer_within", "refused"))
    assert "证明材料不清晰" in refused and "原管理地区" in refused
    out = describe(approved, "x", transfer("transfer_out", "approved", to="广东省深圳市"))
    assert "广东省深圳市" in out and "调转信息表" in out
    bare = describe_application({"kind": "transfer_within", "status": "released"})  # no payload, no dates
    assert "新的管理地区" in bare and "{" not in bare
    assert describe_application({"kind": "no_such_kind", "status": "submitted"}) == ""


def test_a_record_held_by_a_transfer_in_says_so():
    held = {"status": "transferring", "transfer_in": "x"}
    said = describe(held, "0592-0000000", transfer("transfer_in", "submitted", to="思明区"))
    assert "区外调入" in said and "思明区" in said and "2026年11月30日" in said
    assert said.count("区外调入") == 1  # the record's words only, not the transfer's again
    assert "区外调入" in describe(held, "0592-0000000")  # the transfer not found: still said
    # ended: a refused one is said after the draft it returned; an accepted one after the archive
    refused = describe({"status": "draft"}, "x", transfer("transfer_in", "refused"))
    assert refused.startswith(texts.STATUS_DRAFT) and "证明材料不清晰" in refused
    approved = {"status": "approved", "decided_at": AT, "archive_no": "X"}
    assert "区外调入" in describe(approved, "x", transfer("transfer_in", "accepted"))
    # an old refused transfer in is not news once the record was collected the ordinary way
    assert describe(approved, "x", transfer("transfer_in", "refused")) == describe(approved, "x")
    assert describe({"status": "submitted"}, "x", transfer("transfer_in", "refused")) == describe(
        {"status": "submitted"}, "x"
    )


async def test_status_by_chat_finds_the_transfer_in_of_a_held_or_returned_record(chat):
    server, sender = await chat()
    r = await sender.http.post("/api/v1/auth/login", json={"code": "demo:kai"})
    assert r.status == 200, r.text
    assert "尚未提交" in (await sender.ask("demo-chat-kai", "查询进度")).content  # linked by unionid
    apps = server.services.db["applications"]
    record = await apps.find_one({"openid": "demo-openid-kai"})
    moving = {**transfer("transfer_in", "submitted", to="思明区"), "_id": ObjectId(), "openid": "demo-openid-kai"}
    await apps.insert_one(moving)
    await apps.update_one(
        {"_id": record["_id"]},
        {"$set": {"status": "transferring", "transfer_in": moving["_id"], "transfers_in": [moving["_id"]]}},
    )
    reply = (await sender.ask("demo-chat-kai", "查询进度")).content
    assert "区外调入" in reply and "思明区" in reply and "2026年11月30日" in reply
    # refused: the record is a draft again and names the transfer only in `transfers_in`
    await apps.update_one({"_id": moving["_id"]}, {"$set": {"status": "refused"}})
    await apps.update_one({"_id": record["_id"]}, {"$set": {"status": "draft", "transfer_in": None}})
    reply = (await sender.ask("demo-chat-kai", "查询进度")).content
    assert "尚未提交" in reply and "区外调入申请未通过" in reply and "证明材料不清晰" in reply


def test_every_recovery_state_has_words_that_format():
    from server.lifecycle.tables import RECOVERY

    assert set(texts.STATUS_RECOVERY) == set(RECOVERY.states)
    for state in RECOVERY.states:
        said = describe_application({"kind": "recovery", "status": state, "decision": {"reason": "照片不清晰"}})
        assert said and "{" not in said, state
