"""WeChat's retries: a resent message gets the same reply and no second side effect, also when
the retry reaches another server process (two app instances sharing one database)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from server.db import utcnow
from tests.chat.conftest import WeChatSender, answer_of, event_xml, miss_question, next_msg_id, text_xml


async def _two(chat, make_server, chat_settings, http_factory, mode: str):
    a, sender_a = await chat(mode)
    b = await make_server(**chat_settings(mode))
    return a, sender_a, b, WeChatSender(http_factory(b), mode)


@pytest.mark.parametrize("mode", ["plaintext", "safe"])
async def test_a_resent_miss_on_another_instance_gets_the_same_reply_once(
    chat, make_server, chat_settings, http_factory, mode
):
    a, sender_a, b, sender_b = await _two(chat, make_server, chat_settings, http_factory, mode)
    question, _ = miss_question()
    xml = text_xml("o-retry", question, msg_id=next_msg_id())
    first = await sender_a.send(xml)
    again = await sender_b.send(xml)
    third = await sender_a.send(xml)
    assert first.content and first.content == again.content == third.content
    miss = await a.services.db["chat_misses"].find_one({"question": question})
    assert miss["count"] == 1
    assert await a.services.db["chat_dedupe"].count_documents({}) == 1


async def test_concurrent_copies_on_two_instances_count_once(chat, make_server, chat_settings, http_factory):
    a, sender_a, b, sender_b = await _two(chat, make_server, chat_settings, http_factory, "plaintext")
    question, _ = miss_question()
    xml = text_xml("o-race", question, msg_id=next_msg_id())
    replies = await asyncio.gather(*(s.send(xml) for s in (sender_a, sender_b, sender_a, sender_b)))
    assert len({r.content for r in replies}) == 1 and replies[0].content
    miss = await a.services.db["chat_misses"].find_one({"question": question})
    assert miss["count"] == 1


async def test_a_new_msg_id_is_a_new_message(chat):
    server, sender = await chat()
    question, _ = miss_question()
    await sender.ask("o-twice", question)
    await sender.ask("o-twice", question)
    miss = await server.services.db["chat_misses"].find_one({"question": question})
    assert miss["count"] == 2


async def test_a_resent_event_is_deduplicated_by_sender_and_create_time(chat, make_server, chat_settings, http_factory):
    a, sender_a, b, sender_b = await _two(chat, make_server, chat_settings, http_factory, "plaintext")
    xml = event_xml("o-sub", "subscribe", created=1700000123)
    first, again = await sender_a.send(xml), await sender_b.send(xml)
    assert first.content == again.content and "欢迎" in first.content
    other_time = await sender_b.send(event_xml("o-sub", "subscribe", created=1700000124))
    assert "欢迎" in other_time.content
    keys = sorted([d["_id"] async for d in a.services.db["chat_dedupe"].find({})])
    assert len(keys) == 2 and all(k.startswith("e:o-sub:") for k in keys)


async def test_dedupe_claims_expire(chat):
    server, sender = await chat()
    await sender.ask("o-exp", "忘记密码")
    doc = await server.services.db["chat_dedupe"].find_one({})
    assert doc["expires_at"] > utcnow() + dt.timedelta(minutes=9) and "密码" in doc["reply"]


async def test_two_menu_taps_in_the_same_second_each_get_their_answer_and_a_retry_is_answered_once(
    chat, make_server, chat_settings, http_factory
):
    a, sender_a, b, sender_b = await _two(chat, make_server, chat_settings, http_factory, "plaintext")
    transfer = event_xml("o-taps", "CLICK", "FAQ:transfer", created=1700000200)
    photo = event_xml("o-taps", "CLICK", "FAQ:photo_spec", created=1700000200)  # the same second
    first, second = await sender_a.send(transfer), await sender_a.send(photo)
    assert first.content == answer_of("transfer") and second.content == answer_of("photo_spec")
    retry = await sender_b.send(photo)  # WeChat's retry repeats the EventKey, possibly to another process
    assert retry.content == second.content
    keys = sorted([d["_id"] async for d in a.services.db["chat_dedupe"].find({})])
    assert keys == ["e:o-taps:1700000200:CLICK:FAQ:photo_spec", "e:o-taps:1700000200:CLICK:FAQ:transfer"]
