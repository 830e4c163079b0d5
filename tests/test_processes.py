"""Several server processes on one port and one database (`python -m server --processes N`), as
real processes over real HTTP: each notice is sent once, each WeChat retry is answered once, a
killed worker is replaced, workers stop with their parent, a busy port is one line.

`ServerProcess` (also used by tests/test_outage.py and tests/test_localdb.py) runs `python -m
server` as people do."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from server.app import create_services, route_modules
from settings import Settings
from tests.admin.conftest import A, StaffClient, add_staff, insert_record
from tests.chat.conftest import TOKEN, WeChatSender, miss_question, next_msg_id, text_xml
from tests.conftest import Http

ROOT = Path(__file__).resolve().parents[1]
SEND = "/cgi-bin/message/subscribe/send"
SETTING_VARS = {f.name.upper() for f in dataclasses.fields(Settings)}


class ServerProcess:
    """`python -m server [--processes N]` in a child process, as people run it; stopped by `stop()`."""

    def __init__(self, env: dict[str, str], log_path: Path, processes: int = 1):
        base = {k: v for k, v in os.environ.items() if k not in SETTING_VARS}  # only what the test sets
        self.env = {**base, "PORT": "0", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", **env}
        self.log_path = log_path
        self.processes = processes
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.lines: list[str] = []
        self._reader: asyncio.Task | None = None

    async def start(self, timeout: float = 120.0) -> ServerProcess:
        """Start it and wait for its `serving on` line."""
        args = ["--processes", str(self.processes)] if self.processes != 1 else []
        with open(self.log_path, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server",
                *args,
                cwd=ROOT,
                env=self.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while not self.url:
            left = deadline - time.monotonic()
            assert left > 0, f"server did not start; log: {self.log()}"
            line = (await asyncio.wait_for(self.proc.stdout.readline(), left)).decode()
            assert line, f"server exited with {await self.proc.wait()}; log: {self.log()}"
            self.lines.append(line)
            if line.startswith("serving on "):
                self.url = line.split()[2]
        self._reader = asyncio.create_task(self._drain())
        return self

    async def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(line.decode())

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def workers(self) -> list[int]:
        """Pids of the worker processes (the children that run `--worker`)."""
        return [pid for pid in children(self.pid) if "--worker" in cmdline(pid)]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    async def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait; returns the exit status."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader:
            await asyncio.wait_for(self._reader, 5)
        return code

    async def kill(self) -> None:
        """SIGKILL, as `kill -9` does."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()
        if self._reader:
            self._reader.cancel()


def children(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(found)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def wait_until(predicate, timeout: float = 30.0, step: float = 0.1):
    """Poll a (sync or async) predicate until it is truthy (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(step)


def accepted_connections(pid: int, port: int) -> int:
    """Established TCP connections on `port` whose accepted socket this process holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local_port = int(cols[1].rsplit(":", 1)[1], 16)
            if local_port == port and cols[3] == "01" and cols[9] in inodes:
                count += 1
    return count


class PinnedHttp(Http):
    """An HTTP client that keeps using one connection (so it talks to one server process)."""

    def __init__(self, base_url: str):
        super().__init__(base_url)
        self._unused = self.session
        connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=600)
        self.session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self._unused.close()
        await super().close()


async def pinned_clients(server: ServerProcess, per_worker: int) -> dict[int, list[PinnedHttp]]:
    """`per_worker` clients whose connection each worker accepted (the other workers paused meanwhile)."""
    workers = server.workers()
    port = int(server.url.rsplit(":", 1)[1])
    pinned: dict[int, list[PinnedHttp]] = {}
    for pid in workers:
        others = [w for w in workers if w != pid]
        for other in others:
            os.kill(other, signal.SIGSTOP)  # only `pid` accepts meanwhile
        try:
            before = accepted_connections(pid, port)
            pinned[pid] = []
            for _ in range(per_worker):
                client = PinnedHttp(server.url)
                assert (await client.get("/healthz")).status == 200  # the connection is accepted and answered
                pinned[pid].append(client)
            assert accepted_connections(pid, port) >= before + per_worker
        finally:
            for other in others:
                os.kill(other, signal.SIGCONT)
    return pinned


def server_env(settings: Settings, fake_url: str, tmp_path: Path, **more: str) -> dict[str, str]:
    """The environment of a server on the test's database and fake WeChat API."""
    return {
        "ENVIRONMENT": "test",
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DB": settings.mongodb_db,
        "DATA_DIR": str(tmp_path / "server-data"),
        "MINIPROGRAM_APPID": "wx-test-processes",
        "MINIPROGRAM_SECRET": "test-processes-secret",
        "WECHAT_API_BASE": fake_url,
        "OFFICIAL_ACCOUNT_TOKEN": TOKEN,
        "NOTIFY_RETRY_SECONDS": "0.05",
        "DEMO_STAFF": "false",
        **more,
    }


async def test_two_processes_one_database_each_notice_sent_once_each_retry_answered_once(
    settings, fake_wechat, tmp_path
):
    route_modules()  # every index declared
    services = await create_services(settings)
    server = ServerProcess(server_env(settings, fake_wechat.url, tmp_path), tmp_path / "server.log", processes=2)
    pinned: dict[int, list[PinnedHttp]] = {}
    try:
        await add_staff(services, "rev", regions=[A])
        records = [await insert_record(services, openid=f"demo-openid-mp{i}") for i in range(8)]
        fake_wechat.fail_next(SEND, status=500)  # one send fails and is retried
        await server.start()
        assert len(server.workers()) == 2, server.lines
        assert any("with 2 processes" in line for line in server.lines)
        pinned = await pinned_clients(server, per_worker=3)
        first, second = list(pinned)

        # decisions through both processes: every notice reaches WeChat once (one after a retry)
        staff = [StaffClient(pinned[first][0]), StaffClient(pinned[second][0])]
        for client in staff:
            assert (await client.login("rev")).status == 200
        results = await asyncio.gather(
            *(
                staff[i % 2].decide(r["_id"], "reject" if i % 3 else "approve", r["version"], "照片背景不合格")
                for i, r in enumerate(records)
            )
        )
        assert [r.status for r in results] == [200] * 8, [r.text for r in results]

        async def all_sent() -> bool:
            states = [n["delivery"]["state"] async for n in services.db["notices"].find({})]
            return len(states) == 8 and set(states) == {"sent"}

        await wait_until(all_sent, timeout=60)
        await asyncio.sleep(2.5)  # a sender poll round of both processes: a duplicate would arrive now
        recipients = sorted(m["touser"] for m in fake_wechat.subscribe_messages)
        assert recipients == sorted(f"demo-openid-mp{i}" for i in range(8))
        assert not fake_wechat.failures[SEND]  # the injected failure was met, and retried
        attempts = sorted([n["delivery"]["attempts"] async for n in services.db["notices"].find({})])
        assert attempts == [1] * 7 + [2]
        assert await services.db["deliveries"].count_documents({}) == 0
        assert await services.db["lifecycle_jobs"].count_documents({}) == 0

        # WeChat resends a message it got no answer for, possibly to another process: copies on both
        # processes at once get one reply, and its effect (the miss counted) happens once
        question, _ = miss_question()
        xml = text_xml("o-processes", question, msg_id=next_msg_id())
        senders = [WeChatSender(c, "plaintext") for pid in pinned for c in pinned[pid]]
        replies = await asyncio.gather(*(s.send(xml) for s in senders))
        assert {r.status for r in replies} == {200}
        assert len({r.content for r in replies}) == 1 and replies[0].content
        miss = await services.db["chat_misses"].find_one({"question": question})
        assert miss["count"] == 1
        assert await services.db["chat_dedupe"].count_documents({"_id": {"$regex": "^m:"}}) == 1

        # a worker killed with SIGKILL is replaced; the other serves meanwhile
        victim = first
        os.kill(victim, signal.SIGKILL)
        assert (await pinned[second][1].get("/readyz")).status == 200
        await wait_until(lambda: len(server.workers()) == 2 and victim not in server.workers(), timeout=60)
        assert server.proc is not None and server.proc.returncode is None

        # the workers stop with their parent (SIGKILL: nothing left serving the port)
        workers = server.workers()
        await server.kill()
        await wait_until(lambda: not any(alive(pid) for pid in workers), timeout=10)
    finally:
        for clients in pinned.values():
            for client in clients:
                await client.close()
        if server.proc is not None and server.proc.returncode is None:
            await server.stop()
        await services.close()


async def test_a_busy_port_is_one_line_naming_port(settings, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in SETTING_VARS}
        env.update(PORT=str(port), MONGODB_URI=settings.mongodb_uri, DATA_DIR=str(tmp_path / "data"))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and f"PORT {port}" in lines[0] and "already in use" in lines[0], err.decode()
    assert b"Traceback" not in err and out == b""


async def test_the_expiry_sweep_is_claimed_by_one_process_per_period(server, make_server):
    from server.db import claim_sweep

    other = await make_server()
    claims = await asyncio.gather(
        *(claim_sweep(s.services.db, 1234, 60.0) for s in (server, other, server, other, server))
    )
    assert sorted(claims) == [False] * 4 + [True]
    assert await claim_sweep(server.services.db, 1235, 60.0)  # the next period is another claim
