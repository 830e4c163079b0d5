"""After approval the work history (履历) is only extended, by a change application: a change of
employer appends a new current period and closes the previous one the day before; earlier periods
cannot be rewritten (422 history_locked); new education entries need a proof like other proofs."""

from __future__ import annotations

from tests.lifecycle.conftest import CHANGES, RECORD, A, archive_of, changes_in_db, reviewer
from tests.miniprogram.conftest import form, jpeg_bytes
from tests.records import idgen

PROOF = "/api/v1/me/changes/proof"
APPS = "/admin/api/applications"


def new_employer(start: str) -> dict:
    return {
        "unit_name": "厦门新单位有限公司",
        "unit_credit_code": idgen.uscc(),
        "unit_nature": "public_institution",
        "industry": "P",
        "post": "accounting_head",
        "from": start,
    }


async def test_a_change_of_employer_appends_a_period_and_closes_the_previous_one(server, approved_person, staff_client):
    person, rec = await approved_person("wh-new")
    rev = await reviewer(server, staff_client, "rev-wh", [A])
    view = (await person.get(RECORD)).json
    [current] = view["work_history"]
    assert current.get("to") is None and view["employment"]["in_post"] is True
    body = {"changes": {"work_history": [current, new_employer("2024-03-01")]}, "reason": "调入新单位"}

    r = await person.post(CHANGES, json=body)  # the new period needs its proof (the appointment)
    assert r.status == 422 and r.error_code == "proof_required", r.text
    assert [f["field"] for f in r.json["error"]["fields"]] == ["work_history.1"]
    assert await changes_in_db(server.services) == []

    assert (await person.post(PROOF, data=form(jpeg_bytes((300, 200)), "proof.jpg"))).status == 201
    r = await person.post(CHANGES, json=body)
    assert r.status == 201, r.text
    rows = {row["field"]: row for row in r.json["changes"]}
    history = rows["work_history"]["new"]
    assert [e.get("to") for e in history] == ["2024-02-29", None]  # closed the day before
    assert history[0]["id"] == current["id"] and history[1]["proof"] == "change_proof"
    assert rows["employment.unit_name"]["new"] == "厦门新单位有限公司"
    assert rows["work_history"]["label"] == "会计工作履历"

    cid = r.json["id"]
    detail = (await rev.get(f"{APPS}/{cid}")).json
    shown = {row["path"]: row for row in detail["change"]["rows"]}
    assert "厦门新单位有限公司" in shown["work_history"]["new_display"]
    r = await rev.post(f"{APPS}/{cid}/decision", json={"decision": "approve", "version": detail["version"]})
    assert r.status == 200, r.text

    data = (await archive_of(server.services, rec))["data"]
    assert [e["unit_name"] for e in data["work_history"]] == [current["unit_name"], "厦门新单位有限公司"]
    assert data["employment"]["unit_name"] == "厦门新单位有限公司" and data["employment"]["post"] == "accounting_head"
    view = (await person.get(RECORD)).json
    assert view["employment"]["unit_name"] == "厦门新单位有限公司" and len(view["work_history"]) == 2

    # the earlier periods are kept as approved
    rewritten = [{**view["work_history"][0], "unit_name": "改写的单位"}, view["work_history"][1]]
    before = await changes_in_db(server.services)
    for history, field in (
        (rewritten, "work_history.0"),
        (view["work_history"][1:], "work_history.0"),  # one left out
        ([{**view["work_history"][0], "to": "2023-12-31"}, view["work_history"][1]], "work_history.0"),  # its end
    ):
        r = await person.post(CHANGES, json={"changes": {"work_history": history}})
        assert r.status == 422 and r.error_code == "history_locked", r.text
        assert r.json["error"]["fields"][0]["field"] == field
        assert "履历" in r.json["error"]["message"] or "工作经历" in r.json["error"]["message"]
    assert await changes_in_db(server.services) == before

    # the derived summary is never changed directly
    r = await person.post(CHANGES, json={"changes": {"employment": {"unit_name": "别处"}}})
    assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "derived_field"


async def test_leaving_the_post_closes_the_current_period(server, approved_person):
    person, rec = await approved_person("wh-leave")
    view = (await person.get(RECORD)).json
    [current] = view["work_history"]
    r = await person.post(CHANGES, json={"changes": {"work_history": [{**current, "to": "2025-06-30"}]}})
    assert r.status == 201, r.text  # no new entry: no proof needed
    rows = {row["field"]: row for row in r.json["changes"]}
    assert rows["employment.in_post"]["new"] is False and rows["work_history"]["new"][0]["to"] == "2025-06-30"


async def test_a_new_education_entry_in_a_change_needs_a_proof(server, approved_person):
    person, rec = await approved_person("wh-edu")
    view = (await person.get(RECORD)).json
    master = {
        "level": "master",
        "school": "厦门大学",
        "major": "会计学",
        "mode": "part_time",
        "from": "2019-09-01",
        "to": "2022-06-30",
        "degree": "master",
    }
    body = {"changes": {"educations": [*view["educations"], master]}}
    r = await person.post(CHANGES, json=body)
    assert r.status == 422 and r.error_code == "proof_required"
    assert [f["field"] for f in r.json["error"]["fields"]] == ["educations.1"]
    assert (await person.post(PROOF, data=form(jpeg_bytes((300, 200)), "proof.jpg"))).status == 201
    r = await person.post(CHANGES, json=body)
    assert r.status == 201, r.text
    rows = {row["field"]: row for row in r.json["changes"]}
    assert rows["education.level"]["old"] == "bachelor" and rows["education.level"]["new"] == "master"
