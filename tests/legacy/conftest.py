"""Fixtures of the old register: import files built with the csv module and openpyxl, staff
clients that upload them over real HTTP, and people registered through the mini-program API."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook

from tests.admin.conftest import A, B, add_staff, staff_client  # noqa: F401
from tests.records import idgen

HEADER = [
    "原档案编号",
    "姓名",
    "证件号码",
    "原会计从业资格证书编号",
    "首次参加会计工作日期",
    "所在区",
    "曾任职单位",
    "继续教育",
    "诚信记录",
]
IMPORTS = "/admin/api/legacy/imports"


def number(n: int, area: str = "350203") -> str:
    """A valid resident ID number, distinct for each n."""
    return idgen.resident_id(area, date(1970 + n % 30, n % 12 + 1, n % 28 + 1), seq=f"{n % 1000:03d}")


def person(n: int, name: str = "王小明", region: str = "思明区", **kw) -> list:
    """One row of the template's columns."""
    row = {
        "archive_no_old": f"XM-{n:05d}",
        "name": name,
        "id_number": number(n),
        "old_certificate_no": f"350200{n:09d}",
        "first_work_date": "2005-03-01",
        "region": region,
        "past_employers": "厦门甲公司|2005-03-01|2010-06-30；厦门乙公司|2010-07-01|2015-12-31",
        "ce_years": "2019:90;2020:72;2021:合格",
        "integrity_notes": "",
    }
    row.update(kw)
    return list(row.values())


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig", header: list | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header: list | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header or HEADER)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def upload(client, data: bytes, file_name: str = "register.xlsx"):
    """POST a file for preview as the admin page does (the file as the body)."""
    return await client.http.post(
        f"{IMPORTS}?file_name={file_name}",
        raw=data,
        headers={"X-XSRF-Token": client.xsrf, "Content-Type": "application/octet-stream"},
    )


async def confirm(client, import_id: str, data: bytes):
    return await client.http.post(
        f"{IMPORTS}/{import_id}/confirm",
        raw=data,
        headers={"X-XSRF-Token": client.xsrf, "Content-Type": "application/octet-stream"},
    )


async def imported(client, data: bytes, file_name: str = "register.xlsx") -> dict:
    """Preview and confirm a good file; the confirmed import."""
    r = await upload(client, data, file_name)
    assert r.status == 201, r.text
    c = await confirm(client, r.json["id"], data)
    assert c.status == 200, c.text
    return c.json


@pytest.fixture
async def staff(server, staff_client):  # noqa: F811
    """A city administrator and the reviewers of A and B, signed in."""
    s = server.services
    await add_staff(s, "lg-city", role="city_admin", regions=[])
    await add_staff(s, "lg-rev-a", regions=[A])
    await add_staff(s, "lg-rev-b", regions=[B])
    return {
        "city": await staff_client(server, "lg-city"),
        "a": await staff_client(server, "lg-rev-a"),
        "b": await staff_client(server, "lg-rev-b"),
    }
