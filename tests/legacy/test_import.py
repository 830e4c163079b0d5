"""Staff import the old register over real HTTP into the real database: preview with per-row
errors writes nothing; confirm writes; the same file again changes nothing; history; limits."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.legacy.conftest import (
    HEADER,
    IMPORTS,
    A,
    B,
    confirm,
    csv_bytes,
    imported,
    number,
    person,
    upload,
    xlsx_bytes,
)


async def register_docs(server) -> list[dict]:
    return [d async for d in server.services.db["legacy_register"].find({})]


async def test_bad_rows_are_listed_in_the_preview_and_nothing_is_written(server, staff):
    rows = [
        person(1, "王小明"),  # row 2: good
        person(2, "李四", id_number="350203199001011235"),  # row 3: bad check character
        person(3, "张三", first_work_date="2005-02-30"),  # row 4: no such date
        person(4, "赵六", region="鼓浪屿区"),  # row 5: not a district of the city
        person(1, "王小明"),  # row 6: the same person again
        person(5, ""),  # row 7: no name
        person(6, "钱七", ce_years="2019=90"),  # row 8: bad continuing-education cell
        person(7, "孙八", first_work_date="2099-01-01"),  # row 9: in the future
        person(8, "周九"),  # row 10: good
    ]
    data = xlsx_bytes(rows)
    r = await upload(staff["city"], data, "原档案.xlsx")
    assert r.status == 201, r.text
    preview = r.json
    assert preview["state"] == "previewed" and preview["file_name"] == "原档案.xlsx"
    assert preview["counts"] == {"rows": 9, "error_rows": 7, "valid": 2, "new": 2, "changed": 0, "unchanged": 0}
    by_row = {(e["row"], e["field"], e["code"]) for e in preview["errors"]}
    assert by_row == {
        (3, "id_number", "invalid_id_number"),
        (4, "first_work_date", "invalid_date"),
        (5, "region", "unknown_region"),
        (6, "id_number", "duplicate_row"),
        (7, "name", "required"),
        (8, "ce_years", "invalid_ce"),
        (9, "first_work_date", "future_date"),
    }, preview["errors"]
    assert not preview["confirmable"]
    assert all("王小明" not in e["message"] and number(1) not in e["message"] for e in preview["errors"])
    assert [s["row"] for s in preview["sample"]] == [2, 10] and preview["sample"][0]["name_masked"] == "王*明"
    assert await register_docs(server) == []

    c = await confirm(staff["city"], preview["id"], data)
    assert c.status == 409 and c.error_code == "import_has_errors", c.text
    assert await register_docs(server) == []

    history = (await staff["city"].get(IMPORTS)).json["items"]
    assert [(h["id"], h["state"], h["by"]) for h in history] == [(preview["id"], "previewed", "lg-city")]
    assert len(history[0]["sha256"]) == 64 and history[0]["counts"]["error_rows"] == 7


async def test_confirm_writes_and_the_same_file_again_changes_nothing(server, staff):
    rows = [person(1, "王小明"), person(2, "歐陽娜娜", region="350205"), person(3, "阿依古丽·买买提", ce_years="")]
    data = csv_bytes(rows, encoding="gb18030")  # as Excel saves "CSV" in China
    first = await imported(staff["city"], data, "register.csv")
    assert first["state"] == "confirmed" and first["written"] == {"new": 3, "changed": 0}
    docs = {d["_id"]: d for d in await register_docs(server)}
    assert set(docs) == {number(1), number(2), number(3)}
    one = docs[number(1)]
    assert (one["name"], one["region_code"], one["archive_no_old"], one["first_work_date"]) == (
        "王小明",
        A,
        "XM-00001",
        "2005-03-01",
    )
    assert one["old_certificate_no"] == "350200000000001"
    assert one["past_employers"] == [
        {"unit_name": "厦门甲公司", "from": "2005-03-01", "to": "2010-06-30"},
        {"unit_name": "厦门乙公司", "from": "2010-07-01", "to": "2015-12-31"},
    ]
    assert one["ce_years"] == [
        {"year": 2019, "credits": 90},
        {"year": 2020, "credits": 72},
        {"year": 2021, "status": "passed"},
    ]
    assert docs[number(2)]["region_code"] == B and docs[number(2)]["name"] == "歐陽娜娜"
    stamps = {k: d["updated_at"] for k, d in docs.items()}

    again = await upload(staff["city"], data, "register.csv")
    assert again.json["counts"] == {"rows": 3, "error_rows": 0, "valid": 3, "new": 0, "changed": 0, "unchanged": 3}
    done = await confirm(staff["city"], again.json["id"], data)
    assert done.status == 200 and done.json["written"] == {"new": 0, "changed": 0}, done.text
    assert {d["_id"]: d["updated_at"] for d in await register_docs(server)} == stamps

    rows[0] = person(1, "王小明", first_work_date="2004-09-01")  # one changed, one new, two unchanged
    changed = await imported(staff["city"], xlsx_bytes([*rows, person(4, "周九")]))
    assert changed["counts"]["new"] == 1 and changed["counts"]["changed"] == 1 and changed["counts"]["unchanged"] == 2
    after = {d["_id"]: d for d in await register_docs(server)}
    assert after[number(1)]["first_work_date"] == "2004-09-01" and after[number(1)]["created_at"] == one["created_at"]
    assert len(after) == 4

    history = (await staff["city"].get(IMPORTS)).json["items"]
    assert [h["state"] for h in history] == ["confirmed"] * 3
    assert history[0]["written"] == {"new": 1, "changed": 1}


async def test_confirm_takes_only_the_previewed_file_once_and_only_from_whoever_previewed(server, staff):
    data = xlsx_bytes([person(1)])
    r = await upload(staff["a"], data)
    other = xlsx_bytes([person(2)])
    c = await confirm(staff["a"], r.json["id"], other)
    assert c.status == 409 and c.error_code == "file_changed", c.text
    assert (await confirm(staff["city"], r.json["id"], data)).status == 404  # not theirs to confirm
    assert (await confirm(staff["b"], r.json["id"], data)).status == 404  # nor to see
    assert (await staff["b"].get(f"{IMPORTS}/{r.json['id']}")).status == 404
    assert (await confirm(staff["a"], r.json["id"], data)).status == 200
    c = await confirm(staff["a"], r.json["id"], data)
    assert c.status == 409 and c.error_code == "import_already_confirmed"
    assert (await confirm(staff["a"], "0" * 24, data)).status == 404
    assert len(await register_docs(server)) == 1


async def test_a_reviewer_imports_only_for_their_districts(server, staff):
    await imported(staff["city"], xlsx_bytes([person(1, "王小明", region="海沧区")]))  # registered in B
    data = xlsx_bytes([person(2, "李四", region="海沧区"), person(1, "王小明", region="思明区"), person(3, "张三")])
    r = await upload(staff["a"], data)
    assert r.status == 201, r.text
    assert {(e["row"], e["code"]) for e in r.json["errors"]} == {(2, "region_forbidden"), (3, "other_region")}
    assert r.json["counts"]["new"] == 1
    assert (await confirm(staff["a"], r.json["id"], data)).error_code == "import_has_errors"
    assert {d["_id"]: d["region_code"] for d in await register_docs(server)} == {number(1): B}
    # the reviewer of B sees the city's import touching B, not the reviewer of A's preview
    assert [h["by"] for h in (await staff["b"].get(IMPORTS)).json["items"]] == ["lg-city"]


async def test_columns_by_header_in_any_order_and_one_column_per_year(server, staff):
    header = ["证件号码", "姓名", "所在区", "继续教育2019", "2020年学分", "首次参加会计工作日期"]
    rows = [[number(1), "王小明", "350203", 90, "合格", "2001/3/5"], [number(2), "李四", "思明区", None, 24, 20020101]]
    data = xlsx_bytes(rows, header=header)
    done = await imported(staff["city"], data)
    assert done["written"]["new"] == 2
    docs = {d["_id"]: d for d in await register_docs(server)}
    assert docs[number(1)]["ce_years"] == [{"year": 2019, "credits": 90}, {"year": 2020, "status": "passed"}]
    assert docs[number(1)]["first_work_date"] == "2001-03-05" and docs[number(2)]["first_work_date"] == "2002-01-01"
    assert docs[number(2)]["archive_no_old"] is None and docs[number(2)]["past_employers"] == []


async def test_excel_unicode_text_is_read_too(server, staff):
    text = "\r\n".join("\t".join(str(c) for c in row) for row in [HEADER, person(1, "王小明"), person(2, "李四")])
    r = await upload(staff["city"], text.encode("utf-16"), "register.txt")
    assert r.status == 201 and r.json["counts"]["valid"] == 2, r.text


async def test_an_id_number_stored_as_an_excel_number_is_a_row_error(server, staff):
    data = xlsx_bytes([person(1, id_number=float(number(1)[:15]))])
    r = await upload(staff["city"], data)
    assert r.json["errors"][0]["code"] == "id_number_not_text", r.text


async def test_whole_file_problems_are_clear_4xx_and_write_nothing(make_server, http_factory, staff_client):
    from tests.legacy.conftest import add_staff

    server = await make_server(legacy_import_max_mb=1, legacy_import_max_rows=3)
    await add_staff(server.services, "lg-city2", role="city_admin", regions=[])
    city = await staff_client(server, "lg-city2")
    cases = [
        (b"", 400, "empty_file"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 100, 415, "unsupported_file_type"),
        (b"PK\x03\x04 not really a zip", 422, "corrupt_file"),
        (csv_bytes([["x"]], header=["姓名", "备注"]), 422, "missing_columns"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, 415, "unsupported_file_type"),
        (b"name,\x80\x80\x80" * 10, 422, "undecodable_file"),
        (csv_bytes([person(i) for i in range(1, 5)]), 413, "too_many_rows"),
        (b"a" * (1024 * 1024 + 1), 413, "file_too_large"),
    ]
    for data, status, code in cases:
        r = await upload(city, data, "x.csv")
        assert (r.status, r.error_code) == (status, code), (code, r.status, r.text)
    assert [d async for d in server.services.db["legacy_register"].find({})] == []
    assert (await city.http.post(IMPORTS, raw=b"x")).status == 403  # no XSRF header
    anonymous = http_factory(server)
    assert (await anonymous.post(IMPORTS, raw=b"x")).status == 401


async def test_the_template_downloads_and_imports_as_it_is(server, staff):
    xlsx = await staff["a"].get("/admin/api/legacy/template?format=xlsx")
    assert xlsx.status == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(xlsx.body))
    assert [c.value for c in wb.worksheets[0][1]] == HEADER and wb.sheetnames == ["原会计档案", "填写说明"]
    csv_template = await staff["a"].get("/admin/api/legacy/template?format=csv")
    assert csv_template.body.startswith(b"\xef\xbb\xbf")
    assert (await staff["a"].get("/admin/api/legacy/template?format=pdf")).error_code == "invalid_argument"
    for data in (xlsx.body, csv_template.body):
        r = await upload(staff["a"], data, "template")
        assert r.json["counts"]["error_rows"] == 0 and r.json["counts"]["valid"] == 1, r.text


async def test_a_register_row_the_index_does_not_know_is_taken_over(server, staff):
    # e.g. written by a confirmation cut short between the register and its index
    await server.services.db["legacy_register"].insert_one({"_id": number(1), "name": "旧名", "region_code": A})
    done = await imported(staff["city"], xlsx_bytes([person(1, "王小明"), person(2, "李四")]))
    assert done["written"] == {"new": 2, "changed": 0}
    docs = {d["_id"]: d for d in await register_docs(server)}
    assert docs[number(1)]["name"] == "王小明" and docs[number(1)]["past_employers"]
    again = await upload(staff["city"], xlsx_bytes([person(1, "王小明"), person(2, "李四")]))
    assert again.json["counts"]["unchanged"] == 2
