"""Fixtures of the units' tests: unit administrators made through the real flow (files staged and
the application sent over HTTP by a mini-program user, verified over HTTP by the unit district's
reviewer), and the lifecycle suite's people and staff."""

from __future__ import annotations

import itertools
import random

import pytest

from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, A, B, StaffClient, insert_record, staff_client  # noqa: F401
from tests.chat.conftest import chat, chat_settings  # noqa: F401
from tests.miniprogram.conftest import as_user, form, jpeg_bytes  # noqa: F401
from tests.records import idgen

UNIT_ADMINS = "/api/v1/me/unit-admins"
APPS = "/admin/api/applications"
MESSAGES = "/api/v1/me/messages"
_seq = itertools.count(1)


def new_uscc(area: str = A) -> str:
    """A fresh valid unified social credit code (check digit right)."""
    return idgen.uscc(area=area, rng=random.Random(1000 + next(_seq)))


async def unit_reviewer(running, staff_client, region: str = A) -> StaffClient:  # noqa: F811
    """A reviewer of the district, signed in on `running` (created once per name)."""
    name = f"unit-rev-{region}"
    accounts = running.services.get(StaffAccounts)
    await accounts.ensure(name, "reviewer", [region], PASSWORD)
    return await staff_client(running, name)


async def stage_files(client, legal_representative: bool = False) -> None:
    """Stage the business licence (and the authorisation letter) as real JPEGs, one request each."""
    slots = ["unit_business_licence"] + ([] if legal_representative else ["unit_authorisation_letter"])
    for slot in slots:
        r = await client.post(f"{UNIT_ADMINS}/files?slot={slot}", data=form(jpeg_bytes((320, 240)), f"{slot}.jpg"))
        assert r.status == 201, r.text


def application_body(uscc: str, region: str = A, **kw) -> dict:
    body = {
        "unit_name": "厦门示例会计服务有限公司",
        "uscc": uscc,
        "region_code": region,
        "legal_representative": False,
        "applicant_name": "林财务",
        "mobile": "13912345678",
    }
    return {**body, **kw}


@pytest.fixture
def apply_unit_admin(server, as_user):  # noqa: F811
    """Factory: a mini-program user (demo:<name>) who applied to administer a unit (not yet verified):
    (client, application view)."""

    async def _apply(name: str, uscc: str, region: str = A, running=None, **kw):
        client = await as_user(name, running or server)
        await stage_files(client, kw.get("legal_representative", False))
        r = await client.post(UNIT_ADMINS, json=application_body(uscc, region, **kw))
        assert r.status == 201, r.text
        return client, r.json

    return _apply


@pytest.fixture
def make_unit_admin(server, apply_unit_admin, staff_client):  # noqa: F811
    """Factory: a verified administrator of a unit through the real flow: (client, uscc).
    `uscc` None = a new unit; pass one to add another administrator to the same unit."""

    async def _make(name: str | None = None, uscc: str | None = None, region: str = A, running=None, **kw):
        running = running or server
        uscc = uscc or new_uscc(region)
        client, app = await apply_unit_admin(name or f"unitadmin{next(_seq)}", uscc, region, running, **kw)
        rev = await unit_reviewer(running, staff_client, region)
        detail = await rev.get(f"{APPS}/{app['id']}")
        assert detail.status == 200, detail.text
        r = await rev.post(
            f"{APPS}/{app['id']}/decision", json={"decision": "approve", "version": detail.json["version"]}
        )
        assert r.status == 200, r.text
        assert r.json["status"] == "verified", r.json
        client.unit_admin_application = app["id"]
        return client, uscc

    return _make


@pytest.fixture
async def verified_unit_admin(make_unit_admin):
    """A verified administrator of a new unit in district A: (their HTTP client, the unit's credit code)."""
    return await make_unit_admin()


async def person_of_unit(
    running,
    uscc: str | None,
    *,
    name: str = "王小明",
    login: str | None = None,
    region: str = A,
    unit_name: str = "厦门示例会计服务有限公司",
    status: str = "submitted",
) -> dict:
    """A first collection naming a unit as employer, inserted in the contracts.md shape (status
    "submitted" or "draft"; its owner logs in as demo:<login>). The employer is the derived
    `employment` summary (unit name and credit code of the current work period); the read models
    are synced as after the person's own save."""
    from server.lifecycle.readmodel import ReadModels

    services = running.services
    openid = f"demo-openid-{login}" if login else None
    rec = await insert_record(services, status=status, region=region, name=name, openid=openid, unit_name=unit_name)
    await services.db["applications"].update_one(
        {"_id": rec["_id"]}, {"$set": {"employment.unit_credit_code": uscc, "employment.unit_name": unit_name}}
    )
    await services.get(ReadModels).sync(rec["_id"])
    return await services.db["applications"].find_one({"_id": rec["_id"]})


async def approve(rev, rec_id) -> object:
    """The reviewer approves a first collection at its current version (the response)."""
    detail = (await rev.get(f"{APPS}/{rec_id}")).json
    return await rev.post(f"{APPS}/{rec_id}/decision", json={"decision": "approve", "version": detail["version"]})
