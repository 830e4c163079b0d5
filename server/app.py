"""The composition root: builds services from settings, collects every module's routes.

Route modules live in the front-door packages (`handlers`, `miniprogram_api`); each one
that serves HTTP ends with `default_handlers = [(regex, Handler), ...]` and may define
`async def on_startup(services)` (e.g. to spawn a background task). This is the only
place in `server/` that knows those packages exist.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from types import ModuleType

import tornado.httpserver
import tornado.web
from tornado.netutil import bind_sockets

from server import db as dbmod
from server.logs import log_request
from server.services import Services
from settings import Settings

log = logging.getLogger("kjcj.app")

ROUTE_PACKAGES = ("handlers", "miniprogram_api")
AUTH_KINDS = {"public", "user", "staff", "signature"}


def route_modules() -> list[ModuleType]:
    """Every module of the front-door packages that declares `default_handlers`."""
    found = []
    for pkg_name in ROUTE_PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in sorted(pkgutil.walk_packages(pkg.__path__, pkg_name + "."), key=lambda i: i.name):
            module = importlib.import_module(info.name)
            if hasattr(module, "default_handlers"):
                found.append(module)
    return found


def make_app(services: Services, modules: list[ModuleType] | None = None) -> tornado.web.Application:
    """The Tornado application with every route; refuses a route without declared auth."""
    from handlers.base import NotFoundHandler

    routes = []
    for module in modules if modules is not None else route_modules():
        for route in module.default_handlers:
            handler = route[1]
            if getattr(handler, "auth", None) not in AUTH_KINDS:
                raise RuntimeError(f"{module.__name__}.{handler.__name__} does not declare auth "
                                   f"(one of {sorted(AUTH_KINDS)})")
            routes.append(route)
    # Tornado tries rules in order; the hottest exact paths go first (stable sort, ~5 us a request)
    routes.sort(key=lambda route: not getattr(route[1], "route_first", False))
    return tornado.web.Application(
        routes,
        services=services,
        default_handler_class=NotFoundHandler,
        log_function=log_request,
        cookie_secret=services.settings.secret_key,
    )


async def create_services(settings: Settings) -> Services:
    """Connect to the database and create indexes (idempotent)."""
    client = dbmod.connect(settings.mongodb_uri)
    database = client[settings.mongodb_db]
    ferretdb = await dbmod.is_ferretdb(database)
    await dbmod.ensure_indexes(database, ttl=not ferretdb)
    return Services(settings, client, database, ferretdb=ferretdb)


@dataclass
class RunningServer:
    """A listening server and what it owns."""

    services: Services
    app: tornado.web.Application
    http: tornado.httpserver.HTTPServer
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """Stop accepting, finish open connections, close services."""
        self.http.stop()
        try:
            await self.http.close_all_connections()
        finally:
            await self.services.close()


async def serve(settings: Settings, port: int | None = None, background: bool = True) -> RunningServer:
    """Build and start one server process's worth of app (port 0 = a free one)."""
    modules = route_modules()  # imported first: they declare their indexes
    services = await create_services(settings)
    app = make_app(services, modules)
    if background:
        services.spawn(lambda: dbmod.sweep_forever(services.db), "expiry-sweep")
    for module in modules:
        hook = getattr(module, "on_startup", None)
        if hook:
            await hook(services, background=background)
    sockets = bind_sockets(settings.port if port is None else port, settings.host)
    http = tornado.httpserver.HTTPServer(app, xheaders=settings.proxy_headers,
                                         max_body_size=settings.upload_max_bytes + 1024 * 1024)
    http.add_sockets(sockets)
    return RunningServer(services, app, http, sockets[0].getsockname()[1])
