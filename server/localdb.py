"""Provision and run a local MongoDB-wire server: `mongod` if on PATH, else FerretDB.

Used by `python -m server` when MONGODB_URI is unset, by the staff CLI (which joins a
running server's database through DATA_DIR/localdb.json) and by the test suite.
FerretDB v1.24.2 is built once from the Go module proxy into a cache folder.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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

    Go's module and build caches (about 1 GB for a 45 MB binary) live in a temporary folder
    for the build only and are removed afterwards: only the binary is kept in `cache_dir`.
    Progress goes to stderr: the three steps, the download's size, the packages compiled.
    """
    target = ferretdb_binary(cache_dir)
    if target.exists():
        return target
    go = shutil.which("go")
    if not go:
        raise LocalDatabaseError("neither mongod nor go is on PATH: cannot provision a local database")
    target.parent.mkdir(parents=True, exist_ok=True)
    progress = _Progress()
    progress.say(
        f"building FerretDB {FERRETDB_VERSION} into {target.parent} (once; {BUILD_ESTIMATE}; about 130 MB of "
        "Go modules are downloaded, and Go's caches, about 1 GB, live in a temporary folder removed afterwards)"
    )
    with tempfile.TemporaryDirectory(prefix="kjcj-ferretdb-build-") as tmp:
        env = go_env(Path(tmp))
        try:
            progress.step(1, "downloading the FerretDB module")
            out = _run(
                [go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
                cwd=tmp,
                env=env,
                progress=progress,
                watch=Path(env["GOMODCACHE"]),
            )
            src = Path(tmp) / "src"
            shutil.copytree(Path(json.loads(out)["Dir"]), src)
            for p in src.rglob("*"):
                p.chmod(p.stat().st_mode | 0o200)
            src.chmod(src.stat().st_mode | 0o200)
            (src / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
            (src / "build" / "version" / "package.txt").write_text("kjcj-local\n")
            patch_source(src)
            progress.step(2, "downloading its dependencies")
            listed = _run(
                [go, "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/ferretdb"],
                cwd=str(src),
                env=env,
                progress=progress,
                watch=Path(env["GOMODCACHE"]),
            )
            total = len(listed.split())
            progress.step(3, f"compiling {total} packages")
            partial = target.with_suffix(".partial")
            _run(
                [go, "build", "-v", "-trimpath", "-o", str(partial), "./cmd/ferretdb"],
                cwd=str(src),
                env=env,
                progress=progress,
                total=total,
            )
            partial.replace(target)
        finally:
            _remove_go_caches(go, env)
            target.with_suffix(".partial").unlink(missing_ok=True)  # a failed build leaves nothing behind
    progress.say(f"built FerretDB in {progress.elapsed():.0f} s; Go's caches removed, the binary kept at {target}")
    return target


# Measured on a 2-core machine with empty caches, the download included: 67 s idle, 159 s busy (README).
BUILD_ESTIMATE = "1 to 3 minutes on 2 cores"


def go_env(tmp: Path) -> dict[str, str]:
    """The environment of the FerretDB build: Go's module and build caches in `tmp` (removed afterwards)."""
    return {
        **os.environ,
        "GOMODCACHE": str(tmp / "gomodcache"),
        "GOCACHE": str(tmp / "gocache"),
        "GOPATH": str(tmp / "gopath"),
        "CGO_ENABLED": "0",
        # -modcacherw: the module cache is writable, so removing the temporary folder succeeds
        "GOFLAGS": "-mod=readonly -buildvcs=false -modcacherw",
    }


def _remove_go_caches(go: str, env: dict[str, str]) -> None:
    """Empty the temporary Go caches (`go clean -modcache` also handles a read-only module cache)."""
    subprocess.run([go, "clean", "-modcache"], env=env, capture_output=True, cwd=tempfile.gettempdir())
    for key in ("GOMODCACHE", "GOCACHE", "GOPATH"):
        shutil.rmtree(env[key], ignore_errors=True)


class _Progress:
    """Progress lines of the build on stderr: a line per step, then one every PROGRESS_SECONDS at most."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = self.started

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        print(f"ferretdb build: {text}", file=sys.stderr, flush=True)
        self.last = time.monotonic()

    def step(self, n: int, text: str) -> None:
        self.say(f"step {n}/3 at {self.elapsed():.0f} s: {text} ...")

    def due(self) -> bool:
        return time.monotonic() - self.last >= PROGRESS_SECONDS


PROGRESS_SECONDS = 10.0


def _run(
    cmd: list[str],
    cwd: str,
    env: dict | None = None,
    progress: _Progress | None = None,
    watch: Path | None = None,
    total: int = 0,
) -> str:
    """Run a build step; raise with its output when it fails.

    With `progress`, a line every PROGRESS_SECONDS while it runs: the size of `watch` (a download),
    or how many of `total` packages `go build -v` has compiled (it names each on stderr).
    """
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else ""), daemon=True),
        threading.Thread(target=_read_lines, args=(proc.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    while True:
        try:
            proc.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if progress and progress.due():
                if total:
                    done = min(len(err), total)
                    progress.say(f"compiled {done}/{total} packages ({progress.elapsed():.0f} s)")
                elif watch is not None:
                    progress.say(f"downloaded {_size_mb(watch):.0f} MB ({progress.elapsed():.0f} s)")
                else:
                    progress.say(f"still working ({progress.elapsed():.0f} s)")
    for reader in readers:
        reader.join()
    if proc.returncode != 0:
        raise LocalDatabaseError(f"{' '.join(cmd)} failed: {''.join(err).strip()[-2000:]}")
    return "".join(out)


def _read_lines(stream: IO[str] | None, into: list[str]) -> None:
    """Collect a pipe's lines as they come (their count is the build's progress)."""
    if stream is None:
        return
    for line in stream:
        into.append(line)


def _size_mb(path: Path) -> float:
    """Total size of the files under `path`, in MB (0 while it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total / 1e6


LOCK_FILE = "localdb.lock"  # under DATA_DIR: held (flock) by the process that owns the database server
STOP_SECONDS = 10.0  # a server asked to stop (SIGTERM) gets this long before SIGKILL


class LocalDatabase:
    """One local MongoDB-wire server process with its data under `data_dir`.

    One database server per data folder, whatever happened before:
    - `start()` takes an exclusive lock on DATA_DIR/localdb.lock and holds it until `stop()`; the
      kernel drops it when the owner dies (even by SIGKILL), so while an owner lives a second one
      is refused with one line;
    - a server still running on the folder without an owner (an orphan: the server that started it
      was killed with SIGKILL, and FerretDB lives on with parent PID 1) is stopped before a new one
      starts. Found by the pid file DATA_DIR/<kind>.pid (pid, port, command line), and by the command
      lines in /proc for one left without it; a pid counts only when its command line names this
      folder. Stopped rather than adopted: the new one is then the owner's child (its exit is seen
      at once, its log is ours), runs the current build, and the clients are given its new port;
    - `restart()` starts it again on the same port after it exited (the watchdog in
      server/runtime.py), so the clients of every server process reconnect by themselves.
    """

    def __init__(self, data_dir: Path, cache_dir: Path, port: int | None = None):
        self.data_dir = Path(data_dir).resolve()
        self.cache_dir = Path(cache_dir)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.kind = "mongod" if shutil.which("mongod") else "ferretdb"
        self.restarts = 0  # how often restart() started it again
        self._log_file: IO[bytes] | None = None
        self._lock_fd: int | None = None
        self._busy = threading.RLock()  # start, restart (the watchdog's thread) and stop, one at a time

    @property
    def uri(self) -> str:
        """Connection string for clients."""
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def pid_file(self) -> Path:
        """DATA_DIR/<kind>.pid: the running database server's pid, port and command line."""
        return self.data_dir / f"{self.kind}.pid"

    def data_args(self) -> list[str]:
        """The arguments that name this data folder on the server's command line."""
        if self.kind == "mongod":
            return ["--dbpath", str(self.data_dir / "mongod")]
        return [f"--state-dir={self.data_dir / 'ferretdb'}"]

    def command(self) -> list[str]:
        """The server's command line."""
        if self.kind == "mongod":
            (self.data_dir / "mongod").mkdir(parents=True, exist_ok=True)
            return [
                shutil.which("mongod") or "mongod",
                *self.data_args(),
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
            *self.data_args(),
            "--debug-addr=-",
            "--log-level=warn",
            "--log-format=json",
        ]

    def start(self, timeout: float = 30.0) -> str:
        """Own the data folder, stop an orphan left on it, start the server, wait for `ping`, return its URI."""
        with self._busy:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._lock()
            try:
                cmd = self.command()
                for pid in self.running_here():
                    self._stop_orphan(pid)
                return self._spawn(cmd, timeout)
            except BaseException:
                self._unlock()
                raise

    def restart(self, timeout: float = 30.0) -> str:
        """Start the server again on the same port after it exited; the folder stays ours."""
        with self._busy:
            if self.proc is not None and self.proc.poll() is None:
                return self.uri
            if self._lock_fd is None:
                raise LocalDatabaseError("the local database was stopped; start() it instead")
            self._forget_process()
            for pid in self.running_here():  # e.g. one started by hand meanwhile: still never two
                self._stop_orphan(pid)
            self.restarts += 1
            return self._spawn(self.command(), timeout)

    def exited(self) -> int | None:
        """The exit status when the server this object started has exited; None while it runs (or before start)."""
        return self.proc.poll() if self.proc is not None else None

    def stop(self) -> None:
        """Stop the server and wait for it; give the data folder up."""
        with self._busy:
            self._end_process()
            self._unlock()

    def _end_process(self) -> None:
        """Stop the process this object started (SIGTERM, SIGKILL after STOP_SECONDS); the folder stays ours."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._forget_process()

    def running_here(self) -> list[int]:
        """Pids of database servers running on this data folder: the pid file's, and any /proc names."""
        found = set()
        try:
            info = json.loads(self.pid_file.read_text())
            pid = int(info["pid"])
            if self._is_ours(_cmdline(pid)):
                found.add(pid)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        try:
            entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
        except OSError:  # no /proc: the pid file alone
            entries = []
        for name in entries:
            pid = int(name)
            if pid != os.getpid() and self._is_ours(_cmdline(pid)):
                found.add(pid)
        return sorted(pid for pid in found if _alive(pid))

    def _is_ours(self, args: list[str]) -> bool:
        """True for the command line of a database server of our kind on this data folder."""
        if not args or not Path(args[0]).name.startswith(self.kind):
            return False
        want = self.data_args()
        return any(args[i : i + len(want)] == want for i in range(len(args)))

    def _spawn(self, cmd: list[str], timeout: float) -> str:
        """Start the server process, write the pid file, wait until it answers `ping`."""
        self._log_file = open(self.data_dir / f"{self.kind}.log", "ab")  # noqa: SIM115  # closed in stop()
        env = {**os.environ, "FERRETDB_TELEMETRY": "disable", "DO_NOT_TRACK": "1"}
        self.proc = subprocess.Popen(
            cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        info = {
            "pid": self.proc.pid,
            "kind": self.kind,
            "port": self.port,
            "uri": self.uri,
            "owner_pid": os.getpid(),
            "cmdline": cmd,
            "started_at": time.time(),
        }
        self.pid_file.write_text(json.dumps(info, indent=1))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code, log_name = self.proc.returncode, self._log_file.name
                self._forget_process()
                raise LocalDatabaseError(f"{self.kind} exited with {code}; see {log_name}")
            if ping(self.uri, timeout=0.5):
                return self.uri
            time.sleep(0.05)
        self._end_process()
        raise LocalDatabaseError(f"{self.kind} did not answer ping within {timeout:.0f} s")

    def _forget_process(self) -> None:
        """Drop the (stopped) process: its pid file, the log file."""
        if self.proc is not None and self.proc.poll() is not None:
            try:
                if json.loads(self.pid_file.read_text()).get("pid") == self.proc.pid:
                    self.pid_file.unlink()
            except (OSError, ValueError, AttributeError):
                pass
            self.proc = None
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def _stop_orphan(self, pid: int) -> None:
        """Stop a database server left running on this folder by a server that died (SIGTERM, then SIGKILL)."""
        log.warning(
            "stopping an orphaned %s (pid %d) left running on %s by a server that was killed; starting a new one",
            self.kind,
            pid,
            self.data_dir,
        )
        for sig, wait in ((signal.SIGTERM, STOP_SECONDS), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            except PermissionError as exc:
                raise LocalDatabaseError(
                    f"a {self.kind} (pid {pid}) of another user runs on DATA_DIR {self.data_dir}: cannot stop it"
                ) from exc
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not _alive(pid):
                    return
                time.sleep(0.05)
        raise LocalDatabaseError(f"the orphaned {self.kind} (pid {pid}) on DATA_DIR {self.data_dir} did not stop")

    def _lock(self) -> None:
        """Take DATA_DIR/localdb.lock, or refuse naming the server that holds it."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LocalDatabaseError(
                f"DATA_DIR {self.data_dir} is in use by another running server (pid {holder}): "
                "stop it first, or give this one its own DATA_DIR"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the lock
            self._lock_fd = None

    # The running server's address is written under DATA_DIR so that CLI commands
    # (staff add, menu push) reach the same database while the server runs.
    def publish(self) -> None:
        """Write DATA_DIR/localdb.json naming this server."""
        (self.data_dir / "localdb.json").write_text(json.dumps({"uri": self.uri, "pid": os.getpid()}))

    def unpublish(self) -> None:
        """Remove DATA_DIR/localdb.json."""
        (self.data_dir / "localdb.json").unlink(missing_ok=True)


def _cmdline(pid: int) -> list[str]:
    """A process's command line ([] when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _alive(pid: int) -> bool:
    """True while a process exists and is not a zombie (one exited but not yet reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not Path("/proc").is_dir()


def running_uri(data_dir: Path) -> str | None:
    """The URI of a local database a running server published, if it answers."""
    try:
        info = json.loads((Path(data_dir) / "localdb.json").read_text())
    except (OSError, ValueError):
        return None
    uri = info.get("uri")
    return uri if uri and ping(uri, timeout=3.0) else None


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
