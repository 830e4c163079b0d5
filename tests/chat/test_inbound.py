"""The webhook's XML parser on its own: WeChat's shapes in, every DTD refused before it is read."""

from __future__ import annotations

import pytest

from server.chat.inbound import MAX_BODY, HostileXml, parse_fields, to_message
from tests.chat.conftest import text_xml, voice_xml
from tests.chat.test_hostile import BILLION_LAUGHS, HOSTILE


def test_a_text_message_becomes_its_fields():
    fields = parse_fields(text_xml("o-1", "忘记密码 & <怎么办>", msg_id="42").encode())
    assert fields["FromUserName"] == "o-1"
    assert fields["Content"] == "忘记密码 & <怎么办>"
    assert fields["MsgId"] == "42"
    msg = to_message(fields)
    assert (msg.type, msg.source, msg.content, msg.id) == ("text", "o-1", "忘记密码 & <怎么办>", 42)


def test_a_voice_message_keeps_its_recognition():
    msg = to_message(parse_fields(voice_xml("o-2", "查询进度", msg_id="7").encode()))
    assert (msg.type, msg.recognition) == ("voice", "查询进度")


def test_nested_elements_become_dicts_and_the_first_of_repeated_tags_wins():
    body = (
        "<xml><MsgType>event</MsgType><Event>pic_sysphoto</Event>"
        "<SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>a</PicMd5Sum></item>"
        "<item><PicMd5Sum>b</PicMd5Sum></item></PicList></SendPicsInfo><Event>second</Event></xml>"
    )
    fields = parse_fields(body.encode())
    assert fields["SendPicsInfo"] == {"Count": "2", "PicList": {"item": {"PicMd5Sum": "a"}}}
    assert fields["Event"] == "pic_sysphoto"


def test_text_split_across_cdata_sections_entities_and_comments_is_joined():
    body = "<xml><Content><![CDATA[a]]]]><![CDATA[>b]]>&amp;c<!-- note --><?pi x?>d</Content><Empty/></xml>"
    assert parse_fields(body.encode()) == {"Content": "a]]>b&cd", "Empty": ""}


def test_an_encoding_declared_in_the_prolog_is_honoured():
    body = '<?xml version="1.0" encoding="UTF-16"?><xml><Content>會計調轉</Content></xml>'.encode("utf-16")
    assert parse_fields(body) == {"Content": "會計調轉"}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_or_broken_documents_are_refused(name):
    with pytest.raises(HostileXml):
        parse_fields(HOSTILE[name].encode())


@pytest.mark.parametrize(
    "doctype",
    [
        "<!DOCTYPE xml>",  # harmless on its face, refused all the same
        '<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd">',
        '<!DOCTYPE xml [<!ENTITY a "b">]>',
    ],
)
def test_any_doctype_is_refused_where_it_starts(doctype):
    # what follows the DOCTYPE is broken on purpose: the reason shows expat stopped at the DOCTYPE
    with pytest.raises(HostileXml, match="DTD"):
        parse_fields(f"<?xml version='1.0'?>{doctype}<xml><Content>&a;</Broken>".encode())


def test_entity_expansion_is_stopped_before_anything_expands():
    with pytest.raises(HostileXml, match="DTD"):
        parse_fields(BILLION_LAUGHS.encode())
    utf16 = BILLION_LAUGHS.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    with pytest.raises(HostileXml, match="DTD"):
        parse_fields(utf16.encode("utf-16"))


def test_depth_and_size_are_bounded():
    assert parse_fields(b"<xml>" + b"<a>" * 8 + b"x" + b"</a>" * 8 + b"</xml>")
    with pytest.raises(HostileXml, match="deeply"):
        parse_fields(b"<xml>" + b"<a>" * 9 + b"x" + b"</a>" * 9 + b"</xml>")
    with pytest.raises(HostileXml, match="oversized"):
        parse_fields(b"<xml><Content>" + b"x" * MAX_BODY + b"</Content></xml>")


@pytest.mark.parametrize("body", [b"<xml></xml><xml></xml>", b"<xml/>junk", b"\xff\xfe\x00", b"<xml><a>\xff</a></xml>"])
def test_trailing_content_and_bad_bytes_are_refused(body):
    with pytest.raises(HostileXml):
        parse_fields(body)
