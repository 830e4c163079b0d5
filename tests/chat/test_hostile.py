"""Bad signatures are a 403 that changes nothing; hostile or broken XML is a 400."""

from __future__ import annotations

import pytest

from tests.chat.conftest import TOKEN, sign, text_xml

XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-evil</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    + "]><xml><MsgType>text</MsgType><FromUserName>o-evil</FromUserName>"
    "<Content>&lol9;</Content><MsgId>2</MsgId></xml>"
)
PARAMETER_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/x.dtd">'
    "%remote;]><xml><MsgType>text</MsgType></xml>"
)
HOSTILE = {
    "xxe": XXE,
    "billion_laughs": BILLION_LAUGHS,
    "parameter_entity": PARAMETER_ENTITY,
    "malformed": "<xml><ToUserName>gh</ToUserName><Content>unclosed</xml>",
    "not_xml": '{"MsgType": "text", "Content": "hi"}',
    "plain_text": "hello there",
    "wrong_root": "<message><MsgType>text</MsgType></message>",
    "empty": "",
    "deep_nesting": "<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>",  # under the size limit, past the stack
}


async def _counts(server) -> dict:
    db = server.services.db
    return {name: await db[name].count_documents({}) for name in ("chat_dedupe", "chat_misses", "chat_choices")}


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_or_broken_xml_is_400(chat, mode, name):
    server, sender = await chat(mode)
    path, _ = sender.build(text_xml("o-evil", "档案"))
    reply = await sender.post(path, HOSTILE[name].encode())
    assert reply.status == 400, reply.body
    assert b"root:" not in reply.body
    assert await _counts(server) == {"chat_dedupe": 0, "chat_misses": 0, "chat_choices": 0}


@pytest.mark.parametrize("name", ["xxe", "billion_laughs", "malformed", "not_xml", "deep_nesting"])
async def test_hostile_xml_inside_the_encrypted_payload_is_400(chat, name):
    server, sender = await chat("safe")
    reply = await sender.send(HOSTILE[name])
    assert reply.status == 400
    assert await _counts(server) == {"chat_dedupe": 0, "chat_misses": 0, "chat_choices": 0}


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
async def test_a_bad_signature_is_403_and_changes_nothing(chat, mode):
    server, sender = await chat(mode)
    path, body = sender.build(text_xml("o-evil", "档案"))
    good = sign(TOKEN, "1", "2")
    for bad_path in (
        path.replace("signature=", "signature=0"),
        path.replace("signature=", "x="),
        path.replace("nonce=", "nonce=9"),
    ):
        reply = await sender.post(bad_path, body)
        assert reply.status == 403, bad_path
    assert good not in path
    assert await _counts(server) == {"chat_dedupe": 0, "chat_misses": 0, "chat_choices": 0}


@pytest.mark.parametrize("mode", ["compatible", "safe"])
async def test_a_bad_msg_signature_is_403_and_changes_nothing(chat, mode):
    server, sender = await chat(mode)
    path, body = sender.build(text_xml("o-evil", "档案"))
    head, _, sig = path.partition("msg_signature=")
    tampered = head + "msg_signature=" + ("0" if sig[0] != "0" else "1") + sig[1:]
    assert (await sender.post(tampered, body)).status == 403
    assert (await sender.post(head + "msg_signature=", body)).status == 403
    # a valid envelope whose Encrypt was swapped for another message's fails the msg_signature too
    _, other = sender.build(text_xml("o-evil", "忘记密码"))
    assert (await sender.post(path, other)).status == 403
    assert await _counts(server) == {"chat_dedupe": 0, "chat_misses": 0, "chat_choices": 0}
    assert (await sender.post(path, body)).status == 200


async def test_an_oversized_body_is_refused(chat):
    _, sender = await chat()
    path, _ = sender.build(text_xml("o-big", "x"))
    reply = await sender.post(path, text_xml("o-big", "字" * 40000).encode())
    assert reply.status in (400, 413)
