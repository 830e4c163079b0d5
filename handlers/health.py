"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from handlers.base import PublicHandler


class HealthHandler(PublicHandler):
    """Process is up."""

    openapi = {"get": {"summary": "进程存活检查", "tags": ["ops"]}}

    def get(self) -> None:
        self.write_json({"status": "ok"})


class ReadyHandler(PublicHandler):
    """Database reachable: 200, else 503 within 2 s."""

    openapi = {"get": {"summary": "就绪检查（数据库可达）", "tags": ["ops"]}}

    async def get(self) -> None:
        try:
            await asyncio.wait_for(self.services.db.command("ping"), timeout=1.5)
        except Exception:
            self.write_json({"error": {"code": "database_unavailable", "message": "数据库暂时不可用"}}, 503)
            return
        self.write_json({"status": "ready"})


default_handlers = [
    (r"/healthz", HealthHandler),
    (r"/readyz", ReadyHandler),
]
