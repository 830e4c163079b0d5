"""Appointment registration (单位聘任入库备案) over real HTTP and the real database: a verified unit
administrator registers an accountant; the person's later claim of that ID number prefills their
current work period (unit, code, post, start) and the unit's confirmation is already given; another
unit's administrator gets 404 for the registration; ending it tells the person and makes them
非在岗 with the unit; bad registrations are 422/409 and change nothing; an applicant not yet
verified gets 403."""

from __future__ import annotations

import datetime as dt

from server.units import answers
from tests.lifecycle.conftest import A, approved_person, reviewer  # noqa: F401
from tests.miniprogram.conftest import form, jpeg_bytes
from tests.records import idgen

RECORD = "/api/v1/me/record"
MESSAGES = "/api/v1/me/messages"


def registration(id_number: str, name: str = "张三", post: str = "cashier", start: str = "2024-03-01") -> dict:
    return {"id_number": id_number, "name": name, "post": post, "from": start}


async def test_a_registered_appointment_prefills_the_later_collection_already_confirmed(
    server, make_unit_admin, as_user
):
    admin, uscc = await make_unit_admin("ap-admin")
    number = idgen.resident_id("350203", dt.date(1991, 4, 3), seq="321")
    r = await admin.post(f"/api/v1/unit/{uscc}/appointments", json=registration(number.lower()))
    assert r.status == 201, r.text
    made = r.json
    assert made["status"] == "active" and made["post"] == "cashier" and made["from"] == "2024-03-01"
    assert made["id_number"] == number[:6] + "********" + number[-4:]  # masked in what the unit reads
    listed = (await admin.get(f"/api/v1/unit/{uscc}/appointments")).json
    assert [i["id"] for i in listed["items"]] == [made["id"]] and listed["next"] is None

    person = await as_user("ap-person")
    r = await person.patch(RECORD, json={"profile": {"name": "张三", "id_type": "resident_id", "id_number": number}})
    assert r.status == 200, r.text
    current = [p for p in r.json["work_history"] if not p.get("to")]
    assert len(current) == 1, r.json["work_history"]
    period = current[0]
    assert period["unit_credit_code"] == uscc and period["unit_name"] == "厦门示例会计服务有限公司"
    assert period["post"] == "cashier" and period["from"] == "2024-03-01" and period["id"]
    assert r.json["employment"]["in_post"] is True and r.json["employment"]["unit_credit_code"] == uscc

    doc = await server.services.db["applications"].find_one({"_id": __import__("bson").ObjectId(r.json["id"])})
    assert answers.state_for(doc, uscc) == "confirmed"  # the unit's confirmation is already given
    assert doc["unit_confirmation"]["by"] == f"appointment:{made['id']}"

    # saving again changes nothing more (the period is not added twice)
    r = await person.patch(RECORD, json={"contact": {"email": "zs@example.com"}})
    assert len([p for p in r.json["work_history"] if not p.get("to")]) == 1

    mine = (await person.get("/api/v1/me/assessments")).json
    assert mine["appointments"][0]["unit_credit_code"] == uscc and mine["appointments"][0]["status"] == "active"
    assert mine["standing"]["in_post"] is True


async def test_a_name_that_differs_is_not_prefilled(server, make_unit_admin, as_user):
    admin, uscc = await make_unit_admin("ap-admin2")
    number = idgen.resident_id("350203", dt.date(1992, 6, 9), seq="111")
    assert (await admin.post(f"/api/v1/unit/{uscc}/appointments", json=registration(number, "李四"))).status == 201
    person = await as_user("ap-other-name")
    r = await person.patch(RECORD, json={"profile": {"name": "王五", "id_type": "resident_id", "id_number": number}})
    assert r.status == 200 and not r.json["work_history"]


async def test_ending_an_appointment_tells_the_person_and_other_units_get_404(server, make_unit_admin, as_user):
    admin, uscc = await make_unit_admin("end-admin")
    other, other_uscc = await make_unit_admin("end-other")
    number = idgen.resident_id("350203", dt.date(1989, 11, 30), seq="555")
    made = (await admin.post(f"/api/v1/unit/{uscc}/appointments", json=registration(number, "赵六"))).json
    person = await as_user("end-person")
    r = await person.patch(RECORD, json={"profile": {"name": "赵六", "id_type": "resident_id", "id_number": number}})
    assert r.status == 200 and r.json["employment"]["unit_credit_code"] == uscc

    # another unit: 404 for this registration, on its own unit's paths; 403 on this unit's
    assert (await other.get(f"/api/v1/unit/{other_uscc}/appointments/{made['id']}")).status == 404
    r = await other.post(f"/api/v1/unit/{other_uscc}/appointments/{made['id']}/end", json={})
    assert r.status == 404 and r.error_code == "appointment_not_found"
    assert (await other.post(f"/api/v1/unit/{uscc}/appointments/{made['id']}/end", json={})).status == 403
    assert (await other.get(f"/api/v1/unit/{other_uscc}/appointments")).json["items"] == []

    r = await admin.post(f"/api/v1/unit/{uscc}/appointments/{made['id']}/end", json={"to": "2099-01-01"})
    assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "date_in_future"
    r = await admin.post(
        f"/api/v1/unit/{uscc}/appointments/{made['id']}/end", json={"to": "2025-06-30", "reason": "合同到期"}
    )
    assert r.status == 200, r.text
    assert r.json["status"] == "ended" and r.json["to"] == "2025-06-30"
    r = await admin.post(f"/api/v1/unit/{uscc}/appointments/{made['id']}/end", json={})
    assert r.status == 409 and r.error_code == "appointment_ended"

    inbox = (await person.get(MESSAGES)).json["messages"]
    ended = [m for m in inbox if m["kind"] == "unit_appointment"]
    assert len(ended) == 1 and "2025-06-30" in ended[0]["body"] and "合同到期" in ended[0]["body"]
    assert "非在岗" in ended[0]["body"]
    mine = (await person.get("/api/v1/me/assessments")).json
    assert mine["standing"]["in_post"] is False and mine["standing"]["code"] == "no_current_period"
    assert mine["appointments"][0]["status"] == "ended"

    # registered again later: a new registration in force (the old one kept in its history)
    again = await admin.post(f"/api/v1/unit/{uscc}/appointments", json=registration(number, "赵六", start="2026-01-05"))
    assert again.status == 201 and again.json["id"] != made["id"] and again.json["status"] == "active"
    items = (await admin.get(f"/api/v1/unit/{uscc}/appointments?limit=1")).json
    assert items["items"][0]["id"] == made["id"] and items["next"] == made["id"]
    rest = (await admin.get(f"/api/v1/unit/{uscc}/appointments?after={items['next']}")).json
    assert [i["id"] for i in rest["items"]] == [again.json["id"]]


async def test_bad_registrations_change_nothing(server, make_unit_admin, apply_unit_admin):
    admin, uscc = await make_unit_admin("bad-admin")
    number = idgen.resident_id("350203", dt.date(1990, 1, 2), seq="222")
    r = await admin.post(
        f"/api/v1/unit/{uscc}/appointments",
        json={
            "id_number": number[:-1] + ("0" if number[-1] != "0" else "1"),
            "name": "",
            "post": "boss",
            "from": "2099-01-01",
            "x": 1,
        },
    )
    assert r.status == 422
    fields = {f["field"]: f["code"] for f in r.json["error"]["fields"]}
    assert fields == {
        "x": "unknown_field",
        "id_number": "id_number_checksum",
        "name": "empty",
        "post": "invalid_choice",
        "from": "date_in_future",
    }, fields
    assert (
        await admin.post(f"/api/v1/unit/{uscc}/appointments", raw=b"[1]", headers={"Content-Type": "application/json"})
    ).status == 400
    assert (await admin.get(f"/api/v1/unit/{uscc}/appointments")).json["items"] == []
    assert (await admin.post(f"/api/v1/unit/{uscc}/appointments", json=registration(number))).status == 201
    r = await admin.post(f"/api/v1/unit/{uscc}/appointments", json=registration(number, start="2024-05-01"))
    assert r.status == 409 and r.error_code == "appointment_exists"
    assert len((await admin.get(f"/api/v1/unit/{uscc}/appointments")).json["items"]) == 1
    assert (await admin.get(f"/api/v1/unit/{uscc}/appointments?after=zz")).status == 400

    applicant, _ = await apply_unit_admin("not-yet", uscc)  # applied, not verified
    r = await applicant.post(f"/api/v1/unit/{uscc}/appointments", json=registration(number))
    assert r.status == 403 and r.error_code == "not_unit_admin"


async def test_an_approved_change_of_employer_to_a_registering_unit_is_already_confirmed(
    server,
    make_unit_admin,
    approved_person,  # noqa: F811
    staff_client,
):
    admin, uscc = await make_unit_admin("chg-admin")
    person, rec = await approved_person("chg-person")
    number, name = rec["profile"]["id_number"], rec["profile"]["name"]
    made = await admin.post(
        f"/api/v1/unit/{uscc}/appointments", json=registration(number, name, "auditing", "2025-02-01")
    )
    assert made.status == 201, made.text
    assert (await admin.get(f"/api/v1/unit/{uscc}/people")).json["total"] == 0  # the archive names another unit

    view = (await person.get(RECORD)).json
    [current] = view["work_history"]
    mine = (await person.get("/api/v1/me/assessments")).json["appointments"]  # what the change form prefills from
    assert mine == [
        {
            "unit_name": "厦门示例会计服务有限公司",
            "unit_credit_code": uscc,
            "post": "auditing",
            "post_label": mine[0]["post_label"],
            "from": "2025-02-01",
            "to": None,
            "status": "active",
            "status_label": "在聘",
        }
    ]
    period = {k: mine[0][k] for k in ("unit_name", "unit_credit_code", "post", "from")}
    period.update(unit_nature="enterprise", industry="L")
    assert (await person.post("/api/v1/me/changes/proof", data=form(jpeg_bytes((300, 200)), "p.jpg"))).status == 201
    r = await person.post("/api/v1/me/changes", json={"changes": {"work_history": [current, period]}, "reason": "入职"})
    assert r.status == 201, r.text
    rev = await reviewer(server, staff_client, "rev-chg", [A])
    detail = (await rev.get(f"/admin/api/applications/{r.json['id']}")).json
    r = await rev.post(
        f"/admin/api/applications/{r.json['id']}/decision", json={"decision": "approve", "version": detail["version"]}
    )
    assert r.status == 200, r.text

    people = (await admin.get(f"/api/v1/unit/{uscc}/people")).json
    assert [(p["id"], p["confirmation"]) for p in people["items"]] == [(str(rec["_id"]), "confirmed")]
