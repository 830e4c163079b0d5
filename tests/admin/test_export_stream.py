"""The Excel export streams: over real HTTP, thousands of rows arrive in several chunks (no
Content-Length), the file opens with openpyxl with every row once in queue order and text kept
as text; a failure after the first bytes cuts the download instead of ending it cleanly."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import io
import time

import aiohttp
import pytest
from bson import ObjectId
from openpyxl import load_workbook

from server.db import utcnow
from server.lifecycle.rebuild import rebuild_read_models
from server.notify.template import CHINA
from server.review import export
from tests.admin.conftest import RARE_NAME_B, A, B, add_staff, insert_record
from tests.records import idgen

ROWS = 2000
TRICKY = [  # (name, unit name as stored, as the cell must read)
    ("张𠀋", '=HYPERLINK("http://x")', '=HYPERLINK("http://x")'),
    ("李四", "+86 厦门", "+86 厦门"),
    ("王五", "-1+2", "-1+2"),
    ("赵六", "@SUM(A1)", "@SUM(A1)"),
    ("钱七", "A&B <公司> 'x' \"y\"", "A&B <公司> 'x' \"y\""),
    ("孙八", "控制\x01字符\x1f已去掉", "控制字符已去掉"),
    ("周九", "  前后空格  ", "  前后空格  "),
    ("吴十", "第一行\n第二行", "第一行\n第二行"),
]


async def _bulk(services, template: dict, n: int) -> list[dict]:
    """n submitted first collections copied from a settled one (fresh ids, names, ID numbers, times),
    inserted in bulk; the read models are then rebuilt from the sources."""
    base = utcnow() - dt.timedelta(days=3)
    docs = []
    for i in range(n):
        doc = copy.deepcopy(template)
        doc.pop("listed", None)
        region = A if i % 3 else B
        at = base + dt.timedelta(seconds=37 * i)
        number = idgen.resident_id(region, dt.date(1970, 1, 1) + dt.timedelta(days=i), seq=f"{i % 1000:03d}")
        name, unit, _ = TRICKY[i % len(TRICKY)] if i % 97 == 0 else (f"林{i}", f"厦门示例{i}有限公司", None)
        doc.update(
            _id=ObjectId(),
            openid=f"bulk-openid-{i}",
            region_code=region,
            archive_no=number,
            submitted_at=at,
            updated_at=at,
            rare_name=name == RARE_NAME_B,
        )
        doc["profile"] = {**doc["profile"], "name": name, "id_number": number}
        doc["employment"] = {**doc["employment"], "unit_name": unit}
        for step in doc["history"]:
            step["at"] = at
        docs.append(doc)
    for start in range(0, n, 500):
        await services.db["applications"].insert_many(docs[start : start + 500])
    await rebuild_read_models(services)
    return docs


async def _download(http, path: str) -> dict:
    """GET through aiohttp directly: the HTTP chunks as they arrive, with their arrival times."""
    started = time.perf_counter()
    async with http.session.get(http.base_url + path) as resp:
        assert resp.status == 200, await resp.text()
        body, chunks, first = bytearray(), 0, None
        async for data, end_of_chunk in resp.content.iter_chunks():
            if first is None and data:
                first = time.perf_counter() - started
            body += data
            chunks += end_of_chunk
        return {
            "headers": resp.headers,
            "body": bytes(body),
            "chunks": chunks,
            "first": first,
            "total": time.perf_counter() - started,
        }


async def test_an_export_of_thousands_of_rows_streams_and_opens(server, staff_client):
    s = server.services
    await add_staff(s, "rev-ab", regions=[A, B])  # two districts: two lists merged by key
    rev = await staff_client(server, "rev-ab")
    template = await insert_record(s, status="submitted", with_files=False)
    approved = await insert_record(s, status="approved", name="陈批准", with_files=False)
    docs = await _bulk(s, template, ROWS)

    got = await _download(rev.http, "/admin/api/export.xlsx")
    headers = got["headers"]
    assert headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in headers
    assert headers["X-Record-Count"] == str(ROWS + 2)
    assert got["chunks"] > 1, got["chunks"]
    print(f"first bytes after {got['first'] * 1000:.0f} ms, all {len(got['body'])} bytes after {got['total']:.2f} s")

    wb = load_workbook(io.BytesIO(got["body"]))
    assert wb.sheetnames == ["会计人员信息", "调转流向"]
    ws = wb["会计人员信息"]
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header == tuple(export.HEADERS)
    col = {name: i for i, name in enumerate(header)}
    ids = [r[0] for r in body]
    assert len(ids) == len(set(ids)) == ROWS + 2  # every row once
    everyone = [template, approved, *docs]
    queue_order = [str(d["_id"]) for d in sorted(everyone, key=lambda d: (d["submitted_at"], str(d["_id"])))]
    assert ids == queue_order  # the queues' order across both districts and every page

    by_id = {r[0]: r for r in body}
    cells = {c[0].value: c for c in ws.iter_rows(min_row=2)}
    for doc in [d for i, d in enumerate(docs) if i % 97 == 0]:
        row, stored = by_id[str(doc["_id"])], doc["employment"]["unit_name"]
        expected = next(want for _, unit, want in TRICKY if unit == stored)
        assert row[col["工作单位名称"]] == expected
        assert cells[str(doc["_id"])][col["工作单位名称"]].data_type == "s"  # text, never a formula
        assert row[col["证件号码"]] == doc["profile"]["id_number"]  # as text, leading digits and X kept
        assert row[col["所在区"]] == ("思明区" if doc["region_code"] == A else "海沧区")
    rare = next(d for i, d in enumerate(docs) if i % 97 == 0 and d["profile"]["name"] == RARE_NAME_B)
    assert by_id[str(rare["_id"])][col["姓名"]] == "张𠀋" and by_id[str(rare["_id"])][col["含生僻字"]] == "是"
    first = by_id[str(docs[0]["_id"])]
    local = docs[0]["submitted_at"].astimezone(CHINA).replace(tzinfo=None)
    when = first[col["提交时间"]]
    assert isinstance(when, dt.datetime) and abs(when - local) < dt.timedelta(milliseconds=1)
    assert cells[str(docs[0]["_id"])][col["提交时间"]].number_format == "yyyy-mm-dd hh:mm"
    ok = by_id[str(approved["_id"])]
    assert ok[col["审核状态"]] == "已通过" and ok[col["姓名"]] == "陈批准"  # the archive's current fields
    assert [c.value for c in next(wb["调转流向"].iter_rows(max_row=1))][:3] == ["调转类型", "调出地", "调入地"]

    only_b = await _download(rev.http, f"/admin/api/export.xlsx?region={B}&status=submitted")
    b_rows = list(load_workbook(io.BytesIO(only_b["body"])).active.iter_rows(min_row=2, values_only=True))
    assert only_b["headers"]["X-Record-Count"] == str(len(b_rows)) == str(sum(d["region_code"] == B for d in docs))


async def test_a_failure_after_the_first_bytes_cuts_the_download(server, staff_client, monkeypatch):
    s = server.services
    await add_staff(s, "rev-cut", regions=[A])
    rev = await staff_client(server, "rev-cut")
    await insert_record(s, with_files=False)

    async def broken(self, entries):
        await asyncio.sleep(0)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(export.Export, "_rows", broken)
    with pytest.raises(aiohttp.ClientPayloadError):
        await _download(rev.http, "/admin/api/export.xlsx")
    assert (await rev.get("/admin/api/stats")).status == 200  # the server goes on


def test_the_stream_writer_keeps_types_and_text():
    from server.xlsxstream import SheetSpec, XlsxStream

    book = XlsxStream([SheetSpec("数据", [12, 30], freeze_header=True), SheetSpec("空")])
    out = [book.take()]
    book.open_sheet()
    when = dt.datetime(2027, 3, 1, 9, 30, 15)
    values = ["=1+1", "䶮𠀋\x00\x07", 42, 2.5, True, when, dt.date(2027, 3, 1), None, "", "x\r\ny", " pad "]
    for _ in range(3):
        book.write(book.rows_xml([values]))
        out.append(book.take())
    book.close()  # the second sheet, never opened, is written empty
    out.append(book.take())
    wb = load_workbook(io.BytesIO(b"".join(out)))
    assert wb.sheetnames == ["数据", "空"] and wb["空"].max_row == 1
    ws = wb["数据"]
    assert ws.column_dimensions["B"].width == 30
    cells = list(ws.iter_rows(min_row=3, max_row=3))[0]
    got = [c.value for c in cells]
    assert got[:5] == ["=1+1", "䶮𠀋", 42, 2.5, True] and cells[0].data_type == "s"
    assert got[5] == when and cells[5].number_format == "yyyy-mm-dd hh:mm"
    assert got[6] == dt.datetime(2027, 3, 1) and cells[6].number_format == "yyyy-mm-dd"
    assert got[7:] == [None, None, "x\r\ny", " pad "]
    with pytest.raises(ValueError):
        XlsxStream([SheetSpec("a/b")])
