"""The public query (issue 15 item 2), through real HTTP and the real database: whether a person has
completed collection (three words, nothing more; a wrong name answers like an unknown number), the
staff-published lists of the legacy register's people not yet collected (masked, paged), the limit
per client address (429 with Retry-After) and logs without the ID number."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from urllib.parse import quote

from server.masking import mask_id_number, mask_name, mask_uri
from server.publicquery import COMPLETED, IN_REVIEW, NOT_COMPLETED, judge, list_name
from tests.admin.conftest import A, B, add_staff, insert_record, staff_client  # noqa: F401
from tests.records import idgen

STATUS = "/api/v1/public/collection-status"
LIST = "/api/v1/public/not-collected"
ADMIN = "/admin/api/public-lists"


def status_url(name: str, number: str) -> str:
    return f"{STATUS}?name={quote(name)}&id_number={quote(number)}"


def person_id(n: int, region: str = A) -> str:
    return idgen.resident_id(region, dt.date(1980, n % 12 + 1, n % 28 + 1), seq=f"{n:03d}")


# -- (a) has this person completed collection? ------------------------------------------------


async def test_the_status_answers_one_of_three_words_and_a_wrong_name_looks_unknown(make_server, http_factory):
    server = await make_server(public_query_per_minute=100)
    s, http = server.services, http_factory(server)
    approved = await insert_record(s, name="刘晓东", status="approved")
    submitted = await insert_record(s, name="王小明", status="submitted")
    draft = await insert_record(s, name="张三", status="draft")
    rejected = await insert_record(s, name="李四", status="rejected")
    assert await s.db["archives"].find_one({"_id": approved["archive_no"]}) is not None

    async def ask(name: str, number: str):
        r = await http.get(status_url(name, number))
        assert r.status == 200, r.text
        assert set(r.json) == {"status", "label", "message"}  # no detail of the person
        assert number not in r.text and name not in r.text and "350203" not in r.text
        return r

    assert (await ask("刘晓东", approved["archive_no"])).json["status"] == COMPLETED
    assert (await ask("劉曉東", approved["archive_no"])).json["status"] == COMPLETED  # traditional characters
    assert (await ask(" 刘晓东 ", approved["archive_no"].lower())).json["status"] == COMPLETED
    assert (await ask("王小明", submitted["archive_no"])).json["status"] == IN_REVIEW
    assert (await ask("张三", draft["archive_no"])).json["status"] == NOT_COMPLETED
    assert (await ask("李四", rejected["archive_no"])).json["status"] == NOT_COMPLETED

    unknown = await ask("刘晓东", person_id(999))
    assert unknown.json["status"] == NOT_COMPLETED
    for name, number in (("刘晓冬", approved["archive_no"]), ("王小", submitted["archive_no"])):
        wrong = await ask(name, number)
        assert wrong.body == unknown.body  # byte for byte: the number's existence is not told

    # POST with the same fields in a JSON body (recommended: nothing in the URL) answers the same
    r = await http.post(STATUS, json={"name": "刘晓东", "id_number": approved["archive_no"]})
    assert r.status == 200 and r.json["status"] == COMPLETED, r.text


async def test_a_malformed_query_is_a_422_naming_the_field(make_server, http_factory):
    server = await make_server(public_query_per_minute=100)
    http = http_factory(server)
    good = person_id(7)
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    for url, field, code in (
        (status_url("王小明", wrong_check), "id_number", "id_number_checksum"),
        (status_url("王小明", good[:17]), "id_number", "id_number_format"),
        (status_url("王小明", "12-34"), "id_number", "passport_format"),
        (f"{STATUS}?id_number={good}", "name", "required"),
        (status_url("王2明", good), "name", "invalid_characters"),
    ):
        r = await http.get(url)
        assert r.status == 422 and r.error_code == "validation_failed", (url, r.text)
        assert [(f["field"], f["code"]) for f in r.json["error"]["fields"]] == [(field, code)], r.text
    r = await http.post(STATUS, json={"name": 3, "id_number": None})
    assert r.status == 422 and {f["field"] for f in r.json["error"]["fields"]} == {"name", "id_number"}


async def test_the_status_query_is_limited_per_address_in_every_process(make_server, http_factory):
    one = await make_server(public_query_per_minute=3)
    two = await make_server(public_query_per_minute=3)  # another process on the same database
    a, b = http_factory(one), http_factory(two)
    number = person_id(11)
    assert (await a.get(status_url("王小明", number))).status == 200
    assert (await b.post(STATUS, json={"name": "王小明", "id_number": number})).status == 200
    assert (await a.get(status_url("王小明", "bad"))).status == 422  # counted too
    for client in (a, b):
        r = await client.get(status_url("王小明", number))
        assert r.status == 429 and r.error_code == "too_many_requests", r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert "status" not in r.json


def test_judge_reads_the_claim_record_and_archive():
    app = {"_id": 1, "archive_no": "X1", "status": "transferring", "profile": {"name": "王小明"}}
    assert judge("X1", app, None) == (IN_REVIEW, "王小明")
    assert judge("X2", app, None) == (NOT_COMPLETED, None)  # the record never took this number
    archive = {"_id": "X1", "record_id": 1, "data": {"profile": {"name": "王晓明", "id_number": "X3"}}}
    assert judge("X1", {**app, "status": "approved"}, archive) == (COMPLETED, "王晓明")  # the archive's name
    assert judge("X3", app, archive) == (COMPLETED, "王晓明")  # an approved change of ID number
    assert judge("X1", app, {**archive, "record_id": 2})[0] == IN_REVIEW  # another record's archive


async def test_the_access_log_never_holds_the_id_number(make_server, http_factory, caplog):
    server = await make_server(public_query_per_minute=100)
    http = http_factory(server)
    number = person_id(21)
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}"
    caplog.set_level("INFO", logger="kjcj.access")
    await http.get(status_url("王小明", number))
    await http.get(status_url("王小明", spaced))
    await http.get(status_url("王小明", number + "1"))  # a typo: one digit too many
    lines = [
        json.dumps({"msg": rec.getMessage(), **getattr(rec, "fields", {})}, ensure_ascii=False)
        for rec in caplog.records
        if rec.name == "kjcj.access"
    ]
    assert len(lines) == 3
    for line in lines:
        assert number not in line and number[6:14] not in line and "王小明" not in line, line
        assert "id_number=****" in line and "name=%E7%8E%8B*%E6%98%8E" in line, line


def test_names_are_masked_as_public_lists_show_them():
    assert mask_name("王小明") == "王*明"
    assert mask_name("王明") == "王*"
    assert mask_name("王小小明") == "王**明"
    assert mask_name("欧阳娜娜") == "欧阳**" and mask_name("欧阳明") == "欧阳*"
    assert mask_name("阿依古丽·买买提") == "阿***·买**"
    assert mask_name("John Smith") == "J*** S****"
    assert mask_name("王") == "*" and mask_name("") == ""
    assert mask_name("张𠀋三") == "张*三"  # a character outside the BMP is one character
    assert mask_uri(f"{STATUS}?name=x&id_number=11010519491231002X") == f"{STATUS}?name=*&id_number=****"


# -- (b) published lists of the legacy register's people not yet collected --------------------


async def wait_published(client, region: str) -> dict:
    for _ in range(200):
        r = await client.get(f"{ADMIN}/{region}")
        assert r.status == 200, r.text
        if r.json["state"] != "building":
            return r.json
        await asyncio.sleep(0.05)
    raise AssertionError("the list was not built in 10 s")


async def delete(client, path: str):
    return await client.http.request("DELETE", path, headers={"X-XSRF-Token": client.xsrf})


async def test_staff_publish_a_masked_paged_list_of_the_not_yet_collected(
    make_server,
    http_factory,
    staff_client,  # noqa: F811
):
    server = await make_server(public_query_per_minute=100)
    s, public = server.services, http_factory(server)
    await add_staff(s, "pl-rev-a", regions=[A])
    await add_staff(s, "pl-rev-b", regions=[B])
    await add_staff(s, "pl-city", role="city_admin", regions=[])
    rev_a, rev_b = await staff_client(server, "pl-rev-a"), await staff_client(server, "pl-rev-b")
    city = await staff_client(server, "pl-city")

    collected = await insert_record(s, name="李四", status="approved")
    register = [
        {"_id": person_id(1), "name": "王小明", "region_code": A, "archive_no_old": "XM-0001"},
        {"_id": person_id(2), "name": "欧阳娜娜", "region_code": A, "old_certificate_no": "K-2"},
        {"_id": person_id(3), "name": "阿依古丽·买买提", "region_code": A},
        {"_id": collected["archive_no"], "name": "李四", "region_code": A},  # has an approved archive
        {"_id": person_id(4, B), "name": "赵六", "region_code": B},  # another district
    ]
    await s.db["legacy_register"].insert_many(register)

    assert (await public.get(f"{LIST}?region={A}")).error_code == "public_list_not_found"
    r = await rev_b.post(ADMIN, json={"region_code": A, "title": "思明区名单"})
    assert r.status == 403 and r.error_code == "region_forbidden", r.text
    r = await rev_a.post(ADMIN, json={"region_code": "000000"})
    assert r.status == 422, r.text
    r = await rev_a.post(ADMIN, json={"region_code": A, "title": "思明区未完成采集人员"})
    assert r.status == 202 and r.json["state"] in ("building", "published"), r.text
    done = await wait_published(rev_a, A)
    assert done["state"] == "published" and done["total"] == 3 and done["published_by"] == "pl-rev-a", done
    assert (await rev_b.get(f"{ADMIN}/{A}")).status == 404  # not the reviewer's district
    assert [p["region_code"] for p in (await city.get(ADMIN)).json["items"]] == [A]

    first = await public.get(f"{LIST}?region={A}&page=1&page_size=2")
    assert first.status == 200, first.text
    page = first.json
    assert (page["total"], page["pages"], page["title"]) == (3, 2, "思明区未完成采集人员")
    second = (await public.get(f"{LIST}?region={A}&page=2&page_size=2")).json
    items = page["items"] + second["items"]
    # phone-book order (a, ou, wang), every name and ID number masked
    assert [i["name_masked"] for i in items] == ["阿***·买**", "欧阳**", "王*明"]
    assert [i["id_masked"] for i in items] == [mask_id_number(person_id(n)) for n in (3, 2, 1)]
    assert items[2]["archive_no_old"] == "XM-0001" and "archive_no_old" not in items[0]
    body = first.text + json.dumps(second, ensure_ascii=False)
    for doc in register:
        assert doc["_id"] not in body and doc["name"] not in body
    assert mask_id_number(collected["archive_no"]) not in body  # collected: not listed
    assert "K-2" not in body  # the old certificate number is not published
    assert (await public.get(f"{LIST}?region={A}&page=3&page_size=2")).json["items"] == []
    assert (await public.get(f"{LIST}?region={B}")).status == 404  # not published there

    # republished: a new list replaces the old one, which is removed
    old_list = list_name(A, (await s.db["public_lists"].find_one({"_id": A}))["gen"])
    await s.db["legacy_register"].insert_one({"_id": person_id(5), "name": "孙七", "region_code": A})
    assert (await city.post(ADMIN, json={"region_code": A})).status == 202
    again = await wait_published(city, A)
    assert again["total"] == 4 and again["title"].endswith("未完成会计人员信息采集人员名单"), again
    assert await s.db["lists"].find_one({"_id": old_list}) is None
    assert (await public.get(f"{LIST}?region={A}")).json["total"] == 4

    # withdrawn: gone for the public
    assert (await delete(rev_b, f"{ADMIN}/{A}")).status == 403
    r = await delete(rev_a, f"{ADMIN}/{A}")
    assert r.status == 204, r.text
    r = await public.get(f"{LIST}?region={A}")
    assert r.status == 404 and r.error_code == "public_list_not_found"
    assert (await rev_a.get(f"{ADMIN}/{A}")).status == 404
    assert (await delete(rev_a, f"{ADMIN}/{A}")).status == 404


async def test_list_pages_are_limited_per_address(make_server, http_factory):
    server = await make_server(public_query_per_minute=3)
    http = http_factory(server)
    for _ in range(3):
        assert (await http.get(f"{LIST}?region={A}")).status == 404
    r = await http.get(f"{LIST}?region={A}")
    assert r.status == 429 and r.error_code == "too_many_requests", r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 60
