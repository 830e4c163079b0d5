"""POST /api/v1/me/record/submit: commitment, precise completeness, read-only, races, resubmission."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from server.db import utcnow
from tests.miniprogram.conftest import jpeg_bytes, valid_body

SUBMIT = "/api/v1/me/record/submit"


def missing_fields(resp) -> list[str]:
    assert resp.status == 422, resp.text
    return [f["field"] for f in resp.json["error"]["fields"]]


@pytest.mark.parametrize("body", [{}, {"commitment": False}, {"commitment": "true"}, {"commitment": 1}])
async def test_the_commitment_must_be_agreed(as_user, make_valid_record, body):
    c = await as_user("ag")
    await make_valid_record(c)
    r = await c.post(SUBMIT, json=body)
    assert r.status == 422 and r.error_code == "commitment_required"
    assert "承诺" in r.json["error"]["message"]
    assert (await c.get("/api/v1/me/record")).json["status"] == "draft"


async def test_unknown_submit_fields_are_refused(as_user):
    c = await as_user("ah")
    r = await c.post(SUBMIT, json={"commitment": True, "force": True})
    assert r.status == 422 and r.json["error"]["fields"][0] == {
        "field": "force",
        "code": "unknown_field",
        "message": "不支持的字段",
    }


async def test_an_empty_record_lists_everything_missing(as_user):
    c = await as_user("ai")
    r = await c.post(SUBMIT, json={"commitment": True})
    assert r.error_code == "record_incomplete"
    fields = missing_fields(r)
    for expected in (
        "profile.name",
        "profile.id_type",
        "profile.id_number",
        "educations",
        "contact.mobile",
        "region_code",
        "photo",
    ):
        assert expected in fields
    assert "信息尚未填写完整" in r.json["error"]["message"]


@pytest.mark.parametrize(
    "id_type,pages",
    [
        ("resident_id", ["documents.id_front", "documents.id_back"]),
        ("passport", ["documents.passport_info", "documents.passport_validity"]),
        ("residence_permit", ["documents.permit_front", "documents.permit_back"]),
    ],
)
async def test_identity_pages_follow_the_id_type(as_user, give_photo, upload, id_type, pages):
    c = await as_user(f"id-{id_type}")
    assert (await c.patch("/api/v1/me/record", json=valid_body(id_type=id_type))).status == 200
    await give_photo(c.openid)
    r = await c.post(SUBMIT, json={"commitment": True})
    assert missing_fields(r) == [
        "educations.0.proof",
        "qualifications.0.proof",
        "work_history.0.proof",
        *pages,
    ]
    await upload(c, pages[0].split(".")[1], jpeg_bytes())
    r = await c.post(SUBMIT, json={"commitment": True})
    assert missing_fields(r)[-1] == pages[1]


async def test_work_proof_only_in_post_and_certificate_only_when_qualified(as_user, give_photo, upload):
    c = await as_user("aj")
    r = await c.patch("/api/v1/me/record", json=valid_body(in_post=False, qualification="none"))
    [edu] = r.json["educations"]
    await give_photo(c.openid)
    r = await c.post(SUBMIT, json={"commitment": True})
    assert missing_fields(r) == ["educations.0.proof", "documents.id_front", "documents.id_back"]
    assert (await upload(c, "diploma", jpeg_bytes(), entry=edu["id"])).status == 201
    r = await c.patch("/api/v1/me/record", json={"work_history": [{"unit_name": "厦门某公司", "from": "2015-01-01"}]})
    missing = [m["field"] for m in r.json["missing"]]
    assert "work_history.0.unit_credit_code" in missing and "work_history.0.proof" in missing
    assert "employment.accounting_since" in missing and "educations.0.proof" not in missing
    r = await c.patch("/api/v1/me/record", json={"qualifications": [{"level": "intermediate"}]})
    missing = [m["field"] for m in r.json["missing"]]
    assert "qualifications.0.certificate_no" in missing and "qualifications.0.proof" in missing


async def test_the_photo_is_required(as_user, make_valid_record):
    c = await as_user("ak")
    await make_valid_record(c, photo=False)
    r = await c.post(SUBMIT, json={"commitment": True})
    assert missing_fields(r) == ["photo"]
    assert r.json["error"]["fields"][0]["code"] == "photo_missing"


async def test_a_complete_record_is_submitted_and_becomes_read_only(server, as_user, make_valid_record, upload):
    c = await as_user("al")
    rec = await make_valid_record(c)
    assert rec["missing"] == []
    r = await c.post(SUBMIT, json={"commitment": True})
    assert r.status == 200, r.text
    sub = r.json
    assert sub["status"] == "submitted" and sub["editable"] is False and sub["version"] == rec["version"] + 1
    assert [h["status"] for h in sub["history"]] == ["draft", "submitted"]
    assert sub["submitted_at"]
    files_before = await server.services.db["files.files"].count_documents({})
    r = await c.patch("/api/v1/me/record", json={"contact": {"mobile": "13900139000"}})
    assert r.status == 409 and r.error_code == "record_locked" and "审核" in r.json["error"]["message"]
    r = await upload(c, "other_proof", jpeg_bytes())
    assert r.status == 409 and r.error_code == "record_locked"
    assert await server.services.db["files.files"].count_documents({}) == files_before
    r = await c.post(SUBMIT, json={"commitment": True})
    assert r.status == 409 and r.error_code == "record_locked"
    after = (await c.get("/api/v1/me/record")).json
    assert after["version"] == sub["version"] and after["contact"]["mobile"] == "13800138000"


async def test_concurrent_submits_give_one_success(server, as_user, make_valid_record, http_factory):
    c = await as_user("am")
    await make_valid_record(c)
    clients = [http_factory(server) for _ in range(6)]
    results = await asyncio.gather(*[x.post(SUBMIT, json={"commitment": True}, token=c.token) for x in clients])
    assert sorted(r.status for r in results) == [200] + [409] * 5
    assert {r.error_code for r in results if r.status == 409} == {"record_locked"}
    doc = await server.services.db["applications"].find_one({"openid": c.openid})
    assert [h["status"] for h in doc["history"]] == ["draft", "submitted"]


async def reviewer_decides(server, openid: str, decision: str, reason: str | None = None) -> None:
    """Stand-in for the bureau's decision code: a versioned status change with history."""
    records = server.services.db["applications"]
    doc = await records.find_one({"openid": openid})
    now = utcnow()
    entry = {"status": decision, "at": now, "by": "reviewer1", **({"reason": reason} if reason else {})}
    done = await server.services.atomic.update(
        records,
        {"_id": doc["_id"], "version": doc["version"], "status": "submitted"},
        {
            "$set": {
                "status": decision,
                "decided_at": now,
                "decision": {"decision": decision, "reason": reason, "reason_codes": [], "by": "reviewer1", "at": now},
            },
            "$push": {"history": entry},
            "$inc": {"version": 1},
        },
    )
    assert done is not None


async def test_a_rejected_record_is_editable_and_can_be_submitted_again(server, as_user, make_valid_record, upload):
    c = await as_user("an")
    await make_valid_record(c)
    assert (await c.post(SUBMIT, json={"commitment": True})).status == 200
    await reviewer_decides(server, c.openid, "rejected", "证件不清晰")
    rec = (await c.get("/api/v1/me/record")).json
    assert rec["status"] == "rejected" and rec["editable"] is True
    assert rec["decision"]["reason"] == "证件不清晰" and "by" not in rec["decision"]
    assert (await upload(c, "id_front", jpeg_bytes(color=(1, 2, 3)))).status == 201
    assert (await c.patch("/api/v1/me/record", json={"contact": {"mobile": "13900139000"}})).status == 200
    r = await c.post(SUBMIT, json={"commitment": True})
    assert r.status == 200
    assert [h["status"] for h in r.json["history"]] == ["draft", "submitted", "rejected", "submitted"]
    assert r.json["history"][2]["reason"] == "证件不清晰" and r.json["decision"] is None


async def test_an_approved_record_stays_read_only(server, as_user, make_valid_record):
    c = await as_user("ao")
    await make_valid_record(c)
    await c.post(SUBMIT, json={"commitment": True})
    await reviewer_decides(server, c.openid, "approved")
    r = await c.patch("/api/v1/me/record", json={"contact": {"mobile": "13900139000"}})
    assert r.status == 409 and r.error_code == "record_locked" and "审核通过" in r.json["error"]["message"]
    r = await c.post(SUBMIT, json={"commitment": True})
    assert r.status == 409


async def test_submission_re_checks_the_stored_data(
    make_server, as_user, make_valid_record, http_factory, tmp_path, settings
):
    c = await as_user("ap")
    await make_valid_record(c)  # region 350203 (思明区)
    config = json.loads(Path(settings.districts_file).read_text(encoding="utf-8"))
    config["districts"] = [d for d in config["districts"] if d["code"] != "350203"]
    path = tmp_path / "districts.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    moved = await make_server(districts_file=str(path))
    r = await http_factory(moved).post(SUBMIT, json={"commitment": True}, token=c.token)
    assert r.status == 422
    assert {"field": "region_code", "code": "region_not_served"}.items() <= r.json["error"]["fields"][0].items()


async def test_concurrent_submits_through_two_instances_give_one_success(
    server, make_server, as_user, make_valid_record, http_factory
):
    other = await make_server()  # a second app instance on the same database
    c = await as_user("aq")
    await make_valid_record(c)
    clients = [http_factory(server if i % 2 else other) for i in range(8)]
    results = await asyncio.gather(*[x.post(SUBMIT, json={"commitment": True}, token=c.token) for x in clients])
    assert sorted(r.status for r in results) == [200] + [409] * 7
    doc = await server.services.db["applications"].find_one({"openid": c.openid})
    assert doc["status"] == "submitted"
    assert [h["status"] for h in doc["history"]] == ["draft", "submitted"]
