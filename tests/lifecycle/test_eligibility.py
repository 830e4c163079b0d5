"""Who must register (采集对象): a complete first collection with neither a qualification nor an
accounting post is refused with not_eligible and told why; either one makes it acceptable."""

from __future__ import annotations

import pytest

from tests.miniprogram.conftest import jpeg_bytes
from tests.records import idgen

SUBMIT = "/api/v1/me/record/submit"


async def test_neither_qualified_nor_in_post_is_not_eligible(server, as_user, make_valid_record, upload):
    person = await as_user("student")
    view = await make_valid_record(person, in_post=False, qualification="none")
    assert view["missing"] == [], view["missing"]  # complete: only eligibility can refuse it
    assert view["qualification"]["level"] == "none" and view["employment"]["in_post"] is False
    r = await person.post(SUBMIT, json={"commitment": True})
    assert r.status == 422 and r.error_code == "not_eligible", r.text
    message = r.json["error"]["message"]
    assert "会计专业技术资格" in message and "会计工作" in message and "不需要采集" in message
    assert r.json["error"]["fields"] == [{"field": "qualifications", "code": "not_eligible", "message": message}]
    after = (await person.get("/api/v1/me/record")).json
    assert after["status"] == "draft" and after["version"] == view["version"] and after["submitted_at"] is None
    doc = await server.services.db["applications"].find_one({"openid": person.openid})
    assert [h["status"] for h in doc["history"]] == ["draft"]
    assert await server.services.db["lifecycle_jobs"].count_documents({}) == 0

    # Still editable: taking up an accounting post (with its work proof) makes it acceptable.
    r = await person.patch(
        "/api/v1/me/record",
        json={
            "work_history": [
                {
                    "unit_name": "厦门某某有限公司",
                    "unit_credit_code": idgen.uscc(),
                    "unit_nature": "enterprise",
                    "industry": "I",
                    "post": "cashier",
                    "from": "2012-08-01",
                }
            ],
            "employment": {"accounting_since": "2012-08-01"},
        },
    )
    assert r.status == 200, r.text
    assert r.json["employment"]["in_post"] is True
    assert [m["field"] for m in r.json["missing"]] == ["work_history.0.proof"]
    entry = r.json["work_history"][0]["id"]
    assert (await upload(person, "work_proof", jpeg_bytes(), entry=entry)).status == 201
    r = await person.post(SUBMIT, json={"commitment": True})
    assert r.status == 200 and r.json["status"] == "submitted", r.text


@pytest.mark.parametrize("qualification,in_post", [("junior", False), ("none", True), ("intermediate", True)])
async def test_a_qualification_or_an_accounting_post_is_enough(
    server, as_user, make_valid_record, qualification, in_post
):
    person = await as_user(f"ok-{qualification}-{in_post}")
    await make_valid_record(person, in_post=in_post, qualification=qualification)
    r = await person.post(SUBMIT, json={"commitment": True})
    assert r.status == 200, r.text
    assert r.json["status"] == "submitted" and r.json["submitted_at"]
    assert r.json["history"][-1]["status"] == "submitted"
