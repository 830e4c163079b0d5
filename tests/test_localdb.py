"""The local database: FerretDB's `_id` lookups, updates and deletes use its `_id` index (the patch); one
database server per data folder (an orphan left by a killed server is stopped); the build keeps only the binary."""

from __future__ import annotations

import asyncio
import json
import os

import aiohttp
import pytest
from bson import ObjectId

from server.localdb import SQLITE_ID_PATCH, LocalDatabase, LocalDatabaseError, ferretdb_binary, ping
from settings import Settings


async def test_id_lookups_are_index_searches_on_ferretdb(server):
    s = server.services
    if not s.ferretdb:
        pytest.skip("MongoDB answers _id lookups from its index anyway")
    docs = [{"_id": ObjectId(), "n": i} for i in range(50)] + [{"_id": f"k{i}", "n": i} for i in range(50)]
    await s.db["probe"].insert_many(docs)
    for key in (docs[10]["_id"], "k49"):
        plan = await s.db.command("explain", {"find": "probe", "filter": {"_id": key}})
        steps = " ".join(plan["queryPlanner"]["Plan"])
        assert plan["filterPushdown"] is True and "USING INDEX" in steps and "SCAN" not in steps, plan
        assert (await s.db["probe"].find_one({"_id": key}))["_id"] == key  # and it still finds the document
    await s.db["probe"].update_one({"_id": "k3"}, {"$set": {"n": -3}})
    await s.db["probe"].delete_one({"_id": "k4"})
    assert (await s.db["probe"].find_one({"_id": "k3"}))["n"] == -3
    assert await s.db["probe"].find_one({"_id": "k4"}) is None
    assert await s.db["probe"].count_documents({}) == 99


def test_the_patched_binary_has_its_own_cache_name(tmp_path):
    path, old, new = SQLITE_ID_PATCH
    assert old != new and "_id" in new and path.endswith("metadata.go")
    assert ferretdb_binary(tmp_path).parent.name.endswith("idindex1")  # an unpatched cached build is not reused


# ---------------------------------------------------------------- one database server per data folder


def test_a_data_folder_has_one_owner(tmp_path, settings):
    one = LocalDatabase(tmp_path / "data", settings.cache_path)
    two = LocalDatabase(tmp_path / "data", settings.cache_path)
    one.start()
    try:
        with pytest.raises(LocalDatabaseError, match="DATA_DIR .* is in use by another running server"):
            two.start()
        assert one.running_here() == [one.proc.pid]
        info = json.loads(one.pid_file.read_text())
        assert info["pid"] == one.proc.pid and info["port"] == one.port and info["owner_pid"] == os.getpid()
    finally:
        one.stop()
    assert not one.pid_file.exists()
    two.start()  # the folder is free again
    two.stop()


def test_an_orphan_is_stopped_before_a_new_start(tmp_path, settings):
    """The owner died (its lock went with it) and left its database server running: the next start stops it."""
    dead = LocalDatabase(tmp_path / "data", settings.cache_path)
    dead.start()
    orphan = dead.proc
    dead._unlock()  # what the kernel does when the owner is killed with SIGKILL
    heir = LocalDatabase(tmp_path / "data", settings.cache_path)
    try:
        heir.start()
        assert orphan.wait(5) is not None  # stopped, not left beside the new one
        assert heir.running_here() == [heir.proc.pid]
        assert ping(heir.uri)
    finally:
        heir.stop()
        dead.proc = None
    assert heir.running_here() == []


def test_restart_starts_it_again_on_its_port(tmp_path, settings):
    local = LocalDatabase(tmp_path / "data", settings.cache_path)
    local.start()
    try:
        first = local.proc.pid
        assert local.exited() is None
        local.proc.kill()
        local.proc.wait()
        assert local.exited() is not None
        assert local.restart() == local.uri and local.proc.pid != first and local.restarts == 1
        assert local.running_here() == [local.proc.pid] and ping(local.uri)
    finally:
        local.stop()


async def test_sigkill_of_the_server_then_a_restart_leaves_one_database_server(tmp_path):
    """`kill -9` of `python -m server` leaves its database server running (parent PID 1); the next start
    stops that orphan before it starts its own: one database server on the data folder afterwards."""
    from tests.test_processes import ServerProcess, alive

    data = tmp_path / "data"
    env = {"DATA_DIR": str(data), "ENVIRONMENT": "test"}  # MONGODB_URI unset: the local default
    first = await ServerProcess(env, tmp_path / "first.log").start()
    local = LocalDatabase(data, Settings.from_env({}).cache_path)
    orphan = json.loads(local.pid_file.read_text())["pid"]
    assert local.running_here() == [orphan]
    await first.kill()
    await asyncio.sleep(0.5)
    assert alive(orphan)  # it outlived its server
    second = await ServerProcess(env, tmp_path / "second.log").start()
    try:
        assert not alive(orphan)
        running = local.running_here()
        assert len(running) == 1 and running != [orphan]
        assert json.loads(local.pid_file.read_text())["pid"] == running[0]
        async with aiohttp.ClientSession() as session, session.get(second.url + "/readyz") as r:
            assert r.status == 200
        assert "stopping an orphaned" in second.log()
    finally:
        assert await second.stop() == 0
    assert local.running_here() == []


# ---------------------------------------------------------------- the build: temporary Go caches, progress

FAKE_GO = r'''#!PYTHON
"""A stand-in for `go` that does what the FerretDB build asks of it, and records its environment."""
import json, os, sys, time
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_GO_RECORD"], "a") as rec:
    rec.write(json.dumps({"args": args, **{k: os.environ.get(k) for k in ("GOMODCACHE", "GOCACHE", "GOFLAGS", "GOPATH")}}) + "\n")
mod = Path(os.environ["GOMODCACHE"])
if args[:2] == ["mod", "download"]:
    src = mod / "github.com" / "!ferret!d!b" / "!ferret!d!b@v1.24.2"
    meta = src / "internal/backends/sqlite/metadata"
    meta.mkdir(parents=True)
    (meta / "metadata.go").write_text("package metadata\nconst IDColumn = DefaultColumn + \"->'$._id'\"\n")
    (src / "build/version").mkdir(parents=True)
    (src / "cmd/ferretdb").mkdir(parents=True)
    (src / "cmd/ferretdb/main.go").write_text("package main\n")
    for p in sorted(src.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)  # as Go leaves its module cache
    print(json.dumps({"Dir": str(src)}))
elif args[:2] == ["list", "-deps"]:
    (mod / "example.com/dep@v1").mkdir(parents=True)
    (mod / "example.com/dep@v1/dep.go").write_text("x" * 100000)
    print("\n".join(f"example.com/pkg{i}" for i in range(6)))
elif args[0] == "build":
    assert "->'_id'" in Path("internal/backends/sqlite/metadata/metadata.go").read_text(), "not patched"
    assert Path("build/version/version.txt").read_text() == "v1.24.2\n"
    cache = Path(os.environ["GOCACHE"])
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "object").write_text("o" * 100000)
    for i in range(6):
        print(f"example.com/pkg{i}", file=sys.stderr, flush=True)
        time.sleep(0.2)
    out = Path(args[args.index("-o") + 1])
    out.write_text("#!/bin/sh\necho fake ferretdb\n")
elif args[:2] == ["clean", "-modcache"]:
    import shutil
    shutil.rmtree(mod, ignore_errors=True)
else:
    sys.exit(f"fake go: unexpected {args}")
'''


def test_the_build_uses_temporary_go_caches_and_shows_progress(tmp_path, monkeypatch, capsys):
    import sys

    from server import localdb

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text(FAKE_GO.replace("PYTHON", sys.executable))
    go.chmod(0o755)
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GO_RECORD", str(record))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(localdb.tempfile, "tempdir", None)  # TMPDIR is read again
    monkeypatch.setattr(localdb, "PROGRESS_SECONDS", 0.0)
    cache = tmp_path / "cache"

    path = localdb.build_ferretdb(cache)

    assert path == ferretdb_binary(cache) and "fake ferretdb" in path.read_text()
    assert sorted(p.name for p in cache.rglob("*")) == ["ferretdb", path.parent.name]  # only the binary is kept
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert [c["args"][:2] for c in calls] == [
        ["mod", "download"],
        ["list", "-deps"],
        ["build", "-v"],
        ["clean", "-modcache"],
    ]
    for call in calls:
        assert call["GOMODCACHE"].startswith(str(tmp_path / "tmp")) and call["GOCACHE"].startswith(
            str(tmp_path / "tmp")
        )
        assert "-modcacherw" in call["GOFLAGS"]
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary caches are gone
    err = capsys.readouterr().err
    for text in ("step 1/3", "step 2/3", "step 3/3", "compiling 6 packages", "/6 packages", "built FerretDB in"):
        assert text in err, err
