"""Transfer sheets (调转信息表): the number and verification code of a transfer out, the record
the other region verifies, and the PDF's content.

`transfer_sheets` `_id` = sheet number: {application_id, archive_no, region_code, name,
id_number_masked, to_region_name, issued_at, pdf: {file_id} once rendered}. The number is derived from the application
(so deriving the effect twice issues one sheet) and the code is an HMAC of the number with
the deployment's secret key: nothing secret is stored, and a code cannot be guessed from
the number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from pymongo.errors import DuplicateKeyError

from server.districts import deployment_districts
from server.errors import BadRequest, NotFound
from server.lifecycle.store import Doc
from server.masking import mask_id_number
from server.review.detail import sections
from server.transfers.rules import REASONS

SHEETS = "transfer_sheets"
CODE_LENGTH = 8
NUMBER_MAX = 40


def sheet_number(app: Doc, issued_at) -> str:
    """DZ + origin district + issue date + 7 digits from the application id."""
    digits = int(str(app["_id"])[-7:], 16) % 10**7
    return f"DZ{app.get('region_code') or '000000'}{issued_at:%Y%m%d}{digits:07d}"


def sheet_code(secret: str, number: str) -> str:
    """The verification code printed on the sheet (8 characters, A-Z and 2-7)."""
    mac = hmac.new(secret.encode(), f"transfer-sheet:{number}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:CODE_LENGTH]


def verify_path(number: str, code: str) -> str:
    return f"/api/v1/public/transfer-sheets/{number}?code={code}"


async def issue(services, app: Doc, archive: Doc, step: Doc) -> str:
    """The sheet of an approved transfer out (idempotent): its number."""
    number = sheet_number(app, step["at"])
    profile = (archive.get("data") or {}).get("profile") or {}
    doc = {
        "_id": number,
        "application_id": app["_id"],
        "archive_no": archive["_id"],
        "region_code": app.get("region_code"),
        "name": profile.get("name") or "",
        "id_number_masked": mask_id_number(profile.get("id_number")),
        "to_region_name": (app.get("payload") or {}).get("to_region_name") or "",
        "issued_at": step["at"],
    }
    try:
        await services.db[SHEETS].insert_one(doc)
    except DuplicateKeyError:
        held = await services.db[SHEETS].find_one({"_id": number})
        if held and held.get("application_id") != app["_id"]:  # ~1e-7 per pair on the same day
            number = f"{number}{str(app['_id'])[-4:].upper()}"
            await services.db[SHEETS].update_one({"_id": number}, {"$setOnInsert": {**doc, "_id": number}}, upsert=True)
    return number


async def verify(services, number: str, code: Any) -> Doc:
    """What the other region may know of a sheet: validity, name, masked ID number; else 404."""
    if not isinstance(code, str) or not code.strip():
        raise BadRequest("请输入调转信息表上的验证码", "code_required")
    held = await services.db[SHEETS].find_one({"_id": number}) if len(number) <= NUMBER_MAX else None
    expected = sheet_code(services.settings.secret_key, number)
    if held is None or not hmac.compare_digest(expected, code.strip().upper()):
        raise NotFound("调转信息表编号或验证码不正确", "sheet_not_found")
    office = (deployment_districts(services.settings).get(held.get("region_code") or "") or {}).get("office", "")
    return {
        "valid": True,
        "number": number,
        "name": held.get("name"),
        "id_number": held.get("id_number_masked"),
        "issued_at": held.get("issued_at"),
        "from_office": office,
    }


async def keep_pdf(services, number: str, pdf: bytes) -> None:
    """Store a rendered sheet once (a racing second rendering's file is dropped)."""
    info = await services.files.put(pdf, f"{number}.pdf", "application/pdf", metadata={"kind": "transfer_sheet_pdf"})
    kept = await services.atomic.update(
        services.db[SHEETS], {"_id": number, "pdf": None}, {"$set": {"pdf": {"file_id": info["file_id"]}}}
    )
    if kept is None:
        await services.files.delete(info["file_id"])


def sheet_content(services, app: Doc, archive: Doc, number: str, photo: bytes | None) -> Doc:
    """Everything the PDF prints (see server/transfers/sheet.py)."""
    payload = app.get("payload") or {}
    settings = services.settings
    data = archive.get("data") or {}
    office = (deployment_districts(settings).get(app.get("region_code") or "") or {}).get("office", "")
    code = sheet_code(settings.secret_key, number)
    reason = REASONS.get(payload.get("reason") or "")
    return {
        "number": number,
        "code": code,
        "issued_at": (archive.get("transferred_out") or {}).get("at") or app.get("decided_at"),
        "from_office": office,
        "to_region": payload.get("to_region_name") or "",
        "reason_label": reason.label if reason else "",
        "name": (data.get("profile") or {}).get("name") or "",
        "archive_no": archive["_id"],
        "verify_path": verify_path(number, code),
        "sections": [
            {"label": s["label"], "fields": [{"label": f["label"], "display": f["display"]} for f in s["fields"]]}
            for s in sections(data)
        ],
        "photo": photo,
    }
