"""Who may read and replace the photo: ownership, replacement in GridFS, read-only records, limits, spec."""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading

import aiohttp
from PIL import Image

from server.photos.service import PhotoService
from tests.photos import images
from tests.photos_api.conftest import PHOTO, form

SUBMIT = "/api/v1/me/record/submit"


async def test_only_the_callers_photo_is_ever_returned(as_user, upload_photo, http):
    a, b = await as_user("owner-a"), await as_user("owner-b")
    ra = await upload_photo(a, images.id_photo_jpeg(images.WHITE))
    assert ra.status == 201
    r = await b.get(PHOTO)
    assert r.status == 404 and r.error_code == "photo_not_found"
    rb = await upload_photo(b, images.id_photo_jpeg(images.ID_BLUE))
    assert rb.status == 201
    assert ra.json["sha256"] != rb.json["sha256"]
    # Query parameters or headers naming someone else change nothing.
    for client, own in ((a, ra), (b, rb)):
        got = await client.get(
            PHOTO + "?openid=demo-openid-owner-a&record_id=x", headers={"X-Openid": "demo-openid-owner-a"}
        )
        assert got.status == 200
        assert hashlib.sha256(got.body).hexdigest() == own.json["sha256"]
    # Without a valid bearer token there is nothing to read or write.
    assert (await http.get(PHOTO)).status == 401
    assert (await http.get(PHOTO, token="forged-token")).status == 401
    # Refused before the body is read (asked first with Expect: 100-continue, like curl).
    async with (
        aiohttp.ClientSession() as session,
        session.post(http.base_url + PHOTO, data=form(images.id_photo_jpeg()), expect100=True) as resp,
    ):
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "token_missing"


async def test_replacing_the_photo_deletes_the_old_file_from_gridfs(
    as_user, upload_photo, stored_files, record_of, server
):
    c = await as_user("replace")
    first = await upload_photo(c, images.id_photo_jpeg(images.WHITE))
    assert first.status == 201
    old_id = (await record_of(c.openid))["photo"]["file_id"]
    second = await upload_photo(c, images.phone_jpeg(images.ID_BLUE))
    assert second.status == 201
    doc = await record_of(c.openid)
    assert doc["photo"]["file_id"] != old_id
    files = await stored_files()
    assert [f["_id"] for f in files] == [doc["photo"]["file_id"]]
    assert await server.services.db["files.chunks"].count_documents({"files_id": old_id}) == 0
    got = await c.get(PHOTO)
    assert hashlib.sha256(got.body).hexdigest() == second.json["sha256"]


async def test_concurrent_replacements_leave_exactly_one_file(as_user, upload_photo, stored_files, record_of):
    c = await as_user("race")
    photos = [
        images.id_photo_jpeg(images.WHITE),
        images.id_photo_jpeg(images.ID_BLUE),
        images.id_photo_jpeg(images.WHITE, face_frac=0.2),
        images.id_photo_jpeg(images.ID_BLUE, face_frac=0.2),
    ]
    results = await asyncio.gather(*(upload_photo(c, p) for p in photos))
    assert all(r.status == 201 for r in results), [r.text for r in results]
    doc = await record_of(c.openid)
    files = await stored_files()
    assert [f["_id"] for f in files] == [doc["photo"]["file_id"]]
    assert doc["photo"]["sha256"] in {r.json["sha256"] for r in results}


async def test_a_submitted_record_refuses_a_new_photo(
    as_user, upload_photo, make_valid_record, stored_files, record_of, server
):
    c = await as_user("submitted")
    await make_valid_record(c, photo=False)
    first = await upload_photo(c, images.id_photo_jpeg())
    assert first.status == 201
    r = await c.post(SUBMIT, json={"commitment": True})
    assert r.status == 200, r.text
    before = await stored_files()
    r = await upload_photo(c, images.id_photo_jpeg(images.ID_BLUE))
    assert r.status == 409 and r.error_code == "record_locked"
    assert "已提交" in r.json["error"]["message"]
    assert await stored_files() == before
    got = await c.get(PHOTO)  # still readable
    assert hashlib.sha256(got.body).hexdigest() == first.json["sha256"]

    records = server.services.db["applications"]
    await records.update_one({"openid": c.openid}, {"$set": {"status": "approved"}})
    r = await upload_photo(c, images.id_photo_jpeg(images.ID_BLUE))
    assert r.status == 409 and "审核通过" in r.json["error"]["message"]

    # A rejected record may be corrected: a new photo is accepted again.
    await records.update_one({"openid": c.openid}, {"$set": {"status": "rejected"}})
    r = await upload_photo(c, images.id_photo_jpeg(images.ID_BLUE))
    assert r.status == 201, r.text
    assert [f["_id"] for f in await stored_files()] == [(await record_of(c.openid))["photo"]["file_id"]]


async def test_a_submission_while_the_photo_is_processed_wins(
    make_server, as_user, upload_photo, make_valid_record, stored_files, record_of
):
    srv = await make_server(photo_workers=1, photo_queue=1)
    c = await as_user("mid-submit", running=srv)
    await make_valid_record(c, photo=False)
    first = await upload_photo(c, images.id_photo_jpeg())
    assert first.status == 201
    pool = srv.services.get(PhotoService).pool
    gate = threading.Event()
    blocker = asyncio.ensure_future(pool.run(gate.wait, 30))  # occupies the only worker
    try:
        upload = asyncio.ensure_future(upload_photo(c, images.id_photo_jpeg(images.ID_BLUE)))
        for _ in range(500):  # wait until the upload is queued behind the blocker
            if pool.pending == 2:
                break
            await asyncio.sleep(0.01)
        assert pool.pending == 2
        r = await c.post(SUBMIT, json={"commitment": True})
        assert r.status == 200, r.text
    finally:
        gate.set()
        await blocker
    r = await upload
    assert r.status == 409 and r.error_code == "record_locked"
    doc = await record_of(c.openid, running=srv)
    assert doc["status"] == "submitted"
    assert doc["photo"]["sha256"] == first.json["sha256"]
    # The processed-but-refused JPEG was removed again.
    assert [f["_id"] for f in await stored_files(running=srv)] == [doc["photo"]["file_id"]]


async def test_bodies_over_the_upload_limit_are_refused(make_server, as_user, upload_photo, stored_files):
    srv = await make_server(upload_max_mb=1)
    c = await as_user("big", running=srv)
    data = images.phone_jpeg()
    assert len(data) > 3 * 1024 * 1024
    # The announced length is refused before the body is sent (instead of "100 Continue").
    async with c.session.post(
        srv.url + PHOTO, data=form(data), expect100=True, headers={"Authorization": f"Bearer {c.token}"}
    ) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"]["code"] == "file_too_large"
    # Within the multipart allowance but over the file limit: the pipeline's own size check.
    slightly = images.to_jpeg(images.portrait(size=(1200, 1600)), quality=100)
    slightly += b"\x00" * (1024 * 1024 + 10_000 - len(slightly))
    r = await upload_photo(c, slightly)
    assert r.status == 413 and r.error_code == "file_too_large" and "1 MB" in r.json["error"]["message"]
    assert await stored_files(running=srv) == []


async def test_a_streamed_body_over_the_limit_is_cut_off(make_server, as_user):
    srv = await make_server(upload_max_mb=1)
    c = await as_user("chunked", running=srv)

    async def body():  # chunked transfer: no Content-Length to refuse up front
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for _ in range(40):
            yield b"\xff" * 64 * 1024

    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(
                srv.url + PHOTO,
                data=body(),
                headers={"Authorization": f"Bearer {c.token}", "Content-Type": "multipart/form-data; boundary=b"},
            ) as resp:
                assert resp.status == 413
                assert (await resp.json())["error"]["code"] == "file_too_large"
        except aiohttp.ClientError:
            pass  # the server may close the connection before the client finished sending
    assert (await c.get(PHOTO)).status == 404


async def test_malformed_requests_are_400(as_user):
    c = await as_user("malformed")
    r = await c.post(PHOTO, raw=images.id_photo_jpeg(), headers={"Content-Type": "image/jpeg"})
    assert r.status == 400 and r.error_code == "not_multipart"
    fd = aiohttp.FormData()
    fd.add_field("photo", images.id_photo_jpeg(), filename="a.jpg", content_type="image/jpeg")
    r = await c.post(PHOTO, data=fd)
    assert r.status == 400 and r.error_code == "file_missing"
    r = await c.post(PHOTO, raw=b"garbage", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status == 400 and r.error_code == "malformed_multipart"
    assert (await c.get(PHOTO)).status == 404


async def test_the_spec_comes_from_the_settings(make_server, as_user, upload_photo):
    srv = await make_server(
        photo_backgrounds="blue", photo_width_px=358, photo_height_px=441, photo_min_kb=14, photo_max_kb=40
    )
    c = await as_user("spec", running=srv)
    r = await upload_photo(c, images.id_photo_jpeg(images.WHITE))
    assert r.status == 422
    background = next(ch for ch in r.json["error"]["checks"] if ch["check"] == "background")
    assert background["result"] == "fail" and "蓝色" in background["message"]
    r = await upload_photo(c, images.id_photo_jpeg(images.ID_BLUE))
    assert r.status == 201, r.text
    assert (r.json["width"], r.json["height"]) == (358, 441)
    got = await c.get(PHOTO)
    assert 14 * 1024 <= len(got.body) <= 40 * 1000
    img = Image.open(io.BytesIO(got.body))
    assert img.size == (358, 441)


async def test_the_endpoint_is_documented(http):
    doc = (await http.get("/api/openapi.json")).json
    ops = doc["paths"]["/api/v1/me/photo"]
    assert set(ops) == {"get", "post"}
    assert {"201", "400", "401", "409", "413", "415", "422", "503"} <= set(ops["post"]["responses"])
    check = doc["components"]["schemas"]["PhotoCheck"]
    assert check["properties"]["result"]["enum"] == ["pass", "fixed", "fail"]
    assert ops["post"]["security"] and ops["get"]["security"]
