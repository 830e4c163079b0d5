"""Provision and run a local MongoDB-wire server: `mongod` if on PATH, else FerretDB.

Used by `python -m server` when MONGODB_URI is unset, by the staff CLI (which joins a
running server's database through DATA_DIR/localdb.json) and by the test suite.
FerretDB v1.24.2 is built once from the Go module proxy into a cache folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from pymongo import MongoClient

log = logging.getLogger("kjcj.localdb")

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"


class LocalDatabaseError(RuntimeError):
    """The local database could not be built or started."""


def free_port() -> int:
    """A free TCP port on loopback (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# FerretDB v1.24's SQLite backend looks documents up by `_ferretdb_sjson->'$._id'`, but its unique
# `_id` index is on `_ferretdb_sjson->"_id"`: SQLite cannot match the two expressions, so every
# `_id` lookup, update and delete scanned the whole table (EXPLAIN QUERY PLAN: SCAN; 66-178 ms for
# the last of 20,000 documents, 1.3-2.5 s at 100,000). The same path written as the index writes it
# makes them index searches (EXPLAIN: SEARCH ... USING INDEX). Same results: both forms select the
# `_id` member. The patch is applied to the module source before the build (build_ferretdb).
SQLITE_ID_PATCH = (
    "internal/backends/sqlite/metadata/metadata.go",
    "IDColumn = DefaultColumn + \"->'$._id'\"",
    "IDColumn = DefaultColumn + \"->'_id'\"",
)
PATCH_LEVEL = "idindex1"


def ferretdb_binary(cache_dir: Path) -> Path:
    """Where the built FerretDB binary lives in the cache (named with its patch level)."""
    return cache_dir / f"ferretdb-{FERRETDB_VERSION}-{PATCH_LEVEL}" / "ferretdb"


def patch_source(src: Path) -> None:
    """Make the SQLite backend's `_id` lookups use its `_id` index (see SQLITE_ID_PATCH)."""
    path, old, new = SQLITE_ID_PATCH
    text = (src / path).read_text()
    if old not in text:
        raise LocalDatabaseError(f"FerretDB source changed: {path} has no {old!r}; update SQLITE_ID_PATCH")
    (src / path).write_text(text.replace(old, new))


def build_ferretdb(cache_dir: Path) -> Path:
    """Build FerretDB from the Go module proxy once; return the binary's path.

    `go install ...@v1.24.2` alone gives a binary that panics at start (the module zip
    lacks the generated build/version/version.txt), so the module is downloaded, copied,
    given its version file, patched so `_id` lookups use the `_id` index (SQLITE_ID_PATCH), and
    built with its own go.mod and go.sum.
    """
    target = ferretdb_binary(cache_dir)
    if target.exists():
        return target
    go = shutil.which("go")
    if not go:
        raise LocalDatabaseError("neither mongod nor go is on PATH: cannot provision a local database")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"building FerretDB {FERRETDB_VERSION} into {target.parent} (once) ...", file=sys.stderr, flush=True)
    out = _run([go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"], cwd=tempfile.gettempdir())
    src_dir = Path(json.loads(out)["Dir"])
    with tempfile.TemporaryDirectory(prefix="ferretdb-src-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(src_dir, src)
        for p in src.rglob("*"):
            p.chmod(p.stat().st_mode | 0o200)
        src.chmod(src.stat().st_mode | 0o200)
        (src / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        (src / "build" / "version" / "package.txt").write_text("kjcj-local\n")
        patch_source(src)
        partial = target.with_suffix(".partial")
        _run(
            [go, "build", "-trimpath", "-o", str(partial), "./cmd/ferretdb"],
            cwd=str(src),
            env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false"},
        )
        partial.replace(target)
    print(f"built FerretDB in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return target


def _run(cmd: list[str], cwd: str, env: dict | None = None) -> str:
    """Run a build step; raise with its output when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LocalDatabaseError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


class LocalDatabase:
    """One local MongoDB-wire server process with its data under `data_dir`."""

    def __init__(self, data_dir: Path, cache_dir: Path, port: int | None = None):
        self.data_dir = Path(data_dir)
        self.cache_dir = Path(cache_dir)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.kind = "mongod" if shutil.which("mongod") else "ferretdb"
        self._log_file: IO[bytes] | None = None

    @property
    def uri(self) -> str:
        """Connection string for clients."""
        return f"mongodb://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        """The server's command line."""
        if self.kind == "mongod":
            dbpath = self.data_dir / "mongod"
            dbpath.mkdir(parents=True, exist_ok=True)
            return [
                shutil.which("mongod") or "mongod",
                "--dbpath",
                str(dbpath),
                "--bind_ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--quiet",
            ]
        binary = build_ferretdb(self.cache_dir)
        state = self.data_dir / "ferretdb"
        state.mkdir(parents=True, exist_ok=True)
        return [
            str(binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{state}/",
            f"--listen-addr=127.0.0.1:{self.port}",
            "--telemetry=disable",
            f"--state-dir={state}",
            "--debug-addr=-",
            "--log-level=warn",
            "--log-format=json",
        ]

    def start(self, timeout: float = 30.0) -> str:
        """Start the server, wait until it answers `ping`, return its URI."""
        cmd = self.command()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.data_dir / f"{self.kind}.log", "ab")  # noqa: SIM115  # closed in stop()
        env = {**os.environ, "FERRETDB_TELEMETRY": "disable", "DO_NOT_TRACK": "1"}
        self.proc = subprocess.Popen(
            cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LocalDatabaseError(f"{self.kind} exited with {self.proc.returncode}; see {self._log_file.name}")
            if ping(self.uri, timeout=0.5):
                return self.uri
            time.sleep(0.05)
        self.stop()
        raise LocalDatabaseError(f"{self.kind} did not answer ping within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the server and wait for it."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    # The running server's address is written under DATA_DIR so that CLI commands
    # (staff add, menu push) reach the same database while the server runs.
    def publish(self) -> None:
        """Write DATA_DIR/localdb.json naming this server."""
        (self.data_dir / "localdb.json").write_text(json.dumps({"uri": self.uri, "pid": os.getpid()}))

    def unpublish(self) -> None:
        """Remove DATA_DIR/localdb.json."""
        (self.data_dir / "localdb.json").unlink(missing_ok=True)


def running_uri(data_dir: Path) -> str | None:
    """The URI of a local database a running server published, if it answers."""
    try:
        info = json.loads((Path(data_dir) / "localdb.json").read_text())
    except (OSError, ValueError):
        return None
    uri = info.get("uri")
    return uri if uri and ping(uri, timeout=1.0) else None


def ping(uri: str, timeout: float = 1.0) -> bool:
    """True when a server at `uri` answers `ping`."""
    ms = int(timeout * 1000)
    client: MongoClient[dict[str, Any]] = MongoClient(
        uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
    )
    try:
        client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        client.close()


def main() -> None:
    """`python -m server.localdb build`: build or locate the local database server."""
    from settings import Settings

    settings = Settings.from_env()
    if shutil.which("mongod"):
        print(f"local database: mongod at {shutil.which('mongod')}")
        return
    started = time.monotonic()
    path = build_ferretdb(settings.cache_path)
    print(f"local database: FerretDB {FERRETDB_VERSION} at {path} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
