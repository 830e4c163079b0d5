"""Statistics, spot-check samples and the Excel export."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from server.db import utcnow
from server.notify.template import CHINA
from tests.admin.conftest import RARE_NAME_B, A, B, add_staff, insert_record


async def _city(server, staff_client):
    await add_staff(server.services, "city", role="city_admin", regions=[])
    return await staff_client(server, "city")


async def test_stats_count_statuses_per_district_and_submissions_per_day(server, staff_client):
    city = await _city(server, staff_client)
    s = server.services
    now = utcnow()
    for status, region in (("submitted", A), ("submitted", A), ("approved", A), ("rejected", B), ("draft", B)):
        await insert_record(
            s, status=status, region=region, submitted_at=now - dt.timedelta(minutes=5), with_files=False
        )
    await insert_record(s, region=B, submitted_at=now - dt.timedelta(days=3), with_files=False)
    old = await insert_record(s, region=B, submitted_at=now - dt.timedelta(days=60), with_files=False)
    r = await city.get("/admin/api/stats?days=7")
    assert r.status == 200
    by = {d["region_code"]: d for d in r.json["districts"]}
    assert (
        by[A]["counts"] == {"draft": 0, "submitted": 2, "approved": 1, "rejected": 0, "transferring": 0}
        and by[A]["total"] == 3
    )
    assert by[B]["counts"] == {"draft": 1, "submitted": 2, "approved": 0, "rejected": 1, "transferring": 0}
    assert r.json["totals"]["total"] == 7
    days = r.json["per_day"]
    assert len(days) == 7 and days[-1]["date"] == now.astimezone(CHINA).date().isoformat()
    today = (now - dt.timedelta(minutes=5)).astimezone(CHINA).date().isoformat()
    three = (now - dt.timedelta(days=3)).astimezone(CHINA).date().isoformat()
    per = {d["date"]: d["submitted"] for d in days}
    assert per[today] == 4 and per[three] == 1 and sum(per.values()) == 5  # the draft and the old one not counted
    assert old["submitted_at"] < now - dt.timedelta(days=7)


async def test_sample_draws_distinct_approved_records_only(server, staff_client):
    city = await _city(server, staff_client)
    s = server.services
    approved = {str((await insert_record(s, status="approved", with_files=False))["_id"]) for _ in range(7)}
    await insert_record(s, status="submitted", with_files=False)
    await insert_record(s, status="rejected", with_files=False)
    r = await city.get("/admin/api/records/sample?n=5")
    assert r.status == 200 and r.json["population"] == 7
    ids = [i["id"] for i in r.json["items"]]
    assert len(ids) == len(set(ids)) == 5 and set(ids) <= approved
    everyone = [i["id"] for i in (await city.get("/admin/api/records/sample?n=50")).json["items"]]
    assert sorted(everyone) == sorted(approved)
    seen = set()
    for _ in range(30):  # every approved record can be drawn
        seen |= {i["id"] for i in (await city.get("/admin/api/records/sample?n=1")).json["items"]}
    assert len(seen) >= 5
    assert all("*" in i["id_number"] for i in (await city.get("/admin/api/records/sample?n=3")).json["items"])


async def test_export_is_an_xlsx_of_the_jurisdiction_with_text_intact(server, staff_client):
    s = server.services
    await add_staff(s, "rev", regions=[A])
    rev = await staff_client(server, "rev")
    rare = await insert_record(s, name=RARE_NAME_B, unit_name='=HYPERLINK("http://x")', with_files=False)
    await insert_record(s, name="王小明", with_files=False)
    await insert_record(s, region=B, name="海沧人", with_files=False)
    r = await rev.get("/admin/api/export.xlsx")
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in r.headers["Content-Disposition"] and r.headers["X-Record-Count"] == "2"
    ws = load_workbook(io.BytesIO(r.body)).active
    rows = list(ws.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:4] == ("记录编号", "审核状态", "所在区", "档案号") and "姓名" in header
    assert len(body) == 2
    col = {name: i for i, name in enumerate(header)}
    row = next(r for r in body if r[0] == str(rare["_id"]))
    assert row[col["姓名"]] == "张𠀋" and row[col["含生僻字"]] == "是"
    assert row[col["证件号码"]] == rare["profile"]["id_number"]  # full, as text
    assert row[col["工作单位名称"]] == '=HYPERLINK("http://x")'
    cells = next(c for c in ws.iter_rows() if c[0].value == str(rare["_id"]))
    assert cells[col["工作单位名称"]].data_type == "s"  # a string, never a formula
    assert row[col["所在区"]] == "思明区" and row[col["审核状态"]] == "待审核"
    assert isinstance(row[col["提交时间"]], dt.datetime)
    assert "海沧人" not in {r[col["姓名"]] for r in body}
    only = await rev.get("/admin/api/export.xlsx?status=approved")
    assert only.headers["X-Record-Count"] == "0"
    assert (await rev.get("/admin/api/export.xlsx?status=bogus")).status == 400
