"""Spot-check outcomes (抽查) on an approved record: a correction order opens a change in state
"ordered" that the person answers with their next change; "confirmed" is recorded on the archive;
bad bodies, records not approved and other districts are refused without a trace."""

from __future__ import annotations

import pytest
from bson import ObjectId

from tests.lifecycle.conftest import (
    CHANGES,
    MESSAGES,
    RECORD,
    A,
    B,
    archive_of,
    changes_in_db,
    insert_record,
    reviewer,
)

APPS = "/admin/api/applications"
REASON = "手机号码已停用，请更新联系方式"


def spot_url(record_id) -> str:
    return f"/admin/api/records/{record_id}/spot-check"


async def test_a_correction_order_is_answered_by_the_next_change(server, approved_person, staff_client):
    rev = await reviewer(server, staff_client, "rev-a", [A])
    person, rec = await approved_person("sc")

    r = await rev.post(spot_url(rec["_id"]), json={"outcome": "correction", "reason": REASON})
    assert r.status == 200, r.text
    [check] = r.json["archive"]["spot_checks"]
    assert check["outcome"] == "correction" and check["reason"] == REASON and check["by"] == "rev-a"
    order_id = str(check["change_id"])

    # The person sees the ordered change, with the reason, and a correction_order message.
    listed = (await person.get(CHANGES)).json
    assert [(c["id"], c["status"]) for c in listed["changes"]] == [(order_id, "ordered")]
    assert listed["open"] == order_id
    assert listed["changes"][0]["ordered"]["reason"] == REASON and listed["changes"][0]["ordered"]["by"] == "rev-a"
    inbox = (await person.get(MESSAGES)).json["messages"]
    [order] = [m for m in inbox if m["kind"] == "correction_order"]
    assert REASON in order["body"] and order["data"]["result"] == "责令改正" and order["read"] is False

    # The audit log of the record shows the order.
    audit = (await rev.get(f"/admin/api/records/{rec['_id']}/audit")).json["items"]
    orders = [e for e in audit if e["action"] == "order"]
    assert len(orders) == 1 and orders[0]["actor"] == "rev-a" and orders[0]["reason"] == REASON
    assert orders[0]["after"]["status"] == "ordered" and orders[0]["kind"] == "change"
    assert (await archive_of(server.services, rec))["open_change"] == ObjectId(order_id)

    # A second order while this one is open is refused; nothing more is opened.
    r = await rev.post(spot_url(rec["_id"]), json={"outcome": "correction", "reason": "再次责令"})
    assert r.status == 409 and r.error_code == "change_open", r.text
    assert len(await changes_in_db(server.services)) == 1

    # The person's next change submits that same application.
    r = await person.post(CHANGES, json={"changes": {"contact": {"mobile": "13912345678"}}, "reason": "已更正"})
    assert r.status == 201, r.text
    assert r.json["id"] == order_id and r.json["status"] == "submitted"
    assert r.json["ordered"]["reason"] == REASON
    [stored] = await changes_in_db(server.services)
    assert str(stored["_id"]) == order_id and stored["status"] == "submitted"
    assert [h["status"] for h in stored["history"]] == ["ordered", "submitted"]

    queue = (await rev.get(f"{APPS}?kind=change&status=submitted")).json["items"]
    assert [i["id"] for i in queue] == [order_id]
    detail = (await rev.get(f"{APPS}/{order_id}")).json
    assert detail["change"]["ordered"]["reason"] == REASON
    assert [(row["path"], row["new"]) for row in detail["change"]["rows"]] == [("contact.mobile", "13912345678")]
    r = await rev.post(f"{APPS}/{order_id}/decision", json={"decision": "approve", "version": detail["version"]})
    assert r.status == 200, r.text
    archive = await archive_of(server.services, rec)
    assert archive["version"] == 2 and archive["data"]["contact"]["mobile"] == "13912345678"
    assert archive["open_change"] is None
    assert (await person.get(RECORD)).json["contact"]["mobile"] == "13912345678"


async def test_an_ordered_change_is_not_withdrawable_but_is_in_the_person_view(server, approved_person, staff_client):
    rev = await reviewer(server, staff_client, "rev-a", [A])
    person, rec = await approved_person("sw")
    r = await rev.post(spot_url(rec["_id"]), json={"outcome": "correction", "reason": REASON})
    order_id = str(r.json["archive"]["spot_checks"][0]["change_id"])
    mine = (await person.get(RECORD)).json
    assert [(c["id"], c["status"]) for c in mine["changes"]] == [(order_id, "ordered")]
    assert mine["archive"]["open_change"] == order_id
    r = await person.post(f"{CHANGES}/{order_id}/withdraw")
    assert r.status == 409, r.text  # the table has no withdraw from "ordered"
    assert (await server.services.db["applications"].find_one({"_id": ObjectId(order_id)}))["status"] == "ordered"


async def test_confirmed_is_recorded_on_the_archive_and_in_the_audit(server, approved_person, staff_client):
    rev = await reviewer(server, staff_client, "rev-a", [A])
    person, rec = await approved_person("ok")
    before = await archive_of(server.services, rec)
    r = await rev.post(spot_url(rec["_id"]), json={"outcome": "confirmed", "reason": "与原始档案核对无误"})
    assert r.status == 200, r.text
    [check] = r.json["archive"]["spot_checks"]
    assert check["outcome"] == "confirmed" and check["by"] == "rev-a" and check["reason"] == "与原始档案核对无误"

    archive = await archive_of(server.services, rec)
    [stored] = archive["spot_checks"]
    assert stored["outcome"] == "confirmed" and stored["by"] == "rev-a" and stored.get("change_id") is None
    assert archive["data"] == before["data"] and archive["version"] == before["version"]
    assert archive["open_change"] is None
    assert await changes_in_db(server.services) == []

    audit = (await rev.get(f"/admin/api/records/{rec['_id']}/audit")).json["items"]
    confirmed = [e for e in audit if e["action"] == "spot_check_confirmed"]
    assert len(confirmed) == 1 and confirmed[0]["actor"] == "rev-a"
    assert confirmed[0]["reason"] == "与原始档案核对无误"
    district_log = (await rev.get("/admin/api/audit")).json["items"]
    assert "spot_check_confirmed" in [e["action"] for e in district_log]

    # No message for a confirmation; a second check is recorded beside the first.
    assert [m["kind"] for m in (await person.get(MESSAGES)).json["messages"]] == ["review_result"]
    r = await rev.post(spot_url(rec["_id"]), json={"outcome": "confirmed"})
    assert r.status == 200, r.text
    assert len((await archive_of(server.services, rec))["spot_checks"]) == 2


@pytest.mark.parametrize(
    "body,field",
    [
        ({"outcome": "maybe", "reason": "x"}, "outcome"),
        ({"reason": "没有结果"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"outcome": ["correction"], "reason": "x"}, "outcome"),
        ({"outcome": "correction"}, "reason"),
        ({"outcome": "correction", "reason": "   "}, "reason"),
        ({"outcome": "correction", "reason": 42}, "reason"),
        ({"outcome": "confirmed", "reason": "长" * 201}, "reason"),
    ],
)
async def test_bad_spot_check_bodies_are_422_and_record_nothing(server, approved_person, staff_client, body, field):
    rev = await reviewer(server, staff_client, "rev-a", [A])
    person, rec = await approved_person("bad")
    before = await archive_of(server.services, rec)
    r = await rev.post(spot_url(rec["_id"]), json=body)
    assert r.status == 422 and r.error_code == "invalid_spot_check", r.text
    assert r.json["error"]["fields"][0]["field"] == field
    assert await archive_of(server.services, rec) == before
    assert await changes_in_db(server.services) == []
    assert [m["kind"] for m in (await person.get(MESSAGES)).json["messages"]] == ["review_result"]


@pytest.mark.parametrize("status", ["submitted", "draft", "rejected"])
async def test_a_record_not_approved_cannot_be_spot_checked(server, staff_client, status):
    rev = await reviewer(server, staff_client, "rev-a", [A])
    rec = await insert_record(server.services, status=status)
    before = await server.services.db["applications"].find_one({"_id": rec["_id"]})
    for outcome in ("correction", "confirmed"):
        r = await rev.post(spot_url(rec["_id"]), json={"outcome": outcome, "reason": REASON})
        assert r.status == 409 and r.error_code == "not_approved", r.text
    assert await server.services.db["applications"].find_one({"_id": rec["_id"]}) == before
    assert await changes_in_db(server.services) == []
    assert await server.services.db["archives"].count_documents({}) == 0


async def test_another_districts_reviewer_gets_404(server, approved_person, staff_client):
    rev_b = await reviewer(server, staff_client, "rev-b", [B])
    person, rec = await approved_person("far")
    before = await archive_of(server.services, rec)
    for outcome in ("correction", "confirmed"):
        r = await rev_b.post(spot_url(rec["_id"]), json={"outcome": outcome, "reason": REASON})
        assert r.status == 404 and r.error_code == "record_not_found", r.text
    r = await rev_b.post(spot_url(ObjectId()), json={"outcome": "confirmed"})
    assert r.status == 404 and r.error_code == "record_not_found"
    assert await archive_of(server.services, rec) == before
    assert await changes_in_db(server.services) == []
    assert [m["kind"] for m in (await person.get(MESSAGES)).json["messages"]] == ["review_result"]


async def test_a_change_cannot_be_spot_checked_as_a_record(server, approved_person, staff_client):
    """The spot check names an approved first collection; a change application's id is refused."""
    rev = await reviewer(server, staff_client, "rev-a", [A])
    person, rec = await approved_person("chg")
    r = await person.post(CHANGES, json={"changes": {"contact": {"mobile": "13912345678"}}})
    assert r.status == 201, r.text
    r = await rev.post(spot_url(r.json["id"]), json={"outcome": "confirmed"})
    assert r.status == 409 and r.error_code == "not_approved", r.text
    assert (await archive_of(server.services, rec))["spot_checks"] == []
