"""`python -m server`: run the server (default) or a sub-command (staff, menu, ...)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import signal
import sys

from settings import Settings, SettingsError


def _commands() -> dict:
    import server.commands as pkg

    return {
        info.name.replace("_", "-"): importlib.import_module(f"server.commands.{info.name}")
        for info in pkgutil.iter_modules(pkg.__path__)
    }


async def run_server(settings: Settings) -> None:
    """Start the local database and fake WeChat if needed, serve until SIGTERM/SIGINT."""
    from server.app import serve
    from server.localdb import LocalDatabase
    from server.wechat.fake import FakeWeChat

    local = fake = running = None
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
            print(f"local database: {local.kind} at {uri} (data in {settings.data_path})", flush=True)
        if settings.uses_fake_wechat:
            fake = await FakeWeChat().start()
            settings = settings.replace(wechat_api_base=fake.url)
            print(
                f"MINIPROGRAM_APPID is unset: using the fake WeChat API at {fake.url} "
                f"(log in with code demo:<name>; state at {fake.url}/_fake/state)",
                flush=True,
            )
        running = await serve(settings)
        base = f"http://{settings.host}:{running.port}"
        print(f"serving on {base}", flush=True)
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
        if running:
            await running.stop()
        if fake:
            await fake.stop()
        if local:
            local.unpublish()
            await loop.run_in_executor(None, local.stop)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m server", description="会计人员信息采集 backend")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the server (default)")
    commands = _commands()
    for module in commands.values():
        module.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from server.logs import setup_logging

    setup_logging(settings.log_level)
    if args.command in (None, "run"):
        asyncio.run(run_server(settings))
        return 0
    from server.runtime import cli_services

    async def _run() -> int:
        async with cli_services(settings) as services:
            return await commands[args.command].run(args, services) or 0

    return asyncio.run(_run())


if __name__ == "__main__":
    sys.exit(main())
