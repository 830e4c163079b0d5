"""Fixtures of the lifecycle tests: the mini-program, staff and chat fixtures of the other suites,
and helpers for a person whose first collection is approved (an archive exists)."""

from __future__ import annotations

import pytest

from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, A, B, StaffClient, insert_record, staff_client  # noqa: F401
from tests.chat.conftest import chat, chat_settings  # noqa: F401
from tests.miniprogram.conftest import as_user, give_photo, make_valid_record, upload  # noqa: F401

CHANGES = "/api/v1/me/changes"
RECORD = "/api/v1/me/record"
MESSAGES = "/api/v1/me/messages"


async def reviewer(running, staff_client, name: str, regions: list[str]) -> StaffClient:  # noqa: F811
    """A reviewer of these districts, signed in on `running`."""
    await running.services.get(StaffAccounts).ensure(name, "reviewer", regions, PASSWORD)
    return await staff_client(running, name)


@pytest.fixture
def approved_person(server, as_user):  # noqa: F811
    """Factory: (client logged in as demo:<name>, the approved record as inserted) in a district."""

    async def _make(name: str, region: str = A, running=None, **kw):
        running = running or server
        rec = await insert_record(
            running.services,
            status="approved",
            openid=f"demo-openid-{name}",
            region=region,
            name=kw.pop("person_name", "王小明"),
            **kw,
        )
        client = await as_user(name, running)
        view = (await client.get(RECORD)).json  # the login found the inserted record, not a new draft
        assert view["id"] == str(rec["_id"]) and view["status"] == "approved", view
        assert view["archive"]["archive_no"] == rec["archive_no"]
        return client, rec

    return _make


async def archive_of(services, rec) -> dict | None:
    """The archive document of a record (by its archive number)."""
    return await services.db["archives"].find_one({"_id": rec["archive_no"]})


async def changes_in_db(services) -> list[dict]:
    """Every change application stored."""
    return [a async for a in services.db["applications"].find({"kind": "change"})]
