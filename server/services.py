"""The service container handed to every handler: settings, database, files, WeChat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from server.atomic import Atomic
from server.files import FileStore
from server.wechat.transport import WeChatTransport
from settings import Settings

log = logging.getLogger("kjcj.services")
T = TypeVar("T")


class Services:
    """Shared dependencies plus one lazily built instance of each feature service.

    A feature service is any class taking the container: `services.get(RecordService)`
    builds it once per container, so handlers and background tasks share it.
    """

    def __init__(self, settings: Settings, client: AsyncMongoClient, db: AsyncDatabase, ferretdb: bool = False):
        self.settings = settings
        self.client = client
        self.db = db
        self.ferretdb = ferretdb
        self.atomic = Atomic(db, serialize=ferretdb)
        self.files = FileStore(db)
        self.miniprogram = WeChatTransport(
            settings.wechat_api_base,
            settings.miniprogram_appid or "demo-mp-appid",
            settings.miniprogram_secret or "demo-mp-secret",
            db,
            self.atomic,
            settings.wechat_api_timeout,
        )
        self.official_account = WeChatTransport(
            settings.wechat_api_base,
            settings.official_account_appid or "demo-oa-appid",
            settings.official_account_secret or "demo-oa-secret",
            db,
            self.atomic,
            settings.wechat_api_timeout,
        )
        self._instances: dict[type, object] = {}
        self._tasks: list[asyncio.Task] = []

    def get(self, cls: type[T]) -> T:
        """The container's single instance of a feature service class."""
        inst = self._instances.get(cls)
        if inst is None:
            inst = self._instances[cls] = cls(self)  # type: ignore[call-arg]  # services take the container
        return inst  # type: ignore[return-value]

    def spawn(self, factory: Callable[[], Awaitable[None]], name: str) -> asyncio.Task:
        """Run a background coroutine until the container closes."""
        task = asyncio.create_task(_guard(factory, name), name=name)
        self._tasks.append(task)
        return task

    async def close(self) -> None:
        """Cancel background tasks, close feature services and clients."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for inst in self._instances.values():
            closer = getattr(inst, "close", None)
            if closer:
                await closer()
        await self.miniprogram.close()
        await self.official_account.close()
        await self.client.close()


async def _guard(factory: Callable[[], Awaitable[None]], name: str) -> None:
    """Run a background task, logging (not swallowing silently) a crash."""
    try:
        await factory()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background task %s crashed", name)
