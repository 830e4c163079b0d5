"""Staff FAQ administration: misses with counts, add/edit/disable topics, reaching other instances."""

from __future__ import annotations

import asyncio

import pytest

from server.staff import StaffAccounts
from tests.chat.conftest import WeChatSender, answer_of, event_xml, miss_question

PASSWORD = "correct-horse-42"


class Staff:
    """A signed-in staff member (cookie + XSRF header on writes)."""

    def __init__(self, http, xsrf: str):
        self.http, self.xsrf = http, xsrf

    async def get(self, path: str):
        return await self.http.get(path)

    async def send(self, method: str, path: str, json=None, xsrf: bool = True):
        headers = {"X-XSRF-Token": self.xsrf} if xsrf else {}
        return await self.http.request(method, path, json=json if json is not None else {}, headers=headers)


@pytest.fixture
def staff(http_factory):
    """Factory: create a staff account on a server and sign it in."""

    async def _make(server, username: str = "admin", role: str = "city_admin") -> Staff:
        regions = [] if role == "city_admin" else ["350203"]
        await server.services.get(StaffAccounts).add(username, role, regions, PASSWORD)
        http = http_factory(server)
        r = await http.post("/admin/api/login", json={"username": username, "password": PASSWORD})
        assert r.status == 200, r.text
        return Staff(http, r.json["xsrf_token"])

    return _make


NEW_TOPIC = {
    "id": "social_security",
    "title": "社保缴纳证明怎么开",
    "answer": "社保缴纳证明可在社保网上服务大厅打印。咨询电话：{hotline}",
    "keywords": ["社保证明", "社保缴纳证明"],
    "examples": ["社保缴纳证明在哪里开"],
}


async def test_misses_are_listed_with_counts_most_frequent_first(chat, staff):
    server, sender = await chat()
    question, offered = miss_question()
    for _ in range(3):
        await sender.ask("o-m", question)
    await sender.ask("o-m", "今天天气怎么样")
    admin = await staff(server)
    r = await admin.get("/admin/api/faq/misses")
    assert r.status == 200
    items = r.json["items"]
    assert r.json["total"] == 2 and items[0]["question"] == question and items[0]["count"] == 3
    assert items[1]["count"] == 1
    assert [c["id"] for c in items[0]["candidates"]] == offered and all(c["title"] for c in items[0]["candidates"])
    reviewer = await staff(server, "rev", "reviewer")
    assert (await reviewer.get("/admin/api/faq/misses?limit=1")).json["items"] == items[:1]
    assert (await sender.http.get("/admin/api/faq/misses")).status == 401
    assert (await reviewer.send("DELETE", f"/admin/api/faq/misses/{items[1]['id']}")).status == 403
    assert (await admin.send("DELETE", f"/admin/api/faq/misses/{items[1]['id']}")).status == 204
    assert (await admin.get("/admin/api/faq/misses")).json["total"] == 1
    assert (await admin.send("DELETE", f"/admin/api/faq/misses/{items[1]['id']}")).status == 404


async def test_misses_stored_before_the_list_are_listed_once_in_order(chat, staff):
    """A deployment's misses in the old shape (documents only) appear in the staff list, once."""
    import datetime as dt

    from server.db import utcnow

    server, sender = await chat()
    now = utcnow()
    old = [
        {
            "_id": f"old{i:017d}",
            "question": f"旧问题{i}",
            "sample": f"旧问题{i}",
            "count": c,
            "candidates": [],
            "first_at": now,
            "last_at": now - dt.timedelta(minutes=i),
        }
        for i, c in enumerate([2, 9, 2, 5])
    ]
    await server.services.db["chat_misses"].insert_many(old)
    admin = await staff(server)
    first = (await admin.get("/admin/api/faq/misses")).json
    assert [i["question"] for i in first["items"]] == ["旧问题1", "旧问题3", "旧问题0", "旧问题2"]
    assert first["total"] == 4
    question, _ = miss_question()
    await sender.ask("o-old", question)  # a new miss after the listing joins the same list
    again = (await admin.get("/admin/api/faq/misses")).json
    assert again["total"] == 5 and [i["question"] for i in again["items"]][:2] == ["旧问题1", "旧问题3"]
    assert await server.services.db["meta"].count_documents({"_id": "faq_misses_listed_v1"}) == 1


async def test_an_added_topic_reaches_another_instance_without_a_restart(
    chat, make_server, chat_settings, http_factory, staff
):
    a, sender_a = await chat(hotline="0592-2222222")
    b = await make_server(background=True, faq_reload_seconds=0.2, **chat_settings("plaintext", hotline="0592-2222222"))
    sender_b = WeChatSender(http_factory(b), "plaintext")
    before = await sender_b.ask("o-ss", "社保缴纳证明在哪里开")
    assert "社保网上服务大厅" not in (before.content or "")
    admin = await staff(a)
    r = await admin.send("POST", "/admin/api/faq/topics", NEW_TOPIC)
    assert r.status == 201, r.text
    assert r.json["source"] == "staff" and r.json["updated_by"] == "admin"
    now_a = await sender_a.ask("o-ss", "社保缴纳证明在哪里开")  # the process that made the change: at once
    assert "社保网上服务大厅" in now_a.content and "0592-2222222" in now_a.content
    for _ in range(100):  # the other process: on its next version check
        reply = await sender_b.ask("o-ss", "社保缴纳证明在哪里开")
        if "社保网上服务大厅" in (reply.content or ""):
            break
        await asyncio.sleep(0.1)
    assert "社保网上服务大厅" in reply.content


async def test_editing_a_builtin_topic_changes_its_answer_and_keeps_the_rest(chat, staff):
    server, sender = await chat()
    admin = await staff(server)
    r = await admin.send(
        "PATCH", "/admin/api/faq/topics/photo_spec", {"answer": "新的照片要求：白底，{photo_max_kb}KB 以内。"}
    )
    assert r.status == 200, r.text
    assert r.json["source"] == "builtin" and r.json["edited"] is True and r.json["keywords"]
    reply = await sender.ask("o-p", "照片有什么要求")
    assert reply.content == "新的照片要求：白底，20KB 以内。"
    listed = {t["id"]: t for t in (await admin.get("/admin/api/faq/topics")).json["topics"]}
    assert listed["photo_spec"]["answer"].startswith("新的照片要求") and listed["transfer"]["edited"] is False


async def test_disabling_and_re_enabling_a_topic(chat, staff):
    server, sender = await chat()
    admin = await staff(server)
    assert (await admin.send("PATCH", "/admin/api/faq/topics/transfer", {"disabled": True})).status == 200
    click = await sender.send(event_xml("o-d", "CLICK", "FAQ:transfer", created=1700000001))
    assert "下线" in click.content
    reply = await sender.ask("o-d", "会计档案调转怎么办理")
    assert reply.content != answer_of("transfer")
    topic = (await admin.get("/admin/api/faq/topics/transfer")).json
    assert topic["disabled"] is True and topic["title"]
    assert (await admin.send("PATCH", "/admin/api/faq/topics/transfer", {"disabled": False})).status == 200
    reply = await sender.ask("o-d", "会计档案调转怎么办理")
    assert reply.content == answer_of("transfer")


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({**NEW_TOPIC, "id": "Bad Id"}, 422, "validation_failed"),
        ({**NEW_TOPIC, "id": "transfer"}, 409, "faq_topic_exists"),
        ({k: v for k, v in NEW_TOPIC.items() if k != "title"}, 422, "validation_failed"),
        ({**NEW_TOPIC, "keywords": [], "examples": []}, 422, "validation_failed"),
        ({**NEW_TOPIC, "answer": "长" * 601}, 422, "validation_failed"),
        ({**NEW_TOPIC, "keywords": "社保"}, 422, "validation_failed"),
        ({**NEW_TOPIC, "colour": "red"}, 422, "validation_failed"),
        ({**NEW_TOPIC, "keywords": ["社保\x00"]}, 422, "validation_failed"),  # NUL and control characters
        ({**NEW_TOPIC, "examples": ["怎么\x1b[31m办"]}, 422, "validation_failed"),
        ({**NEW_TOPIC, "title": "标题\n换行"}, 422, "validation_failed"),
        ({**NEW_TOPIC, "answer": "答案\x07"}, 422, "validation_failed"),
    ],
)
async def test_invalid_topics_are_refused(chat, staff, body, status, code):
    server, _ = await chat()
    admin = await staff(server)
    r = await admin.send("POST", "/admin/api/faq/topics", body)
    assert (r.status, r.error_code) == (status, code), r.text
    assert await server.services.db["faq_topics"].count_documents({}) == 0


async def test_only_a_city_admin_changes_topics_and_writes_need_xsrf(chat, staff):
    server, _ = await chat()
    reviewer = await staff(server, "rev", "reviewer")
    assert (await reviewer.get("/admin/api/faq/topics")).status == 200
    r = await reviewer.send("POST", "/admin/api/faq/topics", NEW_TOPIC)
    assert (r.status, r.error_code) == (403, "faq_admin_only")
    admin = await staff(server)
    assert (await admin.send("POST", "/admin/api/faq/topics", NEW_TOPIC, xsrf=False)).status == 403
    assert (await admin.send("PATCH", "/admin/api/faq/topics/no_such_topic", {"title": "x"})).status == 404
    assert (await admin.send("PATCH", "/admin/api/faq/topics/transfer", {})).status == 422
    assert await server.services.db["faq_topics"].count_documents({}) == 0
    r = await admin.send("POST", "/admin/api/faq/topics", NEW_TOPIC)
    assert r.status == 201
    r = await admin.send("POST", "/admin/api/faq/topics", NEW_TOPIC)
    assert (r.status, r.error_code) == (409, "faq_topic_exists")
