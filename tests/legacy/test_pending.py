"""Staff see per district who of the register has not collected yet: counts and masked pages,
recomputed after each confirmed import, limited to the caller's districts."""

from __future__ import annotations

import asyncio

from tests.admin.conftest import insert_record
from tests.legacy.conftest import A, B, imported, number, person, xlsx_bytes

PENDING = "/admin/api/legacy/pending"


async def wait_ready(client, region: str, computed_after=None) -> dict:
    for _ in range(200):
        items = {i["region_code"]: i for i in (await client.get(PENDING)).json["items"]}
        line = items[region]
        if line["state"] == "ready" and (computed_after is None or line["computed_at"] != computed_after):
            return line
        await asyncio.sleep(0.05)
    raise AssertionError(f"the list of {region} was not computed: {line}")


async def test_counts_and_masked_pages_of_the_people_not_yet_collected(server, staff):
    collected = await insert_record(server.services, name="李四", status="approved")
    rows = [
        person(1, "王小明"),
        person(2, "欧阳娜娜"),
        person(3, "阿依古丽·买买提"),
        person(4, "李四", id_number=collected["archive_no"]),  # has an archive
        person(5, "赵六", region="海沧区"),
    ]
    assert (await staff["a"].get(f"{PENDING}/{A}")).error_code == "pending_list_not_ready"
    await imported(staff["city"], xlsx_bytes(rows))
    line = await wait_ready(staff["a"], A)
    assert (line["not_collected"], line["register_people"]) == (3, 4), line
    assert [i["region_code"] for i in (await staff["a"].get(PENDING)).json["items"]] == [A]
    assert len((await staff["city"].get(PENDING)).json["items"]) >= 2

    first = (await staff["a"].get(f"{PENDING}/{A}?page=1&page_size=2")).json
    assert (first["not_collected"], first["pages"], len(first["items"])) == (3, 2, 2)
    second = (await staff["a"].get(f"{PENDING}/{A}?page=2&page_size=2")).json
    names = [i["name_masked"] for i in first["items"] + second["items"]]
    assert names == ["阿***·买**", "欧阳**", "王*明"]  # phone-book (pinyin) order, masked
    ids = [i["id_masked"] for i in first["items"] + second["items"]]
    assert all("********" in i for i in ids) and number(1) not in str(first)
    assert first["items"][0]["archive_no_old"] == "XM-00003"

    r = await staff["b"].get(f"{PENDING}/{A}")
    assert r.status == 403 and r.error_code == "region_forbidden"
    assert (await staff["a"].get(f"{PENDING}/000000")).status == 422
    assert (await staff["a"].get(f"{PENDING}/{A}?page_size=1000")).error_code == "invalid_argument"

    b_line = await wait_ready(staff["b"], B)
    assert b_line["not_collected"] == 1
    r = await staff["a"].post(f"{PENDING}/{A}/refresh")
    assert r.status == 202 and r.json["state"] == "building", r.text
    again = await wait_ready(staff["a"], A, computed_after=line["computed_at"])
    assert again["not_collected"] == 3
