"""Running the service: the database of a process (MONGODB_URI, a running local server, or a new
one), the local database's watchdog, and several server processes on one port.

`python -m server --processes N` (or PROCESSES=N): the parent binds the port, starts the local
database (when MONGODB_URI is unset) and the fake WeChat API (demo mode) once, then starts N
worker processes (`python -m server --worker ...`, each a fresh interpreter) that inherit the
listening sockets and accept on them; the kernel hands each connection to one of them. Each worker
builds its own services and database client and runs the background tasks, which share their work
through the database (leases and mutexes: each notice sent once, each crash repaired once, one
file sweep at a time). The first worker starts alone (indexes, migration, demo staff), the others
once it is ready. The parent restarts a worker that dies (not one that exits cleanly), restarts the
local database if it dies (the watchdog), and on SIGTERM/SIGINT stops the workers, then the
database. A worker whose parent is gone (SIGKILL) stops by itself within a second.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from contextlib import asynccontextmanager

from server.app import create_services
from server.localdb import LocalDatabase, LocalDatabaseError, running_uri
from server.services import Services
from settings import ROOT, Settings

log = logging.getLogger("kjcj.runtime")

WATCH_SECONDS = 0.5  # how often the watchdog looks at the local database process
RESTART_BACKOFF_MAX = 30.0  # longest wait between restarts of something that keeps dying
STABLE_SECONDS = 10.0  # a worker or database that ran this long before dying is restarted at once
WORKER_STOP_SECONDS = 20.0  # a worker asked to stop gets this long to finish its requests before SIGKILL
ORPHAN_CHECK_SECONDS = 1.0  # how often a worker checks that its parent still runs


@asynccontextmanager
async def cli_services(settings: Settings):
    """Services for a CLI command: joins a running local server's database if there is one."""
    local = None
    if not settings.mongodb_uri:
        uri = running_uri(settings.data_path)
        if uri is None:
            local = LocalDatabase(settings.data_path, settings.cache_path)
            uri = local.start()
            local.publish()
        settings = settings.replace(mongodb_uri=uri)
    services: Services | None = None
    try:
        from server.app import route_modules

        route_modules()  # declare every index
        services = await create_services(settings)
        yield services
    finally:
        if services:
            await services.close()
        if local:
            local.unpublish()
            local.stop()


async def watch_database(local: LocalDatabase, every: float = WATCH_SECONDS) -> None:
    """Restart the local database on its port whenever its process exits (until cancelled).

    The clients of every server process keep its URI and reconnect by themselves once it answers.
    """
    loop = asyncio.get_running_loop()
    delay = 0.0
    while True:
        await asyncio.sleep(every)
        code = local.exited()
        if code is None:
            continue
        log.warning(
            "the local database (%s) exited with status %s; restarting it on port %d", local.kind, code, local.port
        )
        if delay:
            await asyncio.sleep(delay)
        started = time.monotonic()
        try:
            await loop.run_in_executor(None, local.restart)
        except LocalDatabaseError as exc:
            log.error("the local database did not restart: %s", exc)
            delay = min(RESTART_BACKOFF_MAX, max(1.0, delay * 2))
            continue
        log.warning("the local database answers again after a restart (%.1f s)", time.monotonic() - started)
        delay = 0.0


class WorkerFailed(RuntimeError):
    """A server process exited before it served."""


class Workers:
    """N server processes accepting on the parent's listening sockets."""

    def __init__(self, settings: Settings, sockets: list[socket.socket], count: int, on_all_exited=None):
        self.settings = settings
        self.sockets = sockets
        self.count = count
        self.procs: dict[int, asyncio.subprocess.Process] = {}  # slot -> process
        self.restarts = 0
        self.stopping = False
        self._on_all_exited = on_all_exited
        self._watchers: list[asyncio.Task] = []

    @property
    def pids(self) -> list[int]:
        """Pids of the running workers, by slot."""
        return [p.pid for _, p in sorted(self.procs.items()) if p.returncode is None]

    def _env(self) -> dict[str, str]:
        """The workers' environment: this process's, plus the database and WeChat API it resolved."""
        env = dict(os.environ)
        env["MONGODB_URI"] = self.settings.mongodb_uri
        env["WECHAT_API_BASE"] = self.settings.wechat_api_base
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
        return env

    async def start(self) -> None:
        """Start the first worker alone (indexes, migration, demo staff), then the others together."""
        await self._spawn(0)
        await asyncio.gather(*(self._spawn(slot) for slot in range(1, self.count)))
        self._watchers = [asyncio.create_task(self._watch(slot)) for slot in range(self.count)]

    async def _spawn(self, slot: int) -> None:
        """Start the worker of `slot` and wait until it serves; raise when it exits first."""
        read_fd, write_fd = os.pipe()
        fds = [s.fileno() for s in self.sockets]
        for fd in fds:
            os.set_inheritable(fd, True)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server",
                "--worker",
                ",".join(map(str, fds)),
                "--ready-fd",
                str(write_fd),
                pass_fds=(*fds, write_fd),
                env=self._env(),
            )
        finally:
            os.close(write_fd)
        self.procs[slot] = proc
        try:
            ready = await asyncio.get_running_loop().run_in_executor(None, os.read, read_fd, 64)
        finally:
            os.close(read_fd)
        if not ready:
            code = await proc.wait()
            raise WorkerFailed(
                f"server process {slot + 1} exited with status {code} before serving (see its log above)"
            )

    async def _watch(self, slot: int) -> None:
        """Restart the worker of `slot` when it dies (killed or failed); a clean exit is not restarted."""
        delay = 0.0
        while True:
            proc = self.procs[slot]
            started = time.monotonic()
            code = await proc.wait()
            if self.stopping:
                return
            if code == 0:
                log.info("server process %d (pid %d) exited cleanly; not restarted", slot + 1, proc.pid)
                if not self.pids and self._on_all_exited:
                    self._on_all_exited()
                return
            delay = (
                0.0 if time.monotonic() - started > STABLE_SECONDS else min(RESTART_BACKOFF_MAX, max(1.0, delay * 2))
            )
            log.warning(
                "server process %d (pid %d) exited with status %s; starting another%s",
                slot + 1,
                proc.pid,
                code,
                f" in {delay:.0f} s" if delay else "",
            )
            await asyncio.sleep(delay)
            if self.stopping:
                return
            try:
                await self._spawn(slot)
                self.restarts += 1
            except WorkerFailed as exc:
                log.error("%s", exc)

    async def stop(self) -> None:
        """SIGTERM every worker, wait for them (SIGKILL after WORKER_STOP_SECONDS)."""
        self.stopping = True
        for task in self._watchers:
            task.cancel()
        live = [p for p in self.procs.values() if p.returncode is None]
        for proc in live:
            try:
                proc.terminate()
            except ProcessLookupError:
                pass
        for proc in live:
            try:
                await asyncio.wait_for(proc.wait(), WORKER_STOP_SECONDS)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def run_worker(settings: Settings, sockets: list[socket.socket], ready_fd: int) -> None:
    """A worker process: serve on the inherited sockets until SIGTERM/SIGINT or the parent is gone."""
    from server.app import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    running = await serve(settings, background=True, sockets=sockets)
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)

    async def watch_parent() -> None:
        while True:
            await asyncio.sleep(ORPHAN_CHECK_SECONDS)
            if os.getppid() != parent:
                break
        log.warning("the parent server process is gone; this worker stops")
        stop.set()

    watcher = asyncio.create_task(watch_parent())
    try:
        await stop.wait()
    finally:
        watcher.cancel()
        await running.stop()
