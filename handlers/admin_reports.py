"""Progress statistics and the Excel export of the caller's districts."""

from __future__ import annotations

from urllib.parse import quote

from handlers.admin_base import StaffHandler
from handlers.base import int_argument
from server.db import utcnow
from server.notify.template import CHINA
from server.review import export, stats

TAGS = ["admin"]
CHUNK = 64 * 1024


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
        out, count = await export.export_xlsx(
            self.services, self.staff, self.get_query_argument("status", None), self.get_query_argument("region", None)
        )
        try:
            day = utcnow().astimezone(CHINA).strftime("%Y%m%d")
            self.set_header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            self.set_header(
                "Content-Disposition",
                f"attachment; filename=\"kjcj-{day}.xlsx\"; filename*=UTF-8''{quote(f'会计人员信息-{day}.xlsx')}",
            )
            self.set_header("X-Record-Count", str(count))
            while chunk := out.read(CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            out.close()
        self.finish()


default_handlers = [
    (r"/admin/api/stats", StatsHandler),
    (r"/admin/api/export\.xlsx", ExportHandler),
]
