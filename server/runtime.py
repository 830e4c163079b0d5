"""Resolving the database for a process: MONGODB_URI, a running local server, or a new one."""

from __future__ import annotations

from contextlib import asynccontextmanager

from server.app import create_services
from server.localdb import LocalDatabase, running_uri
from server.services import Services
from settings import Settings


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
