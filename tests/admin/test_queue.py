"""The review queue: order, paging, masking, search by rare-character name or full ID number."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from server.db import utcnow
from tests.admin.conftest import RARE_NAME_B, A, add_staff, insert_record


async def _reviewer(server, staff_client):
    await add_staff(server.services, "rev", regions=[A])
    return await staff_client(server, "rev")


async def test_order_is_by_submission_time_and_stable_across_pages(server, staff_client):
    rev = await _reviewer(server, staff_client)
    base = utcnow() - dt.timedelta(days=1)
    # Inserted out of order; two share a submission time (the tie is broken by id).
    times = [5, 1, 3, 3, 2, 4]
    recs = [
        await insert_record(server.services, name="王小明", submitted_at=base + dt.timedelta(minutes=m)) for m in times
    ]
    expected = [str(r["_id"]) for r in sorted(recs, key=lambda r: (r["submitted_at"], r["_id"]))]
    seen = []
    for page in (1, 2, 3):
        r = await rev.get(f"/admin/api/records?status=submitted&page={page}&page_size=2")
        assert r.status == 200 and r.json["total"] == 6 and r.json["page_size"] == 2
        seen += [i["id"] for i in r.json["items"]]
    assert seen == expected
    assert (await rev.get("/admin/api/records?page=4&page_size=2")).json["items"] == []


async def test_list_masks_id_numbers_and_phones(server, staff_client):
    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services, mobile="13912345678")
    r = await rev.get("/admin/api/records")
    row = r.json["items"][0]
    full = rec["profile"]["id_number"]
    assert full not in r.text and "13912345678" not in r.text
    assert row["id_number"] == full[:6] + "********" + full[-4:]
    assert row["mobile"] == "139****5678"
    assert row["rare_name"] is True and row["status_label"] == "待审核"
    # The detail view is for reviewing: it has the full number.
    detail = (await rev.get(f"/admin/api/records/{rec['_id']}")).json
    profile = next(s for s in detail["sections"] if s["key"] == "profile")
    assert next(f for f in profile["fields"] if f["path"] == "profile.id_number")["value"] == full


async def test_page_size_above_the_documented_maximum_is_refused(server, staff_client):
    rev = await _reviewer(server, staff_client)
    r = await rev.get("/admin/api/records?page_size=100")
    assert r.status == 200 and r.json["page_size"] == 100
    for path in ("/admin/api/records", "/admin/api/applications", "/admin/api/audit"):
        r = await rev.get(f"{path}?page_size=101")
        assert r.status == 400 and r.error_code == "invalid_argument", (path, r.text)
    spec = (await rev.get("/api/openapi.json")).json
    params = spec["paths"]["/admin/api/audit"]["get"]["parameters"]
    assert next(p for p in params if p["name"] == "page_size")["schema"]["maximum"] == 100


async def test_search_by_rare_character_name_and_by_full_id_number(server, staff_client):
    rev = await _reviewer(server, staff_client)
    s = server.services
    rare_b = await insert_record(s, name=RARE_NAME_B)  # 张𠀋 (outside the BMP)
    rare_a = await insert_record(s, name="刘䶮")
    plain = await insert_record(s, name="王小明")

    async def ids(q: str) -> list[str]:
        r = await rev.get("/admin/api/records?q=" + quote(q))
        assert r.status == 200, r.text
        return [i["id"] for i in r.json["items"]]

    assert await ids("𠀋") == [str(rare_b["_id"])]
    assert await ids("张𠀋") == [str(rare_b["_id"])]
    assert await ids("䶮") == [str(rare_a["_id"])]
    assert await ids("小明") == [str(plain["_id"])]
    assert await ids("王") == [str(plain["_id"])]
    full = plain["profile"]["id_number"]
    assert await ids(full) == [str(plain["_id"])]
    assert await ids(full[:-1]) == []  # only the full number finds a person
    assert await ids("a.*") == []  # the term is text, not a pattern


async def test_bad_filters_are_400_with_codes(server, staff_client):
    rev = await _reviewer(server, staff_client)
    for query, code in (
        ("status=done", "invalid_status"),
        ("region=999999", "invalid_region"),
        ("page=0", "invalid_argument"),
        ("page=x", "invalid_argument"),
        ("q=" + "字" * 65, "query_too_long"),
    ):
        r = await rev.get("/admin/api/records?" + query)
        assert r.status == 400 and r.error_code == code, query
    assert (await rev.get("/admin/api/records/sample?n=0")).status == 400
    assert (await rev.get("/admin/api/stats?days=0")).status == 400


async def test_detail_has_files_history_and_rare_flag(server, staff_client):
    rev = await _reviewer(server, staff_client)
    rec = await insert_record(server.services, name="刘䶮")
    d = (await rev.get(f"/admin/api/records/{rec['_id']}")).json
    assert d["rare_name"] is True and d["rare_characters"] == ["䶮"]
    assert d["status"] == "submitted" and d["version"] == rec["version"] and d["region_name"] == "思明区"
    assert [h["status"] for h in d["history"]] == ["draft", "submitted"]
    assert "openid" not in d
    edu = next(s for s in d["sections"] if s["key"] == "education")
    assert next(f for f in edu["fields"] if f["path"] == "education.level")["display"] == "大学本科"
    photo = await rev.get(d["photo"]["url"])
    assert photo.status == 200 and photo.headers["Content-Type"] == "image/jpeg"
    assert photo.body[:3] == b"\xff\xd8\xff"
    stored = await server.services.files.read(rec["photo"]["file_id"])
    assert photo.body == stored
    [doc] = d["documents"]
    assert doc["kind"] == "diploma" and doc["label"] == "学历（学位）证书（第1条学历信息）"  # the entry it proves
    pdf = await rev.get(doc["url"])
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf" and pdf.body.startswith(b"%PDF")
    assert (await rev.get(f"/admin/api/records/{rec['_id']}/files/passport_info")).error_code == "file_not_found"
