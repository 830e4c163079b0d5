"""The sweep of orphaned files (issue 18, item 6): it removes files nothing refers to and chunks
without a file entry, as a killed upload leaves them, and never a file some document refers to."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import sys
import textwrap

from bson import Binary, ObjectId

from server.db import utcnow
from server.filesweep import KEY, STATE, WRITERS, FileSweeper
from tests.admin.test_cli import cli_env, run_cli
from tests.conftest import ROOT
from tests.miniprogram.conftest import (  # noqa: F401
    as_user,
    form,
    give_photo,
    jpeg_bytes,
    make_valid_record,
    pdf_bytes,
    upload,
)

HOURS_AGO = utcnow() - dt.timedelta(hours=3)


def old_oid() -> ObjectId:
    """A file id as an upload started three hours ago would have made it."""
    return ObjectId(int(HOURS_AGO.timestamp()).to_bytes(4, "big") + os.urandom(8))


async def put(services, data: bytes = b"x" * 3000, name: str = "f.bin") -> ObjectId:
    return (await services.files.put(data, name, "application/octet-stream"))["file_id"]


async def chunk_ids(services, file_id) -> list:
    return [c["_id"] async for c in services.db["files.chunks"].find({"files_id": file_id})]


async def exists(services, file_id) -> bool:
    """The file is whole: its entry and its bytes."""
    try:
        return bool(await services.files.read(file_id))
    except Exception:
        return False


async def referenced_files(server, client, make_valid_record) -> dict[str, ObjectId]:  # noqa: F811
    """One file referenced from every place a file id is kept, most through real HTTP."""
    services, db = server.services, server.services.db
    refs: dict[str, ObjectId] = {}
    view = await make_valid_record(client)  # documents uploaded over HTTP, the photo set on the record
    app = await db["applications"].find_one({"_id": ObjectId(view["id"])})
    refs["collection photo"] = app["photo"]["file_id"]
    for kind, entry in app["documents"].items():
        refs[f"collection {kind}"] = entry["file_id"]
    for slot, data, name in (("transfer_proof", jpeg_bytes(), "p.jpg"), ("transfer_sheet", pdf_bytes(), "s.pdf")):
        ctype = "application/pdf" if name.endswith(".pdf") else "image/jpeg"
        r = await client.post(f"/api/v1/me/transfers/files?slot={slot}", data=form(data, name, ctype))
        assert r.status == 201, r.text
    account = await db["accounts"].find_one({"_id": client.openid})
    refs["staged transfer proof"] = account["transfer_proof"]["file_id"]
    refs["staged transfer sheet"] = account["transfer_sheet"]["file_id"]
    # Shapes written by the approval, change, transfer and migration code (see docs/contracts.md).
    entry = lambda fid: {"file_id": fid, "sha256": "0" * 64, "size": 3000, "content_type": "image/jpeg"}  # noqa: E731
    refs["account change proof"] = await put(services)
    await db["accounts"].update_one(
        {"_id": client.openid}, {"$set": {"change_proof": entry(refs["account change proof"])}}
    )
    refs["archive photo"], refs["archive diploma"] = await put(services), await put(services)
    await db["archives"].insert_one(
        {
            "_id": "350203199001011234",
            "photo": entry(refs["archive photo"]),
            "documents": {"diploma": entry(refs["archive diploma"])},
        }
    )
    refs["change proof"] = await put(services)
    await db["applications"].insert_one(
        {"_id": ObjectId(), "kind": "change", "documents": {"change_proof": entry(refs["change proof"])}}
    )
    refs["transfer in photo"], refs["transfer in sheet"] = await put(services), await put(services)
    await db["applications"].insert_one(
        {
            "_id": ObjectId(),
            "kind": "transfer_in",
            "photo": entry(refs["transfer in photo"]),
            "documents": {"transfer_sheet": entry(refs["transfer in sheet"])},
        }
    )
    refs["transfer sheet pdf"] = await put(services, b"%PDF-1.4 sheet", "DZ1.pdf")
    await db["transfer_sheets"].insert_one(
        {"_id": "DZ3502032027010100001", "pdf": {"file_id": refs["transfer sheet pdf"]}}
    )
    refs["first-version record"] = await put(services)
    await db["records"].insert_one({"_id": ObjectId(), "photo": entry(refs["first-version record"]), "documents": {}})
    refs["id kept as a string"] = await put(services)
    await db["archives"].insert_one(
        {"_id": "X1", "documents": {"other": {"file_id": str(refs["id kept as a string"])}}}
    )
    return refs


async def backdate_files(services) -> None:
    """Every stored file as if uploaded three hours ago."""
    await services.db["files.files"].update_many({}, {"$set": {"uploadDate": HOURS_AGO}})


async def test_orphans_go_and_every_referenced_file_stays(server, as_user, make_valid_record):  # noqa: F811
    services = server.services
    client = await as_user("keeper")
    refs = await referenced_files(server, client, make_valid_record)
    orphans = [await put(services, b"o" * 300_000, "orphan.jpg"), await put(services, b"p" * 10, "orphan.pdf")]
    chunkless = old_oid()  # an upload killed before its entry was written: chunks only
    await services.db["files.chunks"].insert_many(
        [{"files_id": chunkless, "n": n, "data": Binary(b"c" * 1000)} for n in range(3)]
    )
    await backdate_files(services)
    young_orphan = await put(services)  # may be an upload whose document is being written
    young_chunks = ObjectId()
    await services.db["files.chunks"].insert_one({"files_id": young_chunks, "n": 0, "data": Binary(b"y")})

    dry = await services.get(FileSweeper).sweep(force=True, dry_run=True)
    assert dry is not None and dry["files"] == 2 and all([await exists(services, f) for f in orphans])

    report = await services.get(FileSweeper).sweep(force=True)
    assert report is not None
    assert sorted(report["removed_files"]) == sorted(map(str, orphans))
    assert report["removed_chunk_sets"] == [str(chunkless)]
    assert report["files"] == 2 and report["bytes"] == 300_010 and report["chunk_sets"] == 1
    for fid in orphans:
        assert not await exists(services, fid) and await chunk_ids(services, fid) == []
    assert await chunk_ids(services, chunkless) == []
    missing = [what for what, fid in refs.items() if not await exists(services, fid)]
    assert missing == []
    assert await exists(services, young_orphan) and await chunk_ids(services, young_chunks)
    r = await client.get("/api/v1/me/documents/id_front/file")
    assert r.status == 200 and r.body
    # The next sweep is not due for FILE_SWEEP_MINUTES; forced, it finds nothing more.
    assert await services.get(FileSweeper).sweep() is None
    again = await services.get(FileSweeper).sweep(force=True)
    assert again is not None and again["files"] == 0 and again["chunk_sets"] == 0
    state = await services.db[STATE].find_one({"_id": KEY})
    assert state["last"]["files"] == 0 and state["next_at"] > utcnow() and state["lease_owner"] is None


KILLED_UPLOAD = textwrap.dedent(
    """
    import asyncio, sys, time
    sys.path.insert(0, {root!r})
    from pymongo import AsyncMongoClient
    from pymongo.asynchronous.collection import AsyncCollection
    from server.files import FileStore

    async def main(mode):
        files = FileStore(AsyncMongoClient({uri!r})[{db!r}])
        if mode == "before-attach":  # stored, killed before any document points at it
            info = await files.put(b"a" * 5000, "photo.jpg", "image/jpeg")
            print(info["file_id"], flush=True)
        else:  # killed during the upload: its chunks are written, its entry is not
            insert_one = AsyncCollection.insert_one

            async def stalls(self, doc, *args, **kwargs):
                if self.name == "files.files":
                    print("stalled", flush=True)
                    time.sleep(3600)
                return await insert_one(self, doc, *args, **kwargs)

            AsyncCollection.insert_one = stalls
            await files.put(b"k" * 600_000, "scan.pdf", "application/pdf")
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1]))
    """
)


async def killed_process(mongodb_uri: str, db_name: str, mode: str) -> str:
    """Run an upload in its own process and kill -9 it at the chosen moment; its last line."""
    code = KILLED_UPLOAD.format(root=str(ROOT), uri=mongodb_uri, db=db_name)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, mode, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL and line, (await proc.stderr.read()).decode()  # type: ignore[union-attr]
    return line


async def test_what_a_killed_upload_leaves_is_swept(server, as_user, make_valid_record, mongodb_uri, db_name):  # noqa: F811
    services = server.services
    refs = await referenced_files(server, await as_user("survivor"), make_valid_record)
    stored = ObjectId(await killed_process(mongodb_uri, db_name, "before-attach"))
    assert await exists(services, stored)
    assert await killed_process(mongodb_uri, db_name, "mid-upload") == "stalled"
    entries = {e["_id"] async for e in services.db["files.files"].find({}, {"_id": 1})}
    left = {c["files_id"] async for c in services.db["files.chunks"].find({}, {"files_id": 1})} - entries
    assert len(left) == 1  # the killed upload's chunks, without an entry
    await asyncio.sleep(1.1)  # ids carry whole seconds
    # An age of nothing: every file is old enough, so only references keep them.
    report = await services.get(FileSweeper).sweep(force=True, older_than=dt.timedelta(0))
    assert report is not None
    assert report["removed_files"] == [str(stored)] and report["removed_chunk_sets"] == [str(left.pop())]
    assert [what for what, fid in refs.items() if not await exists(services, fid)] == []
    entries_after = {e["_id"] async for e in services.db["files.files"].find({}, {"_id": 1})}
    chunk_sets = {c["files_id"] async for c in services.db["files.chunks"].find({}, {"files_id": 1})}
    assert chunk_sets == entries_after == set(refs.values())


async def test_one_sweep_at_a_time_across_processes(server, make_server):
    other = await make_server()
    orphan = await put(server.services)
    await backdate_files(server.services)
    # Another process holds the lease: no sweep here, forced or not.
    await server.services.db[STATE].insert_one(
        {"_id": KEY, "lease_owner": "elsewhere", "lease_until": utcnow() + dt.timedelta(minutes=5), "next_at": utcnow()}
    )
    assert await server.services.get(FileSweeper).sweep(force=True) is None
    assert await other.services.get(FileSweeper).sweep() is None
    assert await exists(server.services, orphan)
    # Its holder died: once the lease has run out, one of the others takes over.
    await server.services.db[STATE].update_one(
        {"_id": KEY}, {"$set": {"lease_until": utcnow() - dt.timedelta(seconds=1)}}
    )
    results = await asyncio.gather(
        server.services.get(FileSweeper).sweep(), other.services.get(FileSweeper).sweep(), return_exceptions=True
    )
    done = [r for r in results if r is not None]
    assert len(done) == 1 and not isinstance(done[0], BaseException) and done[0]["files"] == 1
    assert not await exists(server.services, orphan)


async def test_servers_run_the_sweep_in_the_background(make_server):
    running = await make_server(background=True)
    assert "file-sweep" in {t.get_name() for t in running.services._tasks}


async def test_the_command_sweeps_the_running_servers_database(server, mongodb_uri, db_name):
    orphan = await put(server.services)
    kept = await put(server.services)
    await server.services.db["transfer_sheets"].insert_one({"_id": "DZ1", "pdf": {"file_id": kept}})
    await backdate_files(server.services)
    env = cli_env(MONGODB_URI=mongodb_uri, MONGODB_DB=db_name)
    code, out, err = await run_cli(["sweep-files", "--dry-run"], env)
    assert code == 0, err
    assert "would remove 1 orphaned files" in out and str(orphan) in out and await exists(server.services, orphan)
    code, out, err = await run_cli(["sweep-files"], env)
    assert code == 0, err
    assert re.search(r"^removed 1 orphaned files \(3000 bytes\) and 0 chunk sets", out, re.M) and str(orphan) in out
    assert not await exists(server.services, orphan) and await exists(server.services, kept)
    code, _, err = await run_cli(["sweep-files", "--older-than-minutes", "1"], env)
    assert code == 2 and "at least 5" in err


def test_every_file_writer_is_known_to_the_sweep():
    """A new `files.put` writer must say where it keeps the id (WRITERS), and REFERENCES read it."""
    writers = set()
    for path in (ROOT / "server").rglob("*.py"):
        if re.search(r"\bfiles\.put\(", path.read_text(encoding="utf-8")):
            writers.add(str(path.relative_to(ROOT)))
    assert writers == set(WRITERS), "add the new writer and its referencing field to server/filesweep.py"


def test_any_object_id_under_a_field_read_counts():
    from server.filesweep import drop_referenced

    nested, in_tuple, as_text = ObjectId(), ObjectId(), ObjectId()
    other = ObjectId()
    candidates = {nested.binary, in_tuple.binary, as_text.binary, other.binary}
    drop_referenced({"a": [{"b": nested}], "c": ("x", in_tuple), "d": {"e": str(as_text)}, "n": 1}, candidates)
    assert candidates == {other.binary}
