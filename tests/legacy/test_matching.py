"""A person entering an ID number the register holds, over the mini-program's real HTTP API:
the same name (traditional or simplified) prefills and locks; another name goes to the
district's staff, who see both names and link or dismiss; nothing personal reaches the logs."""

from __future__ import annotations

import logging

from tests.legacy.conftest import A, imported, number, person, xlsx_bytes
from tests.miniprogram.conftest import as_user  # noqa: F401

RECORD = "/api/v1/me/record"
MISMATCHES = "/admin/api/legacy/mismatches"


def profile(n: int, name: str | None) -> dict:
    body = {"id_type": "resident_id", "id_number": number(n)}
    if name is not None:
        body["name"] = name
    return {"profile": body}


async def test_a_person_matching_the_register_gets_a_prefilled_record_with_locked_fields(server, staff, as_user):  # noqa: F811
    await imported(staff["city"], xlsx_bytes([person(1, "张三", integrity_notes="2016年度会计信息质量检查：良好")]))
    me = await as_user("legacy-match")
    r = await me.patch(RECORD, json=profile(1, "張三"))  # the traditional form of the registered name
    assert r.status == 200, r.text
    rec = r.json
    legacy = rec["legacy"]
    assert legacy["source"] == "legacy_register" and legacy["archive_no_old"] == "XM-00001"
    assert legacy["first_work_date"] == "2005-03-01" and legacy["old_certificate_no"] == "350200000000001"
    assert [y["year"] for y in legacy["ce_years"]] == [2019, 2020, 2021]
    assert legacy["integrity_notes"] == ["2016年度会计信息质量检查：良好"]
    assert rec["employment"]["accounting_since"] == "2005-03-01"
    assert rec["employment"]["old_certificate_no"] == "350200000000001"
    assert [(w["unit_name"], w["from"], w["to"]) for w in rec["work_history"]] == [
        ("厦门甲公司", "2005-03-01", "2010-06-30"),
        ("厦门乙公司", "2010-07-01", "2015-12-31"),
    ]
    assert legacy["prefilled_work_history"] == [w["id"] for w in rec["work_history"]]
    locked = {f["field"]: f for f in rec["locked_fields"]}
    assert set(locked) == {"employment.accounting_since", "employment.old_certificate_no"}
    assert locked["employment.accounting_since"]["source_label"] == "来自原会计档案"

    r = await me.patch(RECORD, json={"employment": {"accounting_since": "2010-01-01"}})
    assert r.status == 422, r.text
    item = r.json["error"]["fields"][0]
    assert (item["field"], item["code"]) == ("employment.accounting_since", "locked_by_register")
    r = await me.patch(RECORD, json={"legacy": {"first_work_date": "2010-01-01"}})
    assert r.status == 422 and r.json["error"]["fields"][0]["code"] == "read_only"
    again = (await me.get(RECORD)).json
    assert again["employment"]["accounting_since"] == "2005-03-01" and again["legacy"] == legacy

    r = await me.patch(RECORD, json={"contact": {"mobile": "13800138000"}})  # other edits keep the link
    assert r.status == 200 and r.json["legacy"]["matched_at"] == legacy["matched_at"]
    assert (await staff["a"].get(MISMATCHES)).json["total"] == 0


async def test_a_person_not_in_the_register_gets_nothing_and_no_case(server, staff, as_user):  # noqa: F811
    await imported(staff["city"], xlsx_bytes([person(1, "张三")]))
    me = await as_user("legacy-none")
    rec = (await me.patch(RECORD, json=profile(2, "张三"))).json
    assert rec.get("legacy") is None and rec["locked_fields"] == [] and rec["work_history"] == []
    assert (await staff["city"].get(MISMATCHES)).json["total"] == 0


async def test_a_name_mismatch_goes_to_the_districts_staff_and_prefills_nothing(server, staff, as_user, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG, logger="kjcj")
    await imported(staff["city"], xlsx_bytes([person(1, "张三"), person(2, "王小明")]))
    me = await as_user("legacy-mismatch")
    rec = (await me.patch(RECORD, json=profile(1, None))).json  # the number without a name: nothing yet
    assert rec.get("legacy") is None
    assert (await staff["a"].get(MISMATCHES)).json["total"] == 0
    rec = (await me.patch(RECORD, json={"profile": {"name": "张叁"}})).json
    assert rec.get("legacy") is None and rec["locked_fields"] == [] and rec["work_history"] == []
    assert rec["employment"].get("accounting_since") is None

    page = (await staff["a"].get(MISMATCHES)).json
    assert page["total"] == 1, page
    row = page["items"][0]
    assert (row["register_name_masked"], row["record_name_masked"]) == ("张*", "张*")
    assert row["id_masked"] == number(1)[:6] + "********" + number(1)[-4:]
    assert (await staff["b"].get(MISMATCHES)).json["total"] == 0  # not the reviewer of B's district
    assert (await staff["b"].get(f"{MISMATCHES}/{row['id']}")).status == 404
    case = (await staff["a"].get(f"{MISMATCHES}/{row['id']}")).json
    assert (case["register_name"], case["record_name"], case["state"]) == ("张三", "张叁", "open")

    r = await me.patch(RECORD, json={"profile": {"name": "张参"}})  # still not the register's: the case follows
    assert r.json.get("legacy") is None
    assert (await staff["a"].get(f"{MISMATCHES}/{row['id']}")).json["record_name"] == "张参"
    assert (await staff["a"].get(MISMATCHES)).json["total"] == 1

    r = await staff["a"].post(f"{MISMATCHES}/{row['id']}/resolve", json={"action": "merge"})
    assert r.status == 422, r.text
    r = await staff["a"].post(
        f"{MISMATCHES}/{row['id']}/resolve", json={"action": "link", "note": "已电话核实，曾用名"}
    )
    assert r.status == 200 and r.json["state"] == "linked" and r.json["resolved_by"] == "lg-rev-a", r.text
    rec = (await me.get(RECORD)).json
    assert rec["legacy"]["matched_by"] == "staff:lg-rev-a" and rec["employment"]["accounting_since"] == "2005-03-01"
    assert (await staff["a"].get(MISMATCHES)).json["total"] == 0
    again = await staff["a"].post(f"{MISMATCHES}/{row['id']}/resolve", json={"action": "dismiss"})
    assert again.status == 409 and again.error_code == "mismatch_closed"

    ours = [r for r in caplog.records if r.name.startswith("kjcj")]  # the service's logs, the access log included
    assert any("case" in r.getMessage() for r in ours)
    logged = "\n".join(r.getMessage() + str(getattr(r, "fields", "")) for r in ours)
    for secret in ("张三", "张叁", "张参", number(1)):
        assert secret not in logged, secret


async def test_a_dismissed_case_merges_nothing_and_a_corrected_name_matches_by_itself(server, staff, as_user):  # noqa: F811
    await imported(staff["city"], xlsx_bytes([person(1, "张三"), person(2, "王小明")]))
    one, two = await as_user("legacy-d1"), await as_user("legacy-d2")
    await one.patch(RECORD, json=profile(1, "李四"))
    await two.patch(RECORD, json=profile(2, "王晓明"))
    items = (await staff["city"].get(f"{MISMATCHES}?region={A}")).json["items"]
    assert len(items) == 2
    first = next(i for i in items if i["register_name_masked"] == "张*")
    r = await staff["a"].post(f"{MISMATCHES}/{first['id']}/resolve", json={"action": "dismiss", "note": "非本人"})
    assert r.status == 200 and r.json["state"] == "dismissed"
    assert (await one.get(RECORD)).json.get("legacy") is None

    rec = (await two.patch(RECORD, json={"profile": {"name": "王小明"}})).json  # corrected: matched now
    assert rec["legacy"]["matched_by"] == "auto"
    assert (await staff["city"].get(MISMATCHES)).json["total"] == 0
    second = next(i for i in items if i["id"] != first["id"])
    assert (await staff["a"].get(f"{MISMATCHES}/{second['id']}")).json["state"] == "matched"

    rec = (await two.patch(RECORD, json=profile(3, "王小明"))).json  # another number: the link goes
    assert rec.get("legacy") is None and rec["locked_fields"] == []
    assert rec["employment"]["accounting_since"] == "2005-03-01"  # the value stays, unlocked
    assert (await two.patch(RECORD, json={"employment": {"accounting_since": "2004-01-01"}})).status == 200
