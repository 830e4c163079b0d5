"""Fixtures for the photo endpoint: logged-in clients (the mini-program's), uploads, GridFS views."""

from __future__ import annotations

import pytest

# The mini-program fixtures (logged-in clients, complete records) are reused as they are.
from tests.miniprogram.conftest import as_user, form, give_photo, make_valid_record, upload  # noqa: F401

PHOTO = "/api/v1/me/photo"


@pytest.fixture
def upload_photo():
    """`await upload_photo(client, data, filename=..., content_type=...)` → Response."""

    async def _upload(client, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg"):
        return await client.post(PHOTO, data=form(data, filename, content_type))

    return _upload


@pytest.fixture
def stored_files(server):
    """`await stored_files(running=None)` → the GridFS file documents (files.files) stored as photos."""

    async def _files(running=None) -> list[dict]:
        db = (running or server).services.db
        return await db["files.files"].find({"metadata.kind": "photo"}).sort("_id", 1).to_list(None)

    return _files


@pytest.fixture
def record_of(server):
    """`await record_of(openid)` → the record document as stored."""

    async def _record(openid: str, running=None) -> dict:
        return await (running or server).services.db["applications"].find_one({"openid": openid})

    return _record
