"""Staff account administration over HTTP: a city administrator unlocks a staff login."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from server.staff import LoginGuard
from server.staff.accounts import normalize_username

TAGS = ["admin"]


class StaffUnlockHandler(StaffHandler):
    """Clear a staff account's login lock and slow-downs (city administrators only)."""

    openapi = {
        "post": {
            "summary": "解除工作人员账号的登录锁定与限速（仅市级管理员）",
            "tags": TAGS,
            "responses": {
                "200": {
                    "description": "已解锁；cleared 为清除的计数个数（记入审计日志）",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "username": {"type": "string"},
                                    "cleared": {"type": "integer"},
                                    "unlocked_at": {"type": "string", "format": "date-time"},
                                },
                            }
                        }
                    },
                },
                "403": {"description": "city_admin_only：只有市级管理员可以解锁"},
                "404": {"description": "staff_not_found：没有这个账号"},
            },
        }
    }

    async def post(self, username: str) -> None:
        result = await self.services.get(LoginGuard).unlock(self.staff, normalize_username(username)[:64])
        self.write_json(result)


default_handlers = [
    (r"/admin/api/staff/(?P<username>[^/]{1,64})/unlock", StaffUnlockHandler),
]
