"""The bounded photo queue: a full queue answers 503 with Retry-After at once, never piles up."""

from __future__ import annotations

import asyncio
import threading

from server.photos.service import PhotoService
from tests.photos import images
from tests.photos_api.conftest import PHOTO


async def test_concurrent_12mp_uploads_beyond_the_queue_get_503_with_retry_after(
    make_server, as_user, upload_photo, stored_files
):
    srv = await make_server(photo_workers=1, photo_queue=1)
    clients = [await as_user(f"crowd-{i}", running=srv) for i in range(8)]
    data = images.phone_jpeg()
    results = await asyncio.gather(*(upload_photo(c, data) for c in clients))
    statuses = sorted(r.status for r in results)
    assert set(statuses) <= {201, 503}, [r.text for r in results]
    assert 201 in statuses and 503 in statuses, statuses
    for r in results:
        if r.status == 503:
            assert r.error_code == "photo_busy"
            assert int(r.headers["Retry-After"]) >= 1
            assert "稍后" in r.json["error"]["message"]
    accepted = sum(s == 201 for s in statuses)
    assert len(await stored_files(running=srv)) == accepted
    assert srv.services.get(PhotoService).pool.pending == 0
    # Once the queue has drained, a refused person's retry goes through.
    refused = next(c for c, r in zip(clients, results) if r.status == 503)
    assert (await upload_photo(refused, data)).status == 201


async def test_a_full_queue_refuses_at_once_and_recovers(make_server, as_user, upload_photo):
    srv = await make_server(photo_workers=1, photo_queue=1)
    c = await as_user("queued", running=srv)
    pool = srv.services.get(PhotoService).pool
    gate = threading.Event()
    busy = [asyncio.ensure_future(pool.run(gate.wait, 30)) for _ in range(2)]  # one running, one waiting
    try:
        await asyncio.sleep(0)
        assert pool.pending == 2
        r = await upload_photo(c, images.id_photo_jpeg())
        assert r.status == 503 and r.error_code == "photo_busy"
        assert int(r.headers["Retry-After"]) >= 1
        assert (await c.get(PHOTO)).status == 404  # nothing stored
        assert (await c.get("/healthz")).status == 200  # the server itself is responsive
    finally:
        gate.set()
        await asyncio.gather(*busy)
    assert pool.pending == 0
    r = await upload_photo(c, images.id_photo_jpeg())
    assert r.status == 201, r.text


async def test_a_refused_file_gives_its_slot_back(make_server, as_user, upload_photo):
    srv = await make_server(photo_workers=1, photo_queue=1)
    c = await as_user("slots", running=srv)
    for data in (b"", images.gif_bytes(), images.truncated_jpeg(), images.png_bomb(), images.landscape_jpeg()):
        r = await upload_photo(c, data)
        assert r.status in (400, 413, 415, 422), r.text
    assert srv.services.get(PhotoService).pool.pending == 0
    assert (await upload_photo(c, images.id_photo_jpeg())).status == 201
