"""`UnitHandler`: the base of every mini-program handler under /api/v1/unit/{uscc}/...

A `UserHandler` (bearer token, 401) that also resolves the unit named by the route's `uscc`
group: `self.unit` is the unit's document when the caller is an active verified
administrator of it (checked on every request: a revoked administrator is refused at once),
else 403 `not_unit_admin`.

    class MyHandler(UnitHandler):
        async def get(self, uscc):
            self.write_json(await self.services.get(MyService).thing(self.user, self.unit))

Routes: `(rf"/api/v1/unit/{USCC}/...", MyHandler)`; add `UNIT_FORBIDDEN` to the responses.
"""

from __future__ import annotations

import tornado.web

from handlers.base import int_argument
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from server.units.access import require_unit_admin

USCC = r"(?P<uscc>[0-9A-Za-z]{18})"
UNIT_FORBIDDEN = {
    "403": {"description": "不是该单位的已认证管理员（not_unit_admin）", "content": json_schema_ref("Error")}
}
UNIT_RESPONSES = {**UNAUTHORIZED, **UNIT_FORBIDDEN}
PAGE_LAST = 100000


def paging_parameters(size_max: int) -> list[dict]:
    """The OpenAPI `page` and `page_size` query parameters of a unit list."""
    return [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_LAST}},
        {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": size_max}},
    ]


def page_arguments(handler: tornado.web.RequestHandler, size_max: int) -> tuple[int, int]:
    """A unit list's `page` (default 1) and `page_size` (default 20, at most size_max), or a 400."""
    return int_argument(handler, "page", 1, 1, PAGE_LAST), int_argument(handler, "page_size", 20, 1, size_max)


class UnitHandler(UserHandler):
    """Base of unit endpoints: `self.user` (401) and `self.unit` (403 unless a verified administrator)."""

    unit: dict

    async def prepare(self) -> None:
        await super().prepare()
        self.unit = await require_unit_admin(self.services, self.user, self.path_kwargs.get("uscc") or "")
