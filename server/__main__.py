"""`python -m server`: run the server (default) or a sub-command (staff, menu, ...).

`python -m server --processes N` (or PROCESSES=N) serves the port with N processes on one
database (server/runtime.py); `--worker` is how those processes are started, not for people.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import pkgutil
import signal
import socket
import sys

from settings import Settings, SettingsError


def _commands() -> dict:
    import server.commands as pkg

    return {
        info.name.replace("_", "-"): importlib.import_module(f"server.commands.{info.name}")
        for info in pkgutil.iter_modules(pkg.__path__)
    }


class StartError(Exception):
    """Start-up cannot go on: one line for the person who started the server."""


def bind(settings: Settings) -> list[socket.socket]:
    """The listening sockets of HOST:PORT, bound before anything else starts; one line when they cannot be."""
    from tornado.netutil import bind_sockets

    try:
        return bind_sockets(settings.port, settings.host)
    except OSError as exc:
        where = f"{settings.host}:{settings.port}"
        if exc.errno == errno.EADDRINUSE:
            raise StartError(
                f"PORT {settings.port} is already in use on {settings.host} (another server?): "
                "stop it, or set PORT to a free port (PORT=0 picks one)"
            ) from None
        if exc.errno == errno.EACCES:
            raise StartError(
                f"PORT {settings.port}: not allowed to listen on {where} (ports below 1024 need root)"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            raise StartError(f"HOST {settings.host} is not an address of this machine") from None
        raise StartError(f"cannot listen on {where} (HOST, PORT): {exc.strerror or exc}") from None


async def run_server(settings: Settings, sockets: list[socket.socket]) -> None:
    """Start the local database and fake WeChat if needed, serve until SIGTERM/SIGINT.

    With PROCESSES > 1 the serving is done by worker processes on the same sockets.
    """
    from server.app import serve
    from server.localdb import LocalDatabase
    from server.runtime import Workers, watch_database
    from server.wechat.fake import FakeWeChat

    local = fake = running = workers = watchdog = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if not settings.mongodb_uri:
            local = LocalDatabase(settings.data_path, settings.cache_path)
            uri = await loop.run_in_executor(None, local.start)
            local.publish()
            settings = settings.replace(mongodb_uri=uri)
            watchdog = asyncio.create_task(watch_database(local), name="localdb-watchdog")
            print(f"local database: {local.kind} at {uri} (data in {settings.data_path})", flush=True)
        if settings.uses_fake_wechat:
            fake = await FakeWeChat().start()
            settings = settings.replace(wechat_api_base=fake.url)
            print(
                f"MINIPROGRAM_APPID is unset: using the fake WeChat API at {fake.url} "
                f"(log in with code demo:<name>; state at {fake.url}/_fake/state)",
                flush=True,
            )
        port = sockets[0].getsockname()[1]
        if settings.processes > 1:
            workers = Workers(settings, sockets, settings.processes, on_all_exited=stop.set)
            await workers.start()
            how = f" with {settings.processes} processes (pids {', '.join(map(str, workers.pids))})"
        else:
            running = await serve(settings, sockets=sockets)
            how = ""
        base = f"http://{settings.host}:{port}"
        print(f"serving on {base}{how}", flush=True)
        for label, path in (
            ("health", "/healthz"),
            ("ready", "/readyz"),
            ("API document", "/api/openapi.json"),
            ("options", "/api/v1/options"),
            ("admin page", "/admin/"),
        ):
            print(f"  {label:13s} {base}{path}", flush=True)
        if settings.demo_staff and settings.environment == "development":
            print("  demo staff    city admin: demo / demo12345   reviewer (350203): reviewer / demo12345", flush=True)
        await stop.wait()
        print("shutting down", flush=True)
    finally:
        if workers:
            await workers.stop()
        if running:
            await running.stop()
        for sock in sockets:
            sock.close()
        if fake:
            await fake.stop()
        if watchdog:
            watchdog.cancel()
        if local:
            local.unpublish()
            await loop.run_in_executor(None, local.stop)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m server", description="会计人员信息采集 backend")
    parser.add_argument(
        "--processes", type=int, default=None, metavar="N", help="serve with N processes on one port (PROCESSES)"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # inherited socket fds: a worker process
    parser.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the server (default)")
    run.add_argument("--processes", type=int, default=argparse.SUPPRESS, metavar="N", help=argparse.SUPPRESS)
    commands = _commands()
    for module in commands.values():
        module.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.processes is not None:
            settings = settings.replace(processes=args.processes)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from pymongo.errors import ConnectionFailure

    from server.localdb import LocalDatabaseError
    from server.logs import setup_logging
    from server.runtime import WorkerFailed

    setup_logging(settings.log_level)
    if args.worker is not None:
        from server.runtime import run_worker

        sockets = [socket.socket(fileno=int(fd)) for fd in args.worker.split(",")]
        asyncio.run(run_worker(settings, sockets, args.ready_fd))
        return 0
    if args.command in (None, "run"):
        try:
            sockets = bind(settings)
            asyncio.run(run_server(settings, sockets))
        except StartError as exc:
            print(f"cannot start: {exc}", file=sys.stderr)
            return 2
        except (LocalDatabaseError, WorkerFailed) as exc:
            print(f"cannot start: {exc}", file=sys.stderr)
            return 1
        except ConnectionFailure as exc:
            print(f"cannot start: the database (MONGODB_URI) does not answer: {type(exc).__name__}", file=sys.stderr)
            return 1
        return 0
    from server.runtime import cli_services

    async def _run() -> int:
        async with cli_services(settings) as services:
            return await commands[args.command].run(args, services) or 0

    try:
        return asyncio.run(_run())
    except LocalDatabaseError as exc:
        print(f"local database: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
