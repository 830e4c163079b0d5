"""Progress statistics and the Excel export of the caller's districts."""

from __future__ import annotations

import logging
import time
from contextlib import aclosing
from urllib.parse import quote

from tornado.iostream import StreamClosedError

from handlers.admin_base import StaffHandler
from handlers.base import int_argument
from server.db import utcnow
from server.notify.template import CHINA
from server.review import export, stats

TAGS = ["admin"]
log = logging.getLogger("kjcj.export")


class StatsHandler(StaffHandler):
    """Counts per status per district and submissions per day."""

    openapi = {
        "get": {
            "summary": "进度统计：各区各状态人数、每日提交数",
            "tags": TAGS,
            "parameters": [
                {
                    "name": "days",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 366, "default": 30},
                }
            ],
        }
    }

    async def get(self) -> None:
        days = int_argument(self, "days", 30, 1, stats.MAX_DAYS)
        self.write_json(await stats.stats(self.services, self.staff, days))


class ExportHandler(StaffHandler):
    """The caller's records as an Excel file (streamed)."""

    openapi = {
        "get": {
            "summary": "导出本人辖区的记录（Excel）",
            "tags": TAGS,
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string"}},
                {"name": "region", "in": "query", "schema": {"$ref": "#/components/schemas/RecordDistricts"}},
            ],
            "responses": {
                "200": {
                    "description": "xlsx 文件",
                    "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                }
            },
        }
    }

    async def get(self) -> None:
        job = await export.prepare(
            self.services, self.staff, self.get_query_argument("status", None), self.get_query_argument("region", None)
        )
        day = utcnow().astimezone(CHINA).strftime("%Y%m%d")
        self.set_header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        self.set_header(
            "Content-Disposition",
            f"attachment; filename=\"kjcj-{day}.xlsx\"; filename*=UTF-8''{quote(f'会计人员信息-{day}.xlsx')}",
        )
        self.set_header("X-Record-Count", str(job.count))  # the lists' sizes as the export starts
        # Each chunk is sent, and the socket drained, before the next is made (no Content-Length:
        # the response is chunked). Once bytes are out, a failure can no longer become an error
        # answer: the connection is closed without the last chunk, so the client sees a cut
        # download, never a complete-looking file.
        started, sent = time.monotonic(), 0
        try:
            async with aclosing(job.chunks()) as chunks:
                async for chunk in chunks:
                    self.write(chunk)
                    sent += len(chunk)
                    await self.flush()
        except StreamClosedError:
            log.info("export: the client left after %d bytes (%.1f s)", sent, time.monotonic() - started)
            return
        except Exception:
            if not sent:
                raise
            log.exception("export: failed after %d bytes (%.1f s); connection closed", sent, time.monotonic() - started)
            self.request.connection.close()  # type: ignore[union-attr]
            return
        log.info("export: %d rows, %d bytes in %.1f s", job.count, sent, time.monotonic() - started)
        self.finish()


default_handlers = [
    (r"/admin/api/stats", StatsHandler),
    (r"/admin/api/export\.xlsx", ExportHandler),
]
