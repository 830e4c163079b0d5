"""Unanswered questions grouped by similarity (server/chat/miss_groups.py) and resolved by staff:
misses recorded through the real webhook, the staff API over real HTTP, a second server process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.chat import miss_groups
from tests.chat.conftest import WeChatSender, event_xml
from tests.chat.test_admin_faq import staff  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
GROUPS = "/admin/api/faq/miss-groups"
# Three wordings each of two questions no topic claims, and one out of the FAQ's scope.
WATER = {"办事大厅有没有饮水机": 3, "办事大厅有饮水机吗": 2, "大厅有没有饮水机": 1}
COLLEAGUE = {"可以让同事帮我填写吗": 2, "可以让同事帮忙填写吗": 1, "同事帮我填写可以吗": 1}
WEATHER = "今天天气怎么样"
TOPIC = "how_to_collect"
NEW_TOPIC = {
    "action": "create_topic",
    "id": "water_dispenser",
    "title": "办事大厅的饮水机",
    "answer": "办事大厅一楼设有饮水机，可自行取用。",
    "keywords": ["饮水机"],
    "examples": ["办事大厅有没有饮水机"],
}


async def ask_all(sender, questions: dict[str, int], openid: str = "o-g") -> None:
    for question, times in questions.items():
        for _ in range(times):
            await sender.ask(openid, question)


async def groups_of(client) -> dict:
    r = await client.get(GROUPS)
    assert r.status == 200, r.text
    return r.json


def by_question(page: dict) -> dict[str, dict]:
    return {g["question"]: g for g in page["items"]}


async def topic_answer(sender, topic_id: str, created: int) -> str:
    """The topic's answer as this server renders it (its menu button)."""
    return (await sender.send(event_xml("o-answer", "CLICK", f"FAQ:{topic_id}", created=created))).content


async def test_similar_misses_are_grouped_with_counts_most_asked_first(chat, staff):  # noqa: F811
    server, sender = await chat()
    await ask_all(sender, WATER)
    await ask_all(sender, COLLEAGUE)
    await sender.ask("o-g", WEATHER)
    admin = await staff(server)
    page = await groups_of(admin)
    assert (page["total"], page["misses_grouped"], page["misses_total"]) == (3, 7, 7), page
    water, colleague, weather = page["items"]
    assert water["question"] == "办事大厅有没有饮水机" and water["count"] == 6 and water["size"] == 3
    assert [(m["question"], m["count"]) for m in water["members"]] == list(WATER.items())
    assert water["first_at"] <= water["last_at"] and water["out_of_scope_share"] == 0
    assert water["topics"] and all(t["title"] and t["count"] >= 1 for t in water["topics"])
    assert colleague["question"] == "可以让同事帮我填写吗" and colleague["count"] == 4
    members = [(m["question"], m["count"]) for m in colleague["members"]]
    assert members[0] == ("可以让同事帮我填写吗", 2) and sorted(members) == sorted(COLLEAGUE.items())
    assert members[1][0] == "同事帮我填写可以吗"  # of equal counts, the most recently asked first
    assert weather["question"] == WEATHER and weather["size"] == 1 and weather["out_of_scope_share"] == 1
    # the id is the leader's miss id, the same on every call and in the one-by-one list
    misses = {m["question"]: m["id"] for m in (await admin.get("/admin/api/faq/misses")).json["items"]}
    assert water["id"] == misses["办事大厅有没有饮水机"] and (await groups_of(admin))["items"][0]["id"] == water["id"]
    # one more ask of a member: the same groups, one more in the count
    await sender.ask("o-g", "大厅有没有饮水机")
    again = by_question(await groups_of(admin))
    assert again["办事大厅有没有饮水机"]["id"] == water["id"] and again["办事大厅有没有饮水机"]["count"] == 7
    # paging
    second = (await admin.get(f"{GROUPS}?limit=1&offset=1")).json
    assert [g["id"] for g in second["items"]] == [colleague["id"]] and second["total"] == 3
    for bad in ("limit=0", "limit=201", "offset=-1", "limit=x"):
        r = await admin.get(f"{GROUPS}?{bad}")
        assert (r.status, r.error_code) == (400, "invalid_argument"), bad


async def test_adding_a_group_to_a_topic_answers_its_questions_and_forgets_them(chat, staff):  # noqa: F811
    server, sender = await chat()
    await ask_all(sender, COLLEAGUE)
    await ask_all(sender, WATER)
    admin = await staff(server)
    group = by_question(await groups_of(admin))["可以让同事帮我填写吗"]
    expected = await topic_answer(sender, TOPIC, created=1700000101)
    assert expected and (await sender.ask("o-before", "可以让同事帮我填写吗")).content != expected
    before = (await admin.get(f"/admin/api/faq/topics/{TOPIC}")).json
    body = {
        "action": "add_to_topic",
        "topic": TOPIC,
        "examples": list(COLLEAGUE),
        "keywords": ["同事代填", before["keywords"][0]],  # one the topic has already: not added twice
    }
    r = await admin.send("POST", f"{GROUPS}/{group['id']}/resolve", body)
    assert r.status == 200, r.text
    assert r.json["forgotten"] == 3 and r.json["action"] == "add_to_topic" and r.json["group"] == group["id"]
    assert r.json["added"] == {"keywords": ["同事代填"], "examples": list(COLLEAGUE)}
    topic = r.json["topic"]
    assert topic["keywords"] == before["keywords"] + ["同事代填"]
    assert topic["examples"] == before["examples"] + list(COLLEAGUE) and topic["updated_by"] == "admin"
    # the next message with each wording is answered by that topic, at once in this process
    for question in COLLEAGUE:
        assert (await sender.ask("o-after", question)).content == expected, question
    # the group and its misses are gone; the other group stays; a second resolve finds nothing
    left = await groups_of(admin)
    assert [g["question"] for g in left["items"]] == ["办事大厅有没有饮水机"] and left["misses_total"] == 3
    assert {m["question"] for m in (await admin.get("/admin/api/faq/misses")).json["items"]} == set(WATER)
    r = await admin.send("POST", f"{GROUPS}/{group['id']}/resolve", body)
    assert (r.status, r.error_code) == (404, "faq_miss_group_not_found")
    # adding the same again changes nothing in the topic
    version = await server.services.db["faq_meta"].find_one({"_id": "topics"})
    water = by_question(await groups_of(admin))["办事大厅有没有饮水机"]
    r = await admin.send("POST", f"{GROUPS}/{water['id']}/resolve", {**body, "examples": ["可以讓同事幫我填寫嗎"]})
    assert r.status == 200 and r.json["added"] == {"keywords": [], "examples": []} and r.json["forgotten"] == 3
    assert await server.services.db["faq_meta"].find_one({"_id": "topics"}) == version


async def test_creating_a_topic_from_a_group(chat, staff):  # noqa: F811
    server, sender = await chat()
    await ask_all(sender, WATER)
    admin = await staff(server)
    group = by_question(await groups_of(admin))["办事大厅有没有饮水机"]
    r = await admin.send("POST", f"{GROUPS}/{group['id']}/resolve", NEW_TOPIC)
    assert r.status == 200, r.text
    assert r.json["topic"]["id"] == "water_dispenser" and r.json["topic"]["source"] == "staff"
    assert r.json["forgotten"] == 3 and r.json["added"]["keywords"] == ["饮水机"]
    for question in WATER:
        assert (await sender.ask("o-w", question)).content == NEW_TOPIC["answer"], question
    assert (await groups_of(admin))["total"] == 0
    assert (await admin.get("/admin/api/faq/topics/water_dispenser")).json["title"] == "办事大厅的饮水机"


async def test_only_a_city_admin_resolves_and_writes_need_xsrf(chat, staff, http_factory):  # noqa: F811
    server, sender = await chat()
    await ask_all(sender, WATER)
    reviewer = await staff(server, "rev", "reviewer")
    page = await groups_of(reviewer)  # every staff member reads
    gid = page["items"][0]["id"]
    body = {"action": "add_to_topic", "topic": TOPIC, "examples": ["办事大厅有没有饮水机"]}
    r = await reviewer.send("POST", f"{GROUPS}/{gid}/resolve", body)
    assert (r.status, r.error_code) == (403, "faq_admin_only")
    assert (await http_factory(server).get(GROUPS)).status == 401
    admin = await staff(server)
    assert (await admin.send("POST", f"{GROUPS}/{gid}/resolve", body, xsrf=False)).status == 403
    assert (await groups_of(admin))["items"][0]["size"] == 3
    assert await server.services.db["faq_topics"].count_documents({}) == 0


BAD_BODIES = [
    ({}, 422, "validation_failed", "action"),
    ({"action": "merge"}, 422, "validation_failed", "action"),
    ({"action": "add_to_topic", "examples": ["x"]}, 422, "validation_failed", "topic"),
    ({"action": "add_to_topic", "topic": "Bad Topic", "examples": ["x"]}, 422, "validation_failed", "topic"),
    ({"action": "add_to_topic", "topic": "no_such_topic", "examples": ["x"]}, 422, "validation_failed", "topic"),
    ({"action": "add_to_topic", "topic": TOPIC}, 422, "validation_failed", "keywords"),
    ({"action": "add_to_topic", "topic": TOPIC, "keywords": ["  "]}, 422, "validation_failed", "keywords"),
    ({"action": "add_to_topic", "topic": TOPIC, "keywords": "饮水机"}, 422, "validation_failed", "keywords"),
    ({"action": "add_to_topic", "topic": TOPIC, "keywords": ["长" * 31]}, 422, "validation_failed", "keywords"),
    ({"action": "add_to_topic", "topic": TOPIC, "examples": ["饮水\x00机"]}, 422, "validation_failed", "examples"),
    ({"action": "add_to_topic", "topic": TOPIC, "examples": [1]}, 422, "validation_failed", "examples"),
    ({"action": "add_to_topic", "topic": TOPIC, "examples": ["x"], "title": "t"}, 422, "validation_failed", "title"),
    ({**NEW_TOPIC, "id": "transfer"}, 409, "faq_topic_exists", None),
    ({**NEW_TOPIC, "id": "Bad Id"}, 422, "validation_failed", "id"),
    ({k: v for k, v in NEW_TOPIC.items() if k != "answer"}, 422, "validation_failed", "answer"),
    ({**NEW_TOPIC, "keywords": [], "examples": []}, 422, "validation_failed", "keywords"),
    ({**NEW_TOPIC, "topic": TOPIC}, 422, "validation_failed", "topic"),
    ({**NEW_TOPIC, "disabled": True}, 422, "validation_failed", "disabled"),
]


@pytest.mark.parametrize("body, status, code, field", BAD_BODIES)
async def test_bad_bodies_are_refused_and_change_nothing(chat, staff, body, status, code, field):  # noqa: F811
    server, sender = await chat()
    await ask_all(sender, WATER)
    admin = await staff(server)
    gid = (await groups_of(admin))["items"][0]["id"]
    r = await admin.send("POST", f"{GROUPS}/{gid}/resolve", body)
    assert (r.status, r.error_code) == (status, code), r.text
    assert r.json["error"]["message"]
    if field:
        assert field in [f["field"] for f in r.json["error"]["fields"]], r.text
        assert all(f["message"] for f in r.json["error"]["fields"])
    assert await server.services.db["faq_topics"].count_documents({}) == 0
    assert (await groups_of(admin))["items"][0]["size"] == 3


async def test_unknown_stale_and_malformed_requests(chat, staff):  # noqa: F811
    server, sender = await chat()
    await ask_all(sender, WATER)
    admin = await staff(server)
    group = (await groups_of(admin))["items"][0]
    body = {"action": "add_to_topic", "topic": TOPIC, "examples": ["饮水机"]}
    r = await admin.send("POST", f"{GROUPS}/{'0' * 20}/resolve", body)
    assert (r.status, r.error_code) == (404, "faq_miss_group_not_found")
    assert (await admin.send("POST", f"{GROUPS}/not-an-id/resolve", body)).status == 404
    member = group["members"][1]["id"]  # a miss that is in a group but does not lead it
    r = await admin.send("POST", f"{GROUPS}/{member}/resolve", body)
    assert (r.status, r.error_code) == (409, "faq_miss_group_changed") and "刷新" in r.json["error"]["message"]
    url = f"{GROUPS}/{group['id']}/resolve"
    headers = {"X-XSRF-Token": admin.xsrf, "Content-Type": "application/json"}
    for raw, code in ((b"{not json", "malformed_json"), (b"[1, 2]", "body_not_object"), (b"", "body_required")):
        r = await admin.http.request("POST", url, raw=raw, headers=headers)
        assert (r.status, r.error_code) == (400, code), raw
    # a disabled topic takes nothing (it would not answer)
    assert (await admin.send("PATCH", f"/admin/api/faq/topics/{TOPIC}", {"disabled": True})).status == 200
    r = await admin.send("POST", url, body)
    assert (r.status, r.error_code) == (409, "faq_topic_disabled")
    # a topic's list stays within its limit
    r = await admin.send(
        "PATCH", f"/admin/api/faq/topics/{TOPIC}", {"disabled": False, "examples": [f"示例{i}" for i in range(100)]}
    )
    assert r.status == 200, r.text
    r = await admin.send("POST", url, body)
    assert (r.status, r.error_code) == (422, "validation_failed")
    assert r.json["error"]["fields"][0]["code"] == "too_many" and "100" in r.json["error"]["fields"][0]["message"]
    assert (await groups_of(admin))["items"][0]["size"] == 3
    assert len((await admin.get(f"/admin/api/faq/topics/{TOPIC}")).json["examples"]) == 100


async def test_only_the_most_frequent_misses_are_grouped(chat, staff, monkeypatch):  # noqa: F811
    server, sender = await chat()
    await ask_all(sender, WATER)
    await sender.ask("o-g", WEATHER)
    monkeypatch.setattr(miss_groups, "MAX_MISSES", 2)
    admin = await staff(server)
    page = await groups_of(admin)
    assert (page["misses_grouped"], page["misses_total"]) == (2, 4)
    assert [(g["question"], g["size"], g["count"]) for g in page["items"]] == [("办事大厅有没有饮水机", 2, 5)]


async def test_a_large_group_lists_fifty_members_and_is_forgotten_whole(chat, staff):  # noqa: F811
    server, sender = await chat()
    wordings = {f"办事大厅有没有饮水机{i}": 1 for i in range(55)}  # numbers are no feature: one group
    await ask_all(sender, wordings)
    admin = await staff(server)
    page = await groups_of(admin)
    (group,) = page["items"]
    assert (group["size"], group["count"], len(group["members"])) == (55, 55, 50)
    r = await admin.send("POST", f"{GROUPS}/{group['id']}/resolve", NEW_TOPIC)
    assert r.status == 200 and r.json["forgotten"] == 55, r.text  # two batches of the list and bulk deletes
    assert (await groups_of(admin))["misses_total"] == 0
    assert await server.services.db["chat_misses"].count_documents({}) == 0


async def test_a_resolved_group_reaches_another_instance(chat, make_server, chat_settings, http_factory, staff):  # noqa: F811
    a, sender_a = await chat()
    b = await make_server(background=True, faq_reload_seconds=0.2, **chat_settings("plaintext"))
    sender_b = WeChatSender(http_factory(b), "plaintext")
    await ask_all(sender_b, WATER)  # recorded by the other process
    admin = await staff(a)
    group = (await groups_of(admin))["items"][0]
    assert group["count"] == 6
    r = await admin.send("POST", f"{GROUPS}/{group['id']}/resolve", NEW_TOPIC)
    assert r.status == 200, r.text
    reply = None
    for _ in range(100):  # b reloads on its next version check (every 0.2 s)
        reply = await sender_b.ask("o-b", "大厅有没有饮水机")
        if reply.content == NEW_TOPIC["answer"]:
            break
        await asyncio.sleep(0.1)
    assert reply is not None and reply.content == NEW_TOPIC["answer"]


def test_grouping_is_the_same_whatever_the_hash_seed():
    """Feature sets iterate in a per-process order (string hashing); the groups must not depend on it."""
    rows = [
        {"id": f"{i:020x}", "question": q, "count": 10 - i}
        for i, q in enumerate([*WATER, *COLLEAGUE, WEATHER, "饮水机在哪", "同事代填可以吗"])
    ]
    script = (
        "import json, sys\n"
        "from server.chat.miss_groups import group_misses\n"
        "rows = json.loads(sys.stdin.read())\n"
        "print(json.dumps([[g['id'], [m['id'] for m in g['members']]] for g in group_misses(rows)]))\n"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(rows),
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.add(done.stdout.strip().splitlines()[-1])
    assert len(outputs) == 1, outputs
    groups = json.loads(outputs.pop())
    assert groups[0][1][:3] == [r["id"] for r in rows[:3]]  # the water wordings lead and join one group
