"""Fixtures for the mini-program API: logged-in clients, valid records, real files."""

from __future__ import annotations

import io
from datetime import date

import aiohttp
import pytest
from PIL import Image

from server.db import utcnow
from tests.records import idgen


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), exif: bool = False) -> bytes:
    """A real JPEG; with `exif`, it carries camera and GPS tags and orientation 6."""
    img = Image.new("RGB", size, color)
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "SecretCam"  # Make
        tags[0x0110] = "Model-42"  # Model
        tags[0x0112] = 6  # Orientation: rotate 90
        gps = tags.get_ifd(0x8825)
        gps[1], gps[2] = "N", (24.0, 27.0, 0.0)
        img.save(out, "JPEG", exif=tags.tobytes(), comment=b"secret comment")
    else:
        img.save(out, "JPEG")
    return out.getvalue()


def png_bytes(size=(40, 30), text: str | None = None) -> bytes:
    """A real PNG, optionally with a tEXt chunk."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 255, 200)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A real one-page PDF (written by Pillow)."""
    out = io.BytesIO()
    Image.new("RGB", (100, 140), (255, 255, 255)).save(out, "PDF")
    return out.getvalue()


def form(
    data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg", field: str = "file"
) -> aiohttp.FormData:
    """A multipart body like wx.uploadFile's."""
    fd = aiohttp.FormData()
    fd.add_field(field, data, filename=filename, content_type=content_type)
    fd.add_field("user", "wx")  # wx.uploadFile formData
    return fd


def valid_body(
    id_type: str = "resident_id",
    id_number: str | None = None,
    in_post: bool = True,
    qualification: str = "junior",
    name: str = "张三",
) -> dict:
    """A complete, valid PATCH body."""
    if id_number is None:
        id_number = {
            "resident_id": idgen.resident_id("350203", date(1990, 5, 17), "male"),
            "residence_permit": idgen.residence_permit("810000", date(1988, 2, 29), "male"),
            "passport": "E12345678",
        }[id_type]
    profile = {"name": name, "id_type": id_type, "id_number": id_number}
    if id_type == "resident_id":
        profile["ethnicity"] = "01"
    if id_type == "passport":
        profile.update(gender="male", birth_date="1985-03-04", nationality="USA")
    body = {
        "profile": profile,
        "educations": [
            {
                "level": "bachelor",
                "school": "厦门大学",
                "major": "会计学",
                "mode": "full_time",
                "from": "2008-09-01",
                "to": "2012-07-01",
                "degree": "bachelor",
            }
        ],
        "qualifications": [],
        "work_history": [],
        "contact": {"mobile": "13800138000", "email": "zhang@example.com"},
        "region_code": "350203",
    }
    if qualification != "none":
        body["qualifications"] = [
            {
                "level": qualification,
                "obtained_by": "exam",
                "obtained_on": "2014-05-18",
                "certificate_no": "ZJ-2014-0001",
                "issuer": "财政部",
            }
        ]
    if in_post:
        body["work_history"] = [
            {
                "unit_name": "厦门某某有限公司",
                "unit_credit_code": idgen.uscc(),
                "unit_nature": "enterprise",
                "industry": "I",
                "post": "general_ledger",
                "from": "2012-08-01",
            }
        ]
        body["employment"] = {"accounting_since": "2012-08-01"}
    return body


async def upload_missing(client, missing: list[dict], upload) -> None:
    """Upload a real JPEG for every document the record view lists as missing: identity documents
    ("documents.<kind>") and the proofs of entries ("<list>.<i>.proof", with ?entry=<id>)."""
    record = None
    for item in missing:
        field = item["field"]
        if field.startswith("documents."):
            r = await upload(client, field.split(".", 1)[1], jpeg_bytes())
        elif field.endswith(".proof"):
            name, index, _ = field.split(".")
            record = record or (await client.get("/api/v1/me/record")).json
            entry = record[name][int(index)]["id"]
            r = await upload(client, ENTRY_KINDS[name], jpeg_bytes(), entry=entry)
        else:
            continue
        assert r.status == 201, r.text


ENTRY_KINDS = {"educations": "diploma", "qualifications": "qualification_certificate", "work_history": "work_proof"}


@pytest.fixture
async def as_user(server, http_factory):
    """Factory: an HTTP client logged in as demo user `name` (token kept on the client)."""

    async def _make(name: str, running=None):
        client = http_factory(running or server)
        resp = await client.post("/api/v1/auth/login", json={"code": f"demo:{name}"})
        assert resp.status == 200, resp.text
        client.token = resp.json["token"]
        client.openid = f"demo-openid-{name}"
        return client

    return _make


@pytest.fixture
def give_photo(server):
    """Store a real JPEG via services.files and set record.photo (stands in for POST /me/photo)."""

    async def _give(openid: str, running=None) -> dict:
        services = (running or server).services
        info = await services.files.put(jpeg_bytes((295, 413)), "photo.jpg", "image/jpeg")
        photo = {
            "file_id": info["file_id"],
            "sha256_original": info["sha256"],
            "size": info["size"],
            "checks": [],
            "uploaded_at": utcnow(),
        }
        records = services.db["applications"]
        doc = await records.find_one({"openid": openid})
        return await services.atomic.update(
            records, {"_id": doc["_id"]}, {"$set": {"photo": photo}, "$inc": {"version": 1}}
        )

    return _give


@pytest.fixture
def upload():
    """Upload helper: `await upload(client, kind, data, filename)` → Response."""

    async def _upload(
        client,
        kind: str,
        data: bytes,
        filename: str = "a.jpg",
        content_type: str = "image/jpeg",
        entry: str | None = None,
    ):
        query = f"?entry={entry}" if entry else ""
        return await client.post(f"/api/v1/me/documents/{kind}{query}", data=form(data, filename, content_type))

    return _upload


@pytest.fixture
def make_valid_record(give_photo, upload):
    """Fill a client's record completely: fields, required documents and the photo."""

    async def _make(client, photo: bool = True, **body_kw) -> dict:
        body = valid_body(**body_kw)
        resp = await client.patch("/api/v1/me/record", json=body)
        assert resp.status == 200, resp.text
        await upload_missing(client, resp.json["missing"], upload)
        if photo:
            await give_photo(client.openid)
        return (await client.get("/api/v1/me/record")).json

    return _make
