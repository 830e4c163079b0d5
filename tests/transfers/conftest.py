"""Fixtures of the transfer tests: the lifecycle suite's people and reviewers, and staging files."""

from __future__ import annotations

from tests.lifecycle.conftest import (  # noqa: F401
    MESSAGES,
    RECORD,
    A,
    B,
    approved_person,
    archive_of,
    as_user,
    chat,
    chat_settings,
    give_photo,
    make_valid_record,
    reviewer,
    staff_client,
    upload,
)
from tests.miniprogram.conftest import form, jpeg_bytes, pdf_bytes

TRANSFERS = "/api/v1/me/transfers"
APPS = "/admin/api/applications"


async def stage(client, slot: str = "transfer_proof", data: bytes | None = None, filename: str = "proof.jpg"):
    """Upload one file for the next transfer (as wx.uploadFile sends it)."""
    ctype = "application/pdf" if filename.endswith(".pdf") else "image/jpeg"
    r = await client.post(f"{TRANSFERS}/files?slot={slot}", data=form(data or jpeg_bytes(), filename, ctype))
    assert r.status == 201, r.text
    return r.json


async def apply(client, kind: str = "within", to_region: str | None = B, reason: str = "new_employer", **more):
    """Stage the proof (and, for a transfer in, the old region's sheet), then apply."""
    await stage(client)
    if kind == "in":
        await stage(client, "transfer_sheet", pdf_bytes(), "sheet.pdf")
    body = {"kind": kind, "reason": reason, **more}
    if to_region is not None:
        body["to_region"] = to_region
    return await client.post(TRANSFERS, json=body)


async def notices_of(services, app_id) -> list[dict]:
    """Every notice the steps of one application produced."""
    return [n async for n in services.db["notices"].find({"application_id": app_id})]
