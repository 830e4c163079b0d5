"""Fixtures of the yearly-duties tests: approved people (archives), staff, chat, and providers' files."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest

from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, A, B, StaffClient, insert_record, staff_client  # noqa: F401
from tests.chat.conftest import chat, chat_settings  # noqa: F401
from tests.lifecycle.conftest import approved_person  # noqa: F401
from tests.miniprogram.conftest import as_user, form, give_photo, make_valid_record, upload  # noqa: F401

HEADER = ["证件号码", "姓名", "年度", "学分", "科目类型", "培训机构", "课程"]
IMPORTS = "/admin/api/ce-imports"
DUTIES = "/api/v1/me/duties"
MESSAGES = "/api/v1/me/messages"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(rows: list[list], header: list | None = None) -> bytes:
    """A real .xlsx file (openpyxl) with a header row."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def row(
    rec: dict, year: int, credits, ctype: str = "专业科目", provider: str = "厦门会计学院", course: str = "企业会计准则"
):
    """A provider's row for an inserted record."""
    return [rec["profile"]["id_number"], rec["profile"]["name"], year, credits, ctype, provider, course]


async def upload_file(staff: StaffClient, path: str, data: bytes, name: str = "credits.xlsx", **fields):
    fd = form(data, name, XLSX if name.endswith("xlsx") else "text/csv")
    for k, v in fields.items():
        fd.add_field(k, v)
    return await staff.http.post(path, data=fd, headers={"X-XSRF-Token": staff.xsrf})


async def city_admin(running, staff_client, name: str = "ce-city") -> StaffClient:  # noqa: F811
    await running.services.get(StaffAccounts).ensure(name, "city_admin", [], PASSWORD)
    return await staff_client(running, name)


async def reviewer(running, staff_client, name: str, regions: list[str]) -> StaffClient:  # noqa: F811
    await running.services.get(StaffAccounts).ensure(name, "reviewer", regions, PASSWORD)
    return await staff_client(running, name)


async def qualified_in(services, rec: dict, year: int) -> None:
    """Set the archive's qualification date (its first counted year is the next one), and collect it
    that next January: every year since is one the archive's own records cover (see standing.py)."""
    on = f"{year}-06-01"
    collected = dt.datetime(year + 1, 1, 10, tzinfo=dt.UTC)
    await services.db["archives"].update_one(
        {"_id": rec["archive_no"]},
        {
            "$set": {
                "data.qualification.obtained_on": on,
                "data.qualifications.0.obtained_on": on,
                "created_at": collected,
            }
        },
    )


@pytest.fixture
def person(approved_person, server):  # noqa: F811
    """Factory: (client, record) of an approved person qualified in `qualified` (first year the next)."""

    async def _make(name: str, qualified: int = 2021, region: str = A, running=None, **kw):
        running = running or server
        client, rec = await approved_person(name, region=region, running=running, **kw)
        await qualified_in(running.services, rec, qualified)
        return client, rec

    return _make
