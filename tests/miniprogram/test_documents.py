"""POST/GET /api/v1/me/documents...: real type from the bytes, metadata stripped, size limits, ownership."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import threading

import pytest
from PIL import Image

from server.documents import DocumentService
from server.documents.service import MAX_IN_FLIGHT
from tests.miniprogram.conftest import form, jpeg_bytes, pdf_bytes, png_bytes

EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"This program cannot be run in DOS mode"
    + b"\x00" * 400
)


async def nothing_stored(running, openid: str, version: int | None = None) -> None:
    """No GridFS file and no document entry for this person."""
    db = running.services.db
    assert await db["files.files"].count_documents({}) == 0
    assert await db["files.chunks"].count_documents({}) == 0
    doc = await db["applications"].find_one({"openid": openid})
    assert doc["documents"] == {}
    if version is not None:
        assert doc["version"] == version


async def test_a_jpeg_is_re_encoded_without_metadata(server, as_user, upload):
    c = await as_user("amy")
    original = jpeg_bytes((64, 48), exif=True)
    assert b"SecretCam" in original
    r = await upload(c, "id_front", original, "IMG_0001.JPG")
    assert r.status == 201, r.text
    meta = r.json
    assert meta["kind"] == "id_front" and meta["content_type"] == "image/jpeg" and meta["label"] == "身份证人像面"
    got = await c.get("/api/v1/me/documents/id_front/file")
    assert got.status == 200 and got.headers["Content-Type"] == "image/jpeg"
    data = got.body
    assert hashlib.sha256(data).hexdigest() == meta["sha256"] and len(data) == meta["size"]
    assert data != original
    for secret in (b"SecretCam", b"Model-42", b"secret comment", b"Exif\x00\x00"):
        assert secret not in data
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and not img.getexif() and "icc_profile" not in img.info
    assert img.size == (48, 64)  # orientation applied before EXIF was dropped
    stored = await server.services.db["files.files"].find_one({})
    assert stored["metadata"]["sha256"] == meta["sha256"] and stored["length"] == meta["size"]


async def test_a_png_loses_its_text_chunks(as_user, upload):
    c = await as_user("bo")
    original = png_bytes(text="GPS 24.4N 118.1E")
    r = await upload(c, "diploma", original, "scan.png", "image/png")
    assert r.status == 201 and r.json["content_type"] == "image/png"
    data = (await c.get("/api/v1/me/documents/diploma/file")).body
    assert b"GPS 24.4N" not in data and b"tEXt" not in data
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and img.mode == "RGBA" and img.size == (40, 30)


async def test_a_real_pdf_is_stored_as_is(as_user, upload):
    c = await as_user("cy")
    pdf = pdf_bytes()
    r = await upload(c, "work_proof", pdf, "证明.pdf", "application/pdf")
    assert r.status == 201 and r.json["content_type"] == "application/pdf"
    got = await c.get("/api/v1/me/documents/work_proof/file")
    assert got.body == pdf and got.headers["Content-Type"] == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_type_comes_from_the_bytes_not_the_name(as_user, upload):
    c = await as_user("di")
    r = await upload(c, "diploma", jpeg_bytes(), "diploma.pdf", "application/pdf")
    assert r.status == 201 and r.json["content_type"] == "image/jpeg"


async def test_an_exe_renamed_jpg_is_refused_and_nothing_stored(server, as_user, upload):
    c = await as_user("ed")
    r = await upload(c, "id_front", EXE, "photo.jpg", "image/jpeg")
    assert r.status == 415 and r.error_code == "unsupported_file_type"
    assert "可执行程序" in r.json["error"]["message"]
    await nothing_stored(server, c.openid, version=1)


@pytest.mark.parametrize(
    "data,status,code",
    [
        (b"", 400, "empty_file"),
        (b"hello, I am a text file pretending to be a PDF", 415, "unsupported_file_type"),
        (b"<html><script>alert(1)</script></html>", 415, "unsupported_file_type"),
        (b"GIF89a" + b"\x00" * 100, 415, "unsupported_file_type"),
        (b"%PDF-1.7\n1 0 obj\n<<>>\n", 422, "file_corrupt"),  # truncated: no trailer
        (pdf_bytes()[:-200], 422, "file_corrupt"),
        (b"%PDF-9.9\n" + pdf_bytes()[9:], 422, "file_corrupt"),
        (
            pdf_bytes().replace(
                b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"
            ),
            422,
            "pdf_active_content",
        ),
        (
            pdf_bytes().replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /J#61vaScript >>"),
            422,
            "pdf_active_content",
        ),
        (pdf_bytes().replace(b"/Root 3 0 R", b"/Root 3 0 R\n/Encrypt 9 0 R"), 422, "pdf_encrypted"),
        (jpeg_bytes()[:40], 422, "file_corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 422, "file_corrupt"),
    ],
)
async def test_bad_files_get_a_clear_4xx_and_store_nothing(server, as_user, upload, data, status, code):
    c = await as_user("fox")
    r = await upload(c, "other_proof", data, "file.pdf", "application/pdf")
    assert r.status == status, r.text
    assert r.error_code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json["error"]["message"])
    await nothing_stored(server, c.openid, version=1)


async def test_a_pixel_bomb_is_refused(server, as_user, upload):
    c = await as_user("gem")
    out = io.BytesIO()
    Image.new("1", (10000, 10000)).save(out, "PNG")  # 100 megapixels in a few kilobytes
    assert len(out.getvalue()) < 200_000
    r = await upload(c, "other_proof", out.getvalue(), "bomb.png", "image/png")
    assert r.status == 422 and r.error_code == "image_too_many_pixels"
    await nothing_stored(server, c.openid)


async def test_multipart_problems(server, as_user):
    c = await as_user("hal")
    r = await c.post("/api/v1/me/documents/id_front", data=form(jpeg_bytes(), field="image"))
    assert r.status == 400 and r.error_code == "file_missing"
    r = await c.post("/api/v1/me/documents/id_front", raw=jpeg_bytes(), headers={"Content-Type": "image/jpeg"})
    assert r.status == 400 and r.error_code == "not_multipart"
    for ctype in ("multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=x"):
        r = await c.post("/api/v1/me/documents/id_front", raw=b"garbage", headers={"Content-Type": ctype})
        assert r.status == 400 and r.error_code == "malformed_multipart", (ctype, r.text)
    await nothing_stored(server, c.openid, version=1)


async def test_unknown_kinds_and_no_token(server, as_user, http, upload):
    c = await as_user("ike")
    r = await upload(c, "selfie", jpeg_bytes())
    assert r.status == 404 and r.error_code == "unknown_document_kind"
    r = await upload(c, "ID_FRONT", jpeg_bytes())
    assert r.status == 404
    r = await http.post("/api/v1/me/documents/id_front", data=form(jpeg_bytes()))
    assert r.status == 401
    r = await c.get("/api/v1/me/documents/selfie/file")
    assert r.status == 404
    await nothing_stored(server, c.openid, version=1)


async def test_uploading_the_same_kind_again_replaces_and_deletes_the_old_file(server, as_user, upload):
    c = await as_user("jan")
    first = (await upload(c, "id_back", jpeg_bytes(color=(0, 0, 255)))).json
    files = server.services.db["files.files"]
    old = await files.find_one({})
    second = (await upload(c, "id_back", jpeg_bytes(color=(0, 255, 0)))).json
    assert second["sha256"] != first["sha256"]
    assert await files.count_documents({}) == 1
    assert await files.find_one({"_id": old["_id"]}) is None
    assert await server.services.db["files.chunks"].count_documents({"files_id": old["_id"]}) == 0
    got = await c.get("/api/v1/me/documents/id_back/file")
    assert hashlib.sha256(got.body).hexdigest() == second["sha256"]


async def test_a_user_reading_another_users_document_gets_404(as_user, upload):
    a, b = await as_user("kai"), await as_user("lu")
    assert (await upload(a, "id_front", jpeg_bytes())).status == 201
    r = await b.get("/api/v1/me/documents/id_front/file")
    assert r.status == 404 and r.error_code == "document_not_found"
    assert (await b.get("/api/v1/me/documents")).json["documents"] == []
    assert (await a.get("/api/v1/me/documents/id_front/file")).status == 200


async def test_listing_says_what_is_still_required(as_user, upload):
    c = await as_user("mo")
    r = await c.patch(
        "/api/v1/me/record",
        json={
            "profile": {"id_type": "passport"},
            "educations": [{"level": "bachelor"}],
            "qualifications": [{"level": "senior"}],
            "work_history": [{"unit_name": "某公司", "from": "2015-01-01"}],
        },
    )
    edu, qual, job = (r.json[n][0]["id"] for n in ("educations", "qualifications", "work_history"))
    await upload(c, "passport_info", jpeg_bytes())
    listing = (await c.get("/api/v1/me/documents")).json
    assert [d["kind"] for d in listing["documents"]] == ["passport_info"]
    assert listing["required"] == [
        "passport_info",
        "passport_validity",
        f"diploma_{edu}",
        f"qualification_certificate_{qual}",
        f"work_proof_{job}",
    ]
    assert listing["missing"] == listing["required"][1:]
    r = await upload(c, "work_proof", jpeg_bytes(), entry=job)
    assert r.status == 201 and r.json["label"] == "工作证明", r.text
    listing = (await c.get("/api/v1/me/documents")).json
    assert [d["kind"] for d in listing["documents"]] == ["passport_info", f"work_proof_{job}"]
    assert f"work_proof_{job}" not in listing["missing"]


async def test_concurrent_uploads_of_different_kinds_all_land(server, as_user, upload):
    c = await as_user("ned")
    kinds = ["id_front", "id_back", "diploma", "work_proof", "other_proof"]
    results = await asyncio.gather(*[upload(c, k, jpeg_bytes(color=(i * 40, 0, 0))) for i, k in enumerate(kinds)])
    assert [r.status for r in results] == [201] * 5
    doc = await server.services.db["applications"].find_one({"openid": c.openid})
    assert sorted(doc["documents"]) == sorted(kinds)
    assert await server.services.db["files.files"].count_documents({}) == 5


# --- size limits: refused before the body is read -------------------------------------------------


async def raw_exchange(port: int, head: bytes, chunks: list[bytes] = ()) -> tuple[int, dict, bytes]:
    """Send a raw request head (and chunks) over a socket, then read one HTTP response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        await writer.drain()
        raw_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", 0))), 30)
        return status, headers, body
    finally:
        writer.close()


def request_head(path: str, token: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary=XyZ\r\n{extra}\r\n"
    ).encode()


async def test_an_announced_oversized_body_is_a_413_before_any_byte_is_sent(server, as_user):
    c = await as_user("oz")
    head = request_head("/api/v1/me/documents/id_front", c.token, "Content-Length: 52428800\r\n")
    status, headers, body = await raw_exchange(server.port, head)  # headers only, no body at all
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    err = json.loads(body)["error"]
    assert err["code"] == "file_too_large" and "10 MB" in err["message"]
    await nothing_stored(server, c.openid, version=1)


async def test_a_streamed_body_over_the_limit_is_a_413_before_it_ends(make_server, as_user):
    small = await make_server(upload_max_mb=1)
    c = await as_user("pia", small)
    chunk = b"x" * (64 * 1024)
    framed = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 18  # 1.125 MB, chunked, never terminated
    head = request_head("/api/v1/me/documents/id_front", c.token, "Transfer-Encoding: chunked\r\n")
    status, _, body = await raw_exchange(small.port, head, framed)
    assert status == 413 and json.loads(body)["error"]["code"] == "file_too_large"
    await nothing_stored(small, c.openid, version=1)


async def test_a_real_multipart_upload_over_the_limit_is_a_413(make_server, as_user, upload):
    small = await make_server(upload_max_mb=1)
    c = await as_user("quy", small)
    big = jpeg_bytes() + b"\x00" * (1024 * 1024 + 200 * 1024)
    # Like curl, ask before sending the body: the 413 comes instead of "100 Continue".
    async with c.session.post(
        small.url + "/api/v1/me/documents/id_front",
        data=form(big),
        expect100=True,
        headers={"Authorization": f"Bearer {c.token}"},
    ) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"]["code"] == "file_too_large"
    just_over = jpeg_bytes() + b"\x00" * (1024 * 1024)  # body within the multipart allowance, file over
    r = await upload(c, "id_front", just_over)
    assert r.status == 413 and r.error_code == "file_too_large"
    await nothing_stored(small, c.openid, version=1)
    ok = await upload(c, "id_front", jpeg_bytes())
    assert ok.status == 201


async def test_a_full_cleaning_pool_answers_503_at_once_and_stores_nothing(server, as_user, upload):
    c = await as_user("busy-docs")
    pool = server.services.get(DocumentService).pool
    gate = threading.Event()
    blockers = [asyncio.ensure_future(pool.run(gate.wait, 30)) for _ in range(MAX_IN_FLIGHT)]
    try:
        await asyncio.sleep(0)
        r = await upload(c, "diploma", jpeg_bytes(), "a.jpg", "image/jpeg")
        assert r.status == 503 and r.error_code == "upload_busy"
        assert r.headers["Retry-After"] == "5"
        await nothing_stored(server, "demo-openid-busy-docs")
    finally:
        gate.set()
        await asyncio.gather(*blockers)
    assert pool.pending == 0
    assert (await upload(c, "diploma", jpeg_bytes(), "a.jpg", "image/jpeg")).status == 201
