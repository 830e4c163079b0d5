"""Routing: text and voice to the FAQ, menu clicks, subscribe, hints, numbered choices, misses."""

from __future__ import annotations

import datetime as dt

from tests.chat.conftest import answer_of, event_xml, image_xml, miss_question, text_xml, voice_xml


async def test_voice_with_recognition_is_answered_like_text(chat):
    _, sender = await chat()
    reply = await sender.send(voice_xml("o-voice", "忘记密码了怎么办"))
    assert reply.content == answer_of("password_reset")


async def test_voice_without_recognition_gets_a_hint(chat):
    _, sender = await chat()
    reply = await sender.send(voice_xml("o-voice", None))
    assert reply.status == 200 and "文字" in reply.content


async def test_traditional_chinese_is_understood(chat):
    _, sender = await chat()
    reply = await sender.ask("o-trad", "忘記密碼了怎麼辦")
    assert reply.content == answer_of("password_reset")


async def test_menu_clicks_answer_their_topic(chat):
    _, sender = await chat()
    for key in ("rare_characters", "password_reset", "transfer", "photo_spec"):
        reply = await sender.send(event_xml("o-menu", "CLICK", f"FAQ:{key}", created=1700000000 + len(key)))
        assert reply.content == answer_of(key), key


async def test_a_click_on_an_unknown_topic_says_so(chat):
    _, sender = await chat()
    reply = await sender.send(event_xml("o-menu", "CLICK", "FAQ:no_such_topic"))
    assert "下线" in reply.content


async def test_the_self_service_click_explains_what_can_be_done(chat):
    _, sender = await chat()
    reply = await sender.send(event_xml("o-menu", "CLICK", "HELP:self_service"))
    assert "查询进度" in reply.content and "绑定" in reply.content


async def test_subscribe_gets_a_welcome_saying_what_can_be_asked(chat):
    _, sender = await chat(hotline="0592-7654321")
    reply = await sender.send(event_xml("o-new", "subscribe"))
    assert "欢迎" in reply.content and "生僻字" in reply.content and "0592-7654321" in reply.content
    reply = await sender.send(event_xml("o-new2", "subscribe", "qrscene_123"))
    assert "欢迎" in reply.content


async def test_other_message_types_get_a_short_hint(chat):
    _, sender = await chat()
    reply = await sender.send(image_xml("o-img"))
    assert reply.status == 200 and "文字" in reply.content and len(reply.content) < 100


async def test_unhandled_messages_are_a_bare_success(chat):
    _, sender = await chat()
    for xml in (
        event_xml("o-x", "VIEW", "https://example.com"),
        event_xml("o-x", "CLICK", "OTHER:thing"),
        "<xml><ToUserName>gh</ToUserName><FromUserName>o-x</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>strange</MsgType></xml>",
        "<xml><Nothing/></xml>",
    ):
        reply = await sender.send(xml)
        assert reply.is_success, xml


async def test_a_miss_offers_numbered_choices_and_a_number_answers(chat):
    server, sender = await chat()
    question, offered = miss_question()
    reply = await sender.ask("o-choice", question)
    assert "1. " in reply.content and "2. " in reply.content and "回复数字" in reply.content
    reply = await sender.ask("o-choice", "2")
    assert reply.content == answer_of(offered[1])
    reply = await sender.ask("o-choice", "１")  # full-width digits work too
    assert reply.content == answer_of(offered[0])
    # another person has no choices pending
    reply = await sender.ask("o-other", "1")
    assert "过期" in reply.content


async def test_choices_expire_after_ten_minutes(chat):
    server, sender = await chat()
    question, _ = miss_question()
    await sender.ask("o-late", question)
    doc = await server.services.db["chat_choices"].find_one({"_id": "o-late"})
    assert dt.timedelta(minutes=9) < doc["expires_at"] - doc["offered_at"] <= dt.timedelta(minutes=10)
    await server.services.db["chat_choices"].update_one(
        {"_id": "o-late"}, {"$set": {"expires_at": doc["offered_at"] - dt.timedelta(seconds=1)}}
    )
    reply = await sender.ask("o-late", "1")
    assert "过期" in reply.content


async def test_misses_are_counted_per_normalised_question(chat):
    server, sender = await chat()
    question, _ = miss_question()
    await sender.ask("o-m1", question)
    await sender.ask("o-m2", f" {question}？")
    await sender.ask("o-m3", "今天天气怎么样，我的手机13812345678")
    misses = {d["question"]: d async for d in server.services.db["chat_misses"].find({})}
    assert misses[question]["count"] == 2
    masked = [q for q in misses if "天气" in q]
    assert masked and "13812345678" not in masked[0] and "138****5678" in masked[0]


async def test_a_question_without_close_topics_says_so(chat):
    _, sender = await chat(hotline="0592-1111111")
    reply = await sender.ask("o-none", "怎么弄")
    assert "0592-1111111" in reply.content and "1. " not in reply.content


async def test_an_out_of_scope_question_is_declined_without_choices(chat):
    server, sender = await chat()
    reply = await sender.ask("o-tax", "个税怎么申报")
    assert "不在本号的解答范围" in reply.content and "1. " not in reply.content
    assert await server.services.db["chat_choices"].count_documents({}) == 0
    miss = await server.services.db["chat_misses"].find_one({})
    assert miss["out_of_scope"] is True and miss["count"] == 1


async def test_the_continuing_education_answer_quotes_the_requirement_from_settings(chat):
    from server.chat.faq_service import share_words

    assert "每年须修满90学分" in answer_of("continuing_education") and "三分之二" in answer_of("continuing_education")
    answer = answer_of("continuing_education", ce_required_credits=60, ce_professional_share="0.6")
    assert "每年须修满60学分" in answer and "五分之三" in answer and "90" not in answer
    assert share_words("0.67") == "67%" and share_words("3/4") == "四分之三"
    _, sender = await chat(ce_required_credits=72)
    reply = await sender.send(text_xml("o-ce", "继续教育每年要多少学分"))
    assert "72学分" in reply.content
