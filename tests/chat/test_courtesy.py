"""Greetings and thanks get a friendly reply with the menu; single keywords never get a bare miss;
answers that name the managing office name the asker's own district once they are linked."""

from __future__ import annotations

import re

import pytest

from server.chat import texts
from server.chat.router import MENU_TOPICS
from tests.chat.conftest import answer_of, event_xml

GREETINGS = ("你好", "您好，在吗？", "hello", "在嗎", "老师好", "请问有人吗")
THANKS = ("谢谢", "好的，谢谢！", "明白了 thank you", "謝謝老師", "收到")
KEYWORDS = ("信息采集", "档案", "在校学生", "图片", "照片", "调转", "履历", "密码", "修改", "扫描件")


def _choices(reply: str) -> list[str]:
    """The numbered choices of a reply ("1. 标题" lines)."""
    return re.findall(r"^\d\. (.+)$", reply, re.M)


@pytest.mark.parametrize("text", GREETINGS)
async def test_a_greeting_gets_a_friendly_reply_with_the_menu(chat, text):
    _, sender = await chat(hotline="0592-7654321")
    reply = (await sender.ask("o-hello", text)).content
    assert reply.startswith(texts.GREETING_REPLY)
    assert "查询进度" in reply and "0592-7654321" in reply and len(_choices(reply)) >= 3


@pytest.mark.parametrize("text", THANKS)
async def test_thanks_get_a_friendly_reply_with_the_menu(chat, text):
    _, sender = await chat()
    reply = (await sender.ask("o-thanks", text)).content
    assert reply.startswith(texts.THANKS_REPLY) and len(_choices(reply)) >= 3


async def test_a_number_after_the_menu_answers_that_topic(chat):
    _, sender = await chat()
    reply = (await sender.ask("o-menu-pick", "你好")).content
    offered = [t for t in MENU_TOPICS if _has(t)]
    assert len(_choices(reply)) == len(offered) >= 3
    assert (await sender.ask("o-menu-pick", "2")).content == answer_of(offered[1])
    assert (await sender.ask("o-menu-pick", "1")).content == answer_of(offered[0])


def _has(topic_id: str) -> bool:
    from server.chat.faq_service import build_engine

    return build_engine([]).topic(topic_id) is not None


async def test_a_greeting_before_a_question_is_answered_as_the_question(chat):
    _, sender = await chat()
    reply = (await sender.ask("o-hello-q", "你好，请问忘记密码了怎么办")).content
    assert reply == answer_of("password_reset")
    reply = (await sender.ask("o-hello-q", "您好 查询进度")).content
    assert "绑定" in reply  # the status command, for a chat user not linked yet


async def test_a_greeting_is_not_recorded_as_a_miss(chat):
    server, sender = await chat()
    await sender.ask("o-hello-m", "你好")
    await sender.ask("o-hello-m", "谢谢")
    assert await server.services.db["chat_misses"].count_documents({}) == 0


@pytest.mark.parametrize("word", KEYWORDS)
async def test_a_single_keyword_gets_the_best_topic_or_numbered_choices(chat, word):
    _, sender = await chat()
    reply = (await sender.ask("o-keyword", word)).content
    answers = {answer_of(t) for t in _all_topics()}
    assert reply in answers or len(_choices(reply)) >= 1, reply
    assert not reply.startswith(texts.MISS_NO_CHOICES[:10])


def _all_topics() -> list[str]:
    from server.chat.faq_service import build_engine

    return [t.id for t in build_engine([]).topics()]


async def test_the_office_answer_names_the_linked_persons_district(chat):
    server, sender = await chat()
    if not server.services.get(_faq_service()).personal("management_office"):
        pytest.fail("the management_office answer does not name the office by placeholder")
    city = (await sender.ask("o-office", "我归哪个管理机构管，电话多少")).content
    assert "厦门市财政局" in city and "0592-0000000" in city
    http = sender.http
    r = await http.post("/api/v1/auth/login", json={"code": "demo:office-person"})
    http.token = r.json["token"]
    r = await http.patch("/api/v1/me/record", json={"region_code": "350206"})
    assert r.status == 200, r.text
    # what the answer promises: the mini-program's record shows the managing office and its phone
    assert (r.json["region"]["office"], r.json["region"]["phone"]) == ("厦门市湖里区财政局", "0592-0000003")
    code = (await http.post("/api/v1/me/chat-binding")).json["code"]
    assert "绑定成功" in (await sender.ask("o-office", f"绑定 {code}")).content
    mine = (await sender.ask("o-office", "我归哪个管理机构管，电话多少")).content
    assert "厦门市湖里区财政局" in mine and "0592-0000003" in mine
    clicked = (await sender.send(event_xml("o-office", "CLICK", "FAQ:management_office"))).content
    assert clicked == mine
    other = (await sender.ask("o-office-other", "我归哪个管理机构管，电话多少")).content
    assert other == city  # another chat user still reads the city's office


def _faq_service():
    from server.chat.faq_service import FaqService

    return FaqService


async def test_the_seeds_questions_get_their_answers_through_the_webhook(chat):
    from server.chat.faq_service import build_engine
    from tests.faq.test_seed_questions import ALL_BEST, CHOICES, INNER_MONGOLIA_002

    _, sender = await chat()
    wrong = []
    for i, (question, topic) in enumerate(ALL_BEST):
        reply = (await sender.ask(f"o-seed-{i}", question)).content
        if reply != answer_of(topic):
            wrong.append((question, topic, reply[:40]))
    engine = build_engine([])
    for i, (word, topic, how) in enumerate(INNER_MONGOLIA_002):
        if how != CHOICES:
            continue
        reply = (await sender.ask(f"o-seed-word-{i}", word)).content
        if reply != answer_of(topic) and engine.topic(topic).title not in _choices(reply):
            wrong.append((word, topic, reply[:40]))
    assert not wrong
