"""The webhook in plaintext, compatible and safe mode, with requests built as WeChat builds them."""

from __future__ import annotations

import pytest

from tests.chat.conftest import OLD_AES_KEY, TOKEN, WeChatSender, event_xml, sign, text_xml

MODES = ["plaintext", "compatible", "safe"]


async def test_get_echoes_echostr_with_a_good_signature(chat):
    _, sender = await chat("plaintext")
    r = await sender.http.get(
        f"/wechat?signature={sign(TOKEN, '1700000000', '42')}&timestamp=1700000000&nonce=42&echostr=hello-123"
    )
    assert r.status == 200 and r.body == b"hello-123"


async def test_get_with_a_bad_signature_is_403(chat):
    _, sender = await chat("plaintext")
    r = await sender.http.get("/wechat?signature=" + "0" * 40 + "&timestamp=1700000000&nonce=42&echostr=x")
    assert r.status == 403 and r.error_code == "bad_signature"
    r = await sender.http.get("/wechat?timestamp=1700000000&nonce=42&echostr=x")
    assert r.status == 403


@pytest.mark.parametrize("mode", MODES)
async def test_a_text_question_gets_the_faq_answer(chat, mode):
    _, sender = await chat(mode)
    reply = await sender.ask("o-user-1", "忘记密码了怎么办")
    assert reply.status == 200
    assert reply.encrypted is (mode != "plaintext")
    assert reply.fields["MsgType"] == "text"
    assert reply.fields["ToUserName"] == "o-user-1" and reply.fields["FromUserName"] == "gh_test_account"
    assert "密码" in reply.content


@pytest.mark.parametrize("mode", ["compatible", "safe"])
async def test_encrypted_answers_use_the_settings_hotline(chat, mode):
    _, sender = await chat(mode, hotline="0592-1234567")
    reply = await sender.ask("o-user-2", "姓名里有生僻字系统不认怎么办")
    assert reply.encrypted and "生僻字" in reply.content and "0592-1234567" in reply.content


async def test_safe_mode_refuses_a_plaintext_message(chat):
    server, _ = await chat("safe")
    plain = WeChatSender(_.http, "plaintext")
    reply = await plain.ask("o-user-3", "忘记密码")
    assert reply.status == 403


async def test_compatible_mode_also_takes_plaintext_messages(chat):
    _, sender = await chat("compatible")
    plain = WeChatSender(sender.http, "plaintext")
    reply = await plain.ask("o-user-4", "忘记密码了怎么办")
    assert reply.status == 200 and not reply.encrypted and "密码" in reply.content


async def test_the_previous_aes_key_still_decrypts_during_rotation(chat, chat_settings):
    _, sender = await chat("safe", official_account_aes_key_previous=OLD_AES_KEY)
    old = WeChatSender(sender.http, "safe", aes_key=OLD_AES_KEY)
    reply = await old.send(text_xml("o-user-5", "照片有什么要求"))
    assert reply.status == 200 and "照片" in (reply.fields.get("Content") or "")


async def test_a_key_nobody_configured_does_not_decrypt(chat):
    _, sender = await chat("safe")
    stranger = WeChatSender(sender.http, "safe", aes_key=OLD_AES_KEY)
    reply = await stranger.send(text_xml("o-user-6", "照片有什么要求"))
    assert reply.status == 400


async def test_an_unknown_event_is_a_bare_success(chat):
    _, sender = await chat("plaintext")
    reply = await sender.send(event_xml("o-user-7", "unsubscribe"))
    assert reply.is_success
