"""The rules of an information change: protected fields need a staged proof, locked fields and the
district cannot be changed, a change must change something, malformed bodies are refused with a
stable code and store nothing, and there is no change before the first collection is approved."""

from __future__ import annotations

import datetime as dt

import pytest
from bson import ObjectId

from tests.lifecycle.conftest import CHANGES, RECORD, A, B, archive_of, changes_in_db, insert_record, reviewer
from tests.miniprogram.conftest import form, jpeg_bytes
from tests.records import idgen

PROOF = "/api/v1/me/changes/proof"
APPS = "/admin/api/applications"


async def snapshot(services, rec) -> dict:
    """What a refused change must leave untouched: the archive, the changes, the account."""
    return {
        "archive": await archive_of(services, rec),
        "changes": await changes_in_db(services),
        "account": await services.db["accounts"].find_one({"_id": rec["openid"]}),
        "record": await services.db["applications"].find_one({"_id": rec["_id"]}),
        "notices": [n async for n in services.db["notices"].find({})],
    }


async def test_a_name_change_needs_a_staged_proof(server, approved_person, staff_client):
    person, rec = await approved_person("nm")
    rev = await reviewer(server, staff_client, "rev-a", [A])
    before = await snapshot(server.services, rec)
    body = {"changes": {"profile": {"name": "王晓明"}}, "reason": "已在派出所办理更名"}

    r = await person.post(CHANGES, json=body)
    assert r.status == 422 and r.error_code == "proof_required", r.text
    assert [f["field"] for f in r.json["error"]["fields"]] == ["profile.name"]
    assert r.json["error"]["fields"][0]["code"] == "proof_required"
    assert await snapshot(server.services, rec) == before
    assert (await person.get(CHANGES)).json["changes"] == []

    # Stage the proof (a real JPEG, multipart field `file`), then the same change is accepted.
    r = await person.post(PROOF, data=form(jpeg_bytes((300, 200)), "proof.jpg"))
    assert r.status == 201, r.text
    staged = (await person.get(CHANGES)).json["staged_proof"]
    assert staged is not None and staged["content_type"] == "image/jpeg"
    r = await person.post(CHANGES, json=body)
    assert r.status == 201, r.text
    cid = r.json["id"]
    assert "change_proof" in r.json["documents"]
    assert ("profile.name", "王小明", "王晓明") in [(c["field"], c["old"], c["new"]) for c in r.json["changes"]]
    assert (await person.get(CHANGES)).json["staged_proof"] is None  # used by this change

    detail = (await rev.get(f"{APPS}/{cid}")).json
    [proof] = [d for d in detail["documents"] if d["kind"] == "change_proof"]
    assert proof["content_type"] == "image/jpeg" and proof["url"].endswith("/files/change_proof")
    assert proof["label"] == "变更证明材料"
    f = await rev.get(proof["url"])
    assert f.status == 200 and f.headers["Content-Type"] == "image/jpeg" and f.body[:2] == b"\xff\xd8"
    rows = {row["path"]: (row["old"], row["new"]) for row in detail["change"]["rows"]}
    assert rows["profile.name"] == ("王小明", "王晓明")

    r = await rev.post(f"{APPS}/{cid}/decision", json={"decision": "approve", "version": detail["version"]})
    assert r.status == 200, r.text
    archive = await archive_of(server.services, rec)
    assert archive["data"]["profile"]["name"] == "王晓明" and archive["version"] == 2
    assert (await person.get(RECORD)).json["profile"]["name"] == "王晓明"


async def test_an_id_number_change_needs_a_proof_too(server, approved_person):
    person, rec = await approved_person("idn")
    before = await snapshot(server.services, rec)
    new_id = idgen.resident_id(A, dt.date(1991, 3, 9), seq="123")
    r = await person.post(CHANGES, json={"changes": {"profile": {"id_number": new_id}}})
    assert r.status == 422 and r.error_code == "proof_required", r.text
    assert "profile.id_number" in [f["field"] for f in r.json["error"]["fields"]]
    assert await snapshot(server.services, rec) == before
    assert await server.services.db["archive_numbers"].find_one({"_id": new_id}) is None


@pytest.mark.parametrize("end", ["reject", "withdraw"])
async def test_a_new_id_number_is_held_while_pending_and_freed_when_the_change_ends(
    server, approved_person, staff_client, end
):
    person, rec = await approved_person(f"idfree-{end}")
    new_id = idgen.resident_id(A, dt.date(1991, 3, 9), seq="124")
    assert (await person.post(PROOF, data=form(jpeg_bytes((300, 200)), "proof.jpg"))).status == 201
    r = await person.post(CHANGES, json={"changes": {"profile": {"id_number": new_id}}, "reason": "身份证号码更正"})
    assert r.status == 201, r.text
    claims = server.services.db["archive_numbers"]
    assert (await claims.find_one({"_id": new_id}))["record_id"] == rec["_id"]  # no one else can register it
    if end == "reject":
        rev = await reviewer(server, staff_client, "rev-idfree", [A])
        r2 = await rev.post(
            f"/admin/api/applications/{r.json['id']}/decision",
            json={"decision": "reject", "version": r.json["version"], "reason": "证明材料不清晰"},
        )
    else:
        r2 = await person.post(f"{CHANGES}/{r.json['id']}/withdraw")
    assert r2.status == 200, r2.text
    assert await claims.find_one({"_id": new_id}) is None  # free again
    assert (await claims.find_one({"_id": rec["archive_no"]}))["record_id"] == rec["_id"]  # the archive's stays


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"employment": {"accounting_since": "2013-09-01"}}, "employment.accounting_since"),
        ({"region_code": B}, "region_code"),
    ],
)
async def test_locked_fields_cannot_be_changed(server, approved_person, changes, field):
    person, rec = await approved_person(f"lk-{field.replace('.', '-')}")
    before = await snapshot(server.services, rec)
    r = await person.post(CHANGES, json={"changes": changes, "reason": "想改"})
    assert r.status == 422 and r.error_code == "field_not_changeable", r.text
    assert [f["field"] for f in r.json["error"]["fields"]] == [field]
    assert r.json["error"]["fields"][0]["code"] == "not_changeable"
    assert await snapshot(server.services, rec) == before
    # Together with a field that may change, the whole change is still refused.
    r = await person.post(CHANGES, json={"changes": {**changes, "contact": {"mobile": "13912345678"}}})
    assert r.status == 422 and r.error_code == "field_not_changeable"
    assert await snapshot(server.services, rec) == before


async def test_a_change_equal_to_the_archive_is_refused(server, approved_person):
    person, rec = await approved_person("same")
    before = await snapshot(server.services, rec)
    r = await person.post(
        CHANGES,
        json={
            "changes": {
                "contact": {"mobile": rec["contact"]["mobile"]},
                "work_history": rec["work_history"],  # sent back as it is
            }
        },
    )
    assert r.status == 422 and r.error_code == "no_changes", r.text
    assert await snapshot(server.services, rec) == before


@pytest.mark.parametrize(
    "raw,status,code,field",
    [
        (b"[1, 2]", 400, "body_not_object", None),
        (b'"changes"', 400, "body_not_object", None),
        (b"{oops", 400, "malformed_json", None),
        (b"{}", 422, "validation_failed", "changes"),
        (b'{"changes": {}}', 422, "validation_failed", "changes"),
        (b'{"changes": "contact.mobile=139"}', 422, "validation_failed", "changes"),
        (b'{"changes": [{"contact": {"mobile": "13912345678"}}]}', 422, "validation_failed", "changes"),
        (b'{"changes": {"contact": {"mobile": "13912345678"}}, "force": true}', 422, "validation_failed", "force"),
        (b'{"changes": {"contact": {"mobile": "13912345678"}}, "reason": 5}', 422, "validation_failed", "reason"),
        (b'{"changes": {"contact": {"mobile": 13912345678}}}', 422, "validation_failed", "contact.mobile"),
        (b'{"changes": {"contact": {"mobile": "12"}}}', 422, "validation_failed", "contact.mobile"),
        (b'{"changes": {"contact": {"pager": "123"}}}', 422, "validation_failed", "contact.pager"),
        (b'{"changes": {"contact": "13912345678"}}', 422, "validation_failed", "contact"),
        (b'{"changes": {"hobbies": {"x": 1}}}', 422, "validation_failed", "hobbies"),
        (b'{"changes": {"employment": {"in_post": "yes"}}}', 422, "validation_failed", "employment.in_post"),
    ],
)
async def test_malformed_bodies_are_refused_and_change_nothing(server, approved_person, raw, status, code, field):
    person, rec = await approved_person("bad")
    before = await snapshot(server.services, rec)
    r = await person.post(CHANGES, raw=raw, headers={"Content-Type": "application/json"})
    assert r.status == status and r.error_code == code, r.text
    if field is not None:
        assert field in [f["field"] for f in r.json["error"]["fields"]], r.text
    assert await snapshot(server.services, rec) == before


async def test_an_overlong_reason_is_refused(server, approved_person):
    person, rec = await approved_person("long")
    before = await snapshot(server.services, rec)
    r = await person.post(CHANGES, json={"changes": {"contact": {"mobile": "13912345678"}}, "reason": "长" * 201})
    assert r.status == 422 and "reason" in [f["field"] for f in r.json["error"]["fields"]]
    assert await snapshot(server.services, rec) == before


@pytest.mark.parametrize("status", ["draft", "submitted", "rejected"])
async def test_no_change_before_the_first_collection_is_approved(server, as_user, status):
    name = f"early-{status}"
    rec = await insert_record(server.services, status=status, openid=f"demo-openid-{name}", name="王小明")
    person = await as_user(name)
    assert (await person.get(RECORD)).json["id"] == str(rec["_id"])  # the login found the inserted record
    r = await person.post(CHANGES, json={"changes": {"contact": {"mobile": "13912345678"}}})
    assert r.status == 409 and r.error_code == "archive_missing", r.text
    r = await person.post(PROOF, data=form(jpeg_bytes(), "proof.jpg"))
    assert r.status == 409 and r.error_code == "archive_missing", r.text
    assert await changes_in_db(server.services) == []
    assert await server.services.db["archives"].count_documents({}) == 0
    assert (await server.services.db["accounts"].find_one({"_id": rec["openid"]})).get("change_proof") is None
    listed = (await person.get(CHANGES)).json
    assert listed["changes"] == [] and listed["open"] is None


async def test_a_fresh_login_has_no_archive_to_change(as_user):
    person = await as_user("fresh")
    r = await person.post(CHANGES, json={"changes": {"contact": {"mobile": "13912345678"}}})
    assert r.status == 409 and r.error_code == "archive_missing"


async def test_changes_need_a_login(http):
    r = await http.post(CHANGES, json={"changes": {"contact": {"mobile": "13912345678"}}})
    assert r.status == 401
    r = await http.get(CHANGES)
    assert r.status == 401
    r = await http.post(f"{CHANGES}/{ObjectId()}/withdraw")
    assert r.status == 401


async def test_options_list_the_change_rules(http):
    r = await http.get("/api/v1/options")
    assert r.status == 200
    locked = {o["code"]: o["label"] for o in r.json["change_locked_fields"]}
    proof = {o["code"]: o["label"] for o in r.json["change_proof_fields"]}
    assert set(locked) == {"employment.accounting_since", "region_code"}
    assert set(proof) == {"profile.name", "profile.id_type", "profile.id_number"}
    assert all(label for label in [*locked.values(), *proof.values()])
    assert proof["profile.name"] == "姓名"


async def test_the_change_list_carries_the_rules(approved_person):
    person, _ = await approved_person("rules")
    rules = (await person.get(CHANGES)).json["rules"]
    assert {r["field"] for r in rules["locked"]} == {"employment.accounting_since", "region_code"}
    assert {r["field"] for r in rules["needs_proof"]} == {"profile.name", "profile.id_type", "profile.id_number"}
