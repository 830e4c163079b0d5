"""The composition root: builds services from settings, wires them, starts the background
tasks, and collects every module's routes.

Route modules live in the front-door packages (`handlers`, `miniprogram_api`); each one
that serves HTTP ends with `default_handlers = [(regex, Handler), ...]` and may define
`async def on_startup(services, background)` to publish OpenAPI schemas. Background work
(expiry sweep, notice sender, lifecycle repair, FAQ reload) is started here and nowhere
else. This is the only place in `server/` that knows the front-door packages exist.
"""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil
import socket
from dataclasses import dataclass
from types import ModuleType

import tornado.httpserver
import tornado.web
from tornado.netutil import bind_sockets

from server import db as dbmod
from server.announcements import AnnouncementPusher
from server.campaigns import Campaigns
from server.chat.faq_service import FaqService
from server.chat.webhook import Webhook
from server.duties.claims import ClaimService
from server.duties.reminders import CeReminders
from server.duties.reports import ComplianceReports
from server.duties.runner import StandingService
from server.filesweep import FileSweeper
from server.legacy.matching import LegacyMatcher
from server.lifecycle.engine import Lifecycle, LifecycleWorker
from server.lifecycle.migrate import migrate_if_needed
from server.logs import log_request
from server.notify.sender import NoticeSender
from server.records.migrate_shape import migrate_shape_if_needed
from server.records.service import RecordService
from server.recovery.effects import RecoveryEffects
from server.services import Services
from server.staff.demo import seed_demo_staff
from server.transfers.effects import TransferEffects
from server.transfers.service import TransferService
from server.units.appointments import Appointments
from server.units.assessments import Assessments
from server.units.confirmations import UnitConfirmations
from server.units.effects import UnitAdminEffects
from server.units.migrate import migrate_units_if_needed
from settings import Settings

log = logging.getLogger("kjcj.app")

ROUTE_PACKAGES = ("handlers", "miniprogram_api")
AUTH_KINDS = {"public", "user", "staff", "signature"}
# Requests allocate and free thousands of containers; at the default 700 the young generation
# was collected every ~30 webhook messages (~4 % of its CPU, measured).
GC_YOUNG_THRESHOLD = 10_000


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
    """The Tornado application with every route; refuses a handler outside the authentication bases."""
    from handlers.base import NotFoundHandler, auth_bases

    routes = []
    for module in modules if modules is not None else route_modules():
        for route in module.default_handlers:
            handler = route[1]
            bases = auth_bases(handler)
            if (
                len(bases) != 1
                or getattr(bases[0], "auth", None) not in AUTH_KINDS
                or getattr(handler, "auth", None) != getattr(bases[0], "auth", None)
            ):
                raise RuntimeError(
                    f"{module.__name__}.{handler.__name__} must derive from exactly one "
                    f"authentication base class ({sorted(AUTH_KINDS)}), not only name one"
                )
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
    """Connect to the database, create indexes (idempotent) and wire the services together."""
    client = dbmod.connect(settings.mongodb_uri)
    database = client[settings.mongodb_db]
    ferretdb = await dbmod.is_ferretdb(database)
    await dbmod.ensure_indexes(database, ttl=not ferretdb)
    services = Services(settings, client, database, ferretdb=ferretdb)
    wire(services)
    return services


def wire(services: Services) -> None:
    """The links between services: the tables' guards, and the sender told of new notices."""
    lifecycle = services.get(Lifecycle)
    services.get(RecordService).register_guards(lifecycle)
    services.get(TransferService).register_guards(lifecycle)
    services.get(Campaigns).register_guards(lifecycle)
    services.get(RecoveryEffects).register(lifecycle)
    services.get(TransferEffects).register(lifecycle)
    services.get(ClaimService).register(lifecycle)
    services.get(UnitAdminEffects).register(lifecycle)
    services.get(UnitConfirmations).register_guards(lifecycle)
    lifecycle.on_notice(services.get(NoticeSender).poke)
    services.get(RecordService).after_patch.append(services.get(LegacyMatcher).after_patch)  # the old register
    services.get(RecordService).after_patch.append(services.get(Appointments).after_patch)  # 单位聘任备案 prefill
    services.get(Assessments).on_written.append(services.get(StandingService).recompute_records)  # 非在岗 at once
    services.get(Appointments).register_effects(lifecycle)  # an approved change naming a registering unit: confirmed


def tune_gc() -> None:
    """Freeze the long-lived heap (jieba's dictionary, ~300k objects) out of full collections,
    and collect the young generation less often (once per process)."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


async def start(services: Services, background: bool) -> None:
    """Bring the data up to date, load the FAQ, seed the demo, start the background tasks."""
    await migrate_if_needed(services)
    await migrate_shape_if_needed(services)  # the record's fuller shape (#14), after the records became applications
    await migrate_units_if_needed(services)  # the units' lists, from the records in their fuller shape
    await seed_demo_staff(services)
    await services.get(FaqService).start(background)
    await services.get(Campaigns).windows()  # the FAQ's collection-period sentence from the start
    services.get(Webhook)
    if background:
        sender = services.get(NoticeSender)
        worker = services.get(LifecycleWorker)
        services.spawn(lambda: dbmod.sweep_forever(services.db), "expiry-sweep")
        services.spawn(lambda: sender.run_forever(), "notice-sender")
        services.spawn(lambda: worker.run_forever(), "lifecycle-repair")
        sweeper = services.get(FileSweeper)
        services.spawn(lambda: sweeper.run_forever(), "file-sweep")
        pusher = services.get(AnnouncementPusher)
        services.spawn(lambda: pusher.run_forever(), "announcement-push")
        campaigns = services.get(Campaigns)
        services.spawn(lambda: campaigns.run_forever(), "campaigns")
        ce_reminders = services.get(CeReminders)
        services.spawn(lambda: ce_reminders.run_forever(), "ce-reminders")
        standings = services.get(StandingService)
        services.spawn(lambda: standings.run_forever(), "ce-standings")
        compliance = services.get(ComplianceReports)
        services.spawn(lambda: compliance.run_forever(), "compliance-summary")
    tune_gc()


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


async def serve(
    settings: Settings, port: int | None = None, background: bool = True, sockets: list[socket.socket] | None = None
) -> RunningServer:
    """Build and start one server process's worth of app (port 0 = a free one).

    The port is bound first (a busy port fails before anything starts), unless `sockets` are given:
    listening sockets bound by the caller (`python -m server`), possibly shared with other processes.
    """
    own = sockets is None
    if sockets is None:
        sockets = bind_sockets(settings.port if port is None else port, settings.host)
    try:
        modules = route_modules()  # imported first: they declare their indexes
        services = await create_services(settings)
        try:
            app = make_app(services, modules)
            await start(services, background)
            for module in modules:
                hook = getattr(module, "on_startup", None)
                if hook:
                    await hook(services, background=background)
        except BaseException:
            await services.close()
            raise
    except BaseException:
        if own:
            for sock in sockets:
                sock.close()
        raise
    http = tornado.httpserver.HTTPServer(
        app, xheaders=settings.proxy_headers, max_body_size=settings.upload_max_bytes + 1024 * 1024
    )
    http.add_sockets(sockets)
    return RunningServer(services, app, http, sockets[0].getsockname()[1])
