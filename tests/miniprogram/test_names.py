"""Names with rare characters (生僻字): exact round trip through the API and the database."""

from __future__ import annotations

import json
import unicodedata

import pytest

EXTENSIONS = {
    "B": "\U00020000",
    "C": "\U0002a700",
    "D": "\U0002b740",
    "E": "\U0002b820",
    "F": "\U0002ceb0",
    "G": "\U00030000",
    "H": "\U00031350",
}


async def stored_name(server, openid: str) -> str:
    doc = await server.services.db["applications"].find_one({"openid": openid})
    return doc["profile"]["name"]


@pytest.mark.parametrize("ext", sorted(EXTENSIONS))
async def test_each_cjk_extension_round_trips_byte_for_byte(server, as_user, ext):
    c = await as_user(f"ext{ext}")
    name = "李" + EXTENSIONS[ext] + "明"
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": name}})
    assert r.status == 200, r.text
    assert name.encode("utf-8") in r.body  # raw UTF-8 on the wire, no escapes or replacements
    got = await c.get("/api/v1/me/record")
    assert got.json["profile"]["name"].encode("utf-8") == name.encode("utf-8")
    assert (await stored_name(server, c.openid)).encode("utf-8") == name.encode("utf-8")
    assert got.json["rare_name"] is True and got.json["rare_characters"] == [EXTENSIONS[ext]]
    doc = await server.services.db["applications"].find_one({"openid": c.openid})
    assert doc["rare_name"] is True  # what reviewers see


async def test_json_surrogate_escapes_are_decoded_and_lone_surrogates_refused(server, as_user):
    c = await as_user("esc")
    raw = b'{"profile": {"name": "\\u738b\\ud840\\udc00"}}'  # 王 + U+20000 as a JSON surrogate pair
    r = await c.patch("/api/v1/me/record", raw=raw, headers={"Content-Type": "application/json"})
    assert r.status == 200, r.text
    assert await stored_name(server, c.openid) == "王\U00020000"
    r = await c.patch(
        "/api/v1/me/record",
        raw=b'{"profile": {"name": "\\u738b\\ud840"}}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "invalid_characters"
    for raw in (b'{"profile": {"ethnicity": "\\ud800"}}', b'{"profile": {"\\ud800": "x"}}', b'{"\\udc00": 1}'):
        r = await c.patch("/api/v1/me/record", raw=raw, headers={"Content-Type": "application/json"})
        assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "invalid_characters", r.text
    assert await stored_name(server, c.openid) == "王\U00020000"


async def test_common_names_are_not_flagged_and_gb2312_outsiders_are(as_user):
    c = await as_user("flag")
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": "张三"}})
    assert r.json["rare_name"] is False and r.json["rare_characters"] == []
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": "陶喆"}})
    assert r.json["rare_name"] is True and r.json["rare_characters"] == ["喆"]
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": "张三"}})
    assert r.json["rare_name"] is False


async def test_names_are_nfc_normalised(server, as_user):
    c = await as_user("nfc")
    decomposed = "Zoe\u0308 Martin"
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": decomposed}})
    assert r.status == 200, r.text
    assert r.json["profile"]["name"] == unicodedata.normalize("NFC", decomposed) == "Zo\u00eb Martin"
    assert await stored_name(server, c.openid) == "Zo\u00eb Martin"


async def test_traditional_characters_in_names_are_kept(server, as_user):
    c = await as_user("trad")
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": "張國榮"}})
    assert r.json["profile"]["name"] == "張國榮"
    assert await stored_name(server, c.openid) == "張國榮"


async def test_minority_names_keep_the_middle_dot(as_user):
    c = await as_user("dot")
    for typed in ("阿依古丽·买买提", "阿依古丽.买买提", "阿依古丽•买买提", "阿依古丽・买买提"):
        r = await c.patch("/api/v1/me/record", json={"profile": {"name": typed}})
        assert r.status == 200 and r.json["profile"]["name"] == "阿依古丽\u00b7买买提", typed


@pytest.mark.parametrize("bad", ["张\u0000三", "张\u200b三", "张\ue000", "\U000f0000李", "张3", "张<b>", "·张三"])
async def test_control_private_use_digits_and_symbols_are_refused(server, as_user, bad):
    c = await as_user("bad")
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": bad}})
    assert r.status == 422, (bad, r.text)
    assert r.json["error"]["fields"][0]["field"] == "profile.name"
    doc = await server.services.db["applications"].find_one({"openid": c.openid})
    assert "name" not in doc["profile"]


async def test_pinyin_is_derived_and_editable(server, as_user):
    c = await as_user("py")
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": "单田芳"}})
    assert r.json["profile"]["name_pinyin"] == "shan tian fang"  # surname reading
    r = await c.patch("/api/v1/me/record", json={"profile": {"name_pinyin": "Shan Tianfang"}})
    assert r.status == 200 and r.json["profile"]["name_pinyin"] == "Shan Tianfang"
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": "单田芳"}})
    assert r.json["profile"]["name_pinyin"] == "Shan Tianfang"  # unchanged name keeps the edit
    rare = "李\U00020000"
    r = await c.patch("/api/v1/me/record", json={"profile": {"name": rare, "name_pinyin": "li he"}})
    assert r.json["profile"]["name_pinyin"] == "li he"
    r = await c.patch("/api/v1/me/record", json={"profile": {"name_pinyin": "li2 he"}})
    assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "pinyin_format"


async def test_the_name_survives_a_json_re_encode_exactly(as_user):
    c = await as_user("rt")
    name = "𠮷野家\U0002b820\U00031350"
    await c.patch("/api/v1/me/record", json={"profile": {"name": name}})
    body = (await c.get("/api/v1/me/record")).body
    assert json.loads(body)["profile"]["name"] == name
    assert "\\u" not in body.decode("utf-8")
