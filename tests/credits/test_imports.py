"""Providers' credit files over real HTTP and the real database (real .xlsx and .csv files): the
preview lists bad rows and writes nothing; a file with bad rows is refused whole; the same file
twice changes nothing; undo removes exactly that import's credits; city administrators only."""

from __future__ import annotations

from tests.credits.conftest import (
    DUTIES,
    IMPORTS,
    B,
    city_admin,
    csv_bytes,
    reviewer,
    row,
    upload_file,
    xlsx,
)


async def credit_docs(services) -> list[dict]:
    return [d async for d in services.db["ce_credits"].find({})]


async def test_a_file_with_bad_rows_is_previewed_row_by_row_and_writes_nothing(server, person, staff_client):
    s = server.services
    _, rec = await person("imp-bad-1")
    _, other = await person("imp-bad-2", region=B)
    admin = await city_admin(server, staff_client)
    rows = [
        row(rec, 2024, 60),  # 2: fine
        ["110105194912310029", "无档案", 2024, 30, "专业科目", "厦门会计学院", "税法"],  # 3: no archive (seed 001)
        [other["profile"]["id_number"], "李四", 2024, 30, "专业科目", "厦门会计学院", "税法"],  # 4: name mismatch
        row(rec, 1999, 30, course="财务报告"),  # 5: bad year
        row(rec, 2024, "三十", course="内部控制"),  # 6: bad credits
        row(rec, 2024, 60),  # 7: the same as row 2
        row(rec, 2024, 10, ctype="选修"),  # 8: bad type
    ]
    data = xlsx(rows)
    r = await upload_file(admin, f"{IMPORTS}/preview", data)
    assert r.status == 200, r.text
    p = r.json
    codes = {(e["row"], e["code"]) for e in p["errors"]}
    assert codes == {
        (3, "no_archive"),
        (4, "name_mismatch"),
        (5, "bad_year"),
        (6, "bad_credits"),
        (7, "duplicate_in_file"),
        (8, "bad_type"),
    }, p["errors"]
    assert p["rows"] == 7 and p["valid"] == 1 and p["invalid"] == 6 and p["already_imported"] is None
    assert all("*" in e["id_number"] for e in p["errors"] if e["row"] != 6 or e["id_number"])
    assert "第 2 行" in next(e["message"] for e in p["errors"] if e["code"] == "duplicate_in_file")
    assert await credit_docs(s) == [] and await s.db["ce_imports"].count_documents({}) == 0

    refused = await upload_file(admin, IMPORTS, data)
    assert refused.status == 422 and refused.error_code == "import_has_errors", refused.text
    assert "未导入任何学分" in refused.json["error"]["message"]
    assert await credit_docs(s) == [] and await s.db["ce_imports"].count_documents({}) == 0
    assert await s.db["ce_import_digests"].count_documents({}) == 0

    # only the valid rows, when asked
    r = await upload_file(admin, IMPORTS, data, skip_invalid="1")
    assert r.status == 201, r.text
    assert r.json["counts"]["added"] == 1 and r.json["counts"]["invalid"] == 6
    assert [e["year"] for e in (await s.db["ce_credits"].find_one({"_id": rec["archive_no"]}))["entries"]] == [2024]


async def test_unreadable_files_and_missing_columns_are_422(server, staff_client):
    admin = await city_admin(server, staff_client)
    r = await upload_file(admin, f"{IMPORTS}/preview", b"PK\x03\x04not really a zip", "x.xlsx")
    assert r.status == 422 and r.error_code == "file_unreadable", r.text
    r = await upload_file(admin, f"{IMPORTS}/preview", xlsx([["1"]], header=["证件号码", "姓名"]))
    assert r.status == 422 and r.error_code == "missing_columns" and "学分" in r.json["error"]["message"]
    r = await admin.http.post(f"{IMPORTS}/preview", json={}, headers={"X-XSRF-Token": admin.xsrf})
    assert r.status == 400 and r.error_code == "not_multipart"


async def test_the_same_file_twice_changes_nothing_and_the_same_rows_again_are_not_added(server, person, staff_client):
    s = server.services
    _, rec = await person("imp-twice")
    admin = await city_admin(server, staff_client)
    rows = [row(rec, 2023, 60), row(rec, 2023, 30, ctype="公需科目", course="职业道德")]
    data = xlsx(rows)
    first = await upload_file(admin, IMPORTS, data)
    assert first.status == 201 and first.json["counts"]["added"] == 2, first.text
    before = await credit_docs(s)
    standing = await s.db["standings"].find_one({"_id": rec["archive_no"]})
    again = await upload_file(admin, IMPORTS, data)
    assert again.status == 200 and again.json["already_imported"] is True, again.text
    assert again.json["id"] == first.json["id"]
    assert await credit_docs(s) == before and await s.db["ce_imports"].count_documents({}) == 1
    assert await s.db["standings"].find_one({"_id": rec["archive_no"]}) == standing
    # the same rows in another file (a CSV, GB18030 as Excel writes it): nothing new either
    r3 = await upload_file(admin, IMPORTS, csv_bytes(rows, "gb18030"), "credits.csv")
    assert r3.status == 201, r3.text
    assert r3.json["counts"]["added"] == 0 and r3.json["counts"]["already_present"] == 2
    assert await credit_docs(s) == before
    view = (await admin.get(f"/admin/api/ce-credits/{rec['archive_no']}")).json
    year = next(y for y in view["years"] if y["year"] == 2023)
    assert year["credits_total"] == 90 and year["credits_professional"] == 60 and year["complete"] is True
    listed = (await admin.get(IMPORTS)).json
    assert listed["total"] >= 2 and listed["items"][0]["by"] == "ce-city"


async def test_undo_removes_exactly_that_import_and_the_file_may_come_again(server, person, staff_client):
    s = server.services
    client, rec = await person("imp-undo")
    admin = await city_admin(server, staff_client)
    keep = await upload_file(admin, IMPORTS, xlsx([row(rec, 2022, 90)]))
    assert keep.status == 201, keep.text
    data = xlsx([row(rec, 2023, 90), row(rec, 2022, 90)])  # 2022's row is already there: not this import's
    undo_me = await upload_file(admin, IMPORTS, data)
    assert undo_me.status == 201 and undo_me.json["counts"]["added"] == 1, undo_me.text
    manual = await admin.post(
        "/admin/api/ce-credits",
        json={"archive_no": rec["archive_no"], "year": 2023, "credits": 5, "type": "general", "course": "补录"},
    )
    assert manual.status == 201, manual.text
    assert {e["year"] for e in (await client.get(DUTIES)).json["years"] if e["credits_total"] >= 90} == {2022, 2023}

    r = await admin.post(f"{IMPORTS}/{undo_me.json['id']}/undo")
    assert r.status == 200 and r.json["state"] == "undone" and r.json["counts"]["removed"] == 1, r.text
    entries = (await s.db["ce_credits"].find_one({"_id": rec["archive_no"]}))["entries"]
    assert sorted((e["year"], e["source"]) for e in entries) == [(2022, "import"), (2023, "manual")]
    assert all(str(e.get("import_id")) != undo_me.json["id"] for e in entries)
    duties = (await client.get(DUTIES)).json
    assert next(y for y in duties["years"] if y["year"] == 2023)["credits_total"] == 5
    again = await admin.post(f"{IMPORTS}/{undo_me.json['id']}/undo")
    assert again.status == 409 and again.error_code == "import_undone"
    back = await upload_file(admin, IMPORTS, data)  # the digest is free again
    assert back.status == 201 and back.json["counts"]["added"] == 1, back.text
    audit = [a async for a in s.db["audit_log"].find({"kind": "ce_credits"})]
    assert {a["action"] for a in audit} >= {"ce_import", "ce_import_undone", "ce_credit_added"}


async def test_imports_are_for_city_administrators_and_people_outside_a_district_are_404(server, person, staff_client):
    _, rec = await person("imp-rev")
    rev_b = await reviewer(server, staff_client, "ce-rev-b", [B])
    r = await upload_file(rev_b, f"{IMPORTS}/preview", xlsx([row(rec, 2024, 10)]))
    assert r.status == 403 and r.error_code == "ce_import_city_admin_only", r.text
    assert (await rev_b.get(f"/admin/api/ce-credits/{rec['archive_no']}")).status == 404
    r = await rev_b.post(
        "/admin/api/ce-credits",
        json={"archive_no": rec["archive_no"], "year": 2024, "credits": 5, "type": "general", "course": "x"},
    )
    assert r.status == 404 and r.error_code == "archive_not_found"
    rev_a = await reviewer(server, staff_client, "ce-rev-a", [rec["region_code"]])
    bad = await rev_a.post(
        "/admin/api/ce-credits", json={"archive_no": rec["archive_no"], "year": 1990, "credits": -1, "type": "x"}
    )
    assert bad.status == 422 and {f["field"] for f in bad.json["error"]["fields"]} >= {"year", "credits", "type"}
    assert await server.services.db["ce_credits"].count_documents({}) == 0
