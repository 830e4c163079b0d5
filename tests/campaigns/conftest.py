"""Fixtures of the campaign-window tests: the mini-program, staff, chat and lifecycle fixtures of the
other suites, a signed-in city administrator, and dates relative to today in China."""

from __future__ import annotations

import datetime as dt

import pytest

from server.db import utcnow
from server.staff import StaffAccounts
from tests.lifecycle.conftest import (  # noqa: F401
    PASSWORD,
    A,
    B,
    approved_person,
    as_user,
    chat,
    chat_settings,
    give_photo,
    insert_record,
    make_valid_record,
    staff_client,
    upload,
)
from tests.records import idgen

CAMPAIGNS = "/admin/api/campaigns"
SUBMIT = "/api/v1/me/record/submit"
CAMPAIGN = "/api/v1/campaign"


def today() -> dt.date:
    """Today in China (the windows' calendar)."""
    return (utcnow() + dt.timedelta(hours=8)).date()


def day(offset: int) -> str:
    """Today in China plus `offset` days, as an ISO date."""
    return (today() + dt.timedelta(days=offset)).isoformat()


def label(start: str, end: str) -> str:
    """The Chinese label of a date range: 2027年3月1日至2027年4月30日."""
    a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return f"{a.year}年{a.month}月{a.day}日至{b.year}年{b.month}月{b.day}日"


def person_id(n: int) -> str:
    """A distinct valid resident ID number per test person."""
    return idgen.resident_id("350203", dt.date(1985, 1 + n % 12, 1 + n % 28), seq=f"{100 + n:03d}")


async def patch(staff, path: str, json: dict):
    return await staff.http.request("PATCH", path, json=json, headers={"X-XSRF-Token": staff.xsrf})


async def delete(staff, path: str):
    return await staff.http.request("DELETE", path, headers={"X-XSRF-Token": staff.xsrf})


@pytest.fixture
def city(server, staff_client):  # noqa: F811
    """Factory: a signed-in city administrator on a server (the default one unless given)."""

    async def _make(running=None, name: str = "city"):
        running = running or server
        await running.services.get(StaffAccounts).ensure(name, "city_admin", [], PASSWORD)
        return await staff_client(running, name)

    return _make


@pytest.fixture
def window(city):
    """Factory: create a window through the API (a city administrator); returns its JSON."""

    async def _make(start: str, end: str, late_rule: str = "refuse", running=None, **more):
        admin = await city(running)
        body = {"title": more.pop("title", "会计人员信息采集"), "start": start, "end": end, "late_rule": late_rule}
        r = await admin.post(CAMPAIGNS, json={**body, **more})
        assert r.status == 201, r.text
        return r.json

    return _make
