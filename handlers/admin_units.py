"""Units for staff: the units of a district with their administrators and their people's
confirmation counts, a district's unit-confirmation setting. (Unit administrators are verified,
rejected and revoked through the generic application decision: /admin/api/applications/{id}/decision.)"""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.admin_records import _PAGING, TAGS
from handlers.base import MAX_PAGE_SIZE, int_argument
from server.units.confirmations import UnitConfirmations
from server.units.registry import UnitRegistry

REGION = r"(?P<region>[0-9]{6})"


class UnitListHandler(StaffHandler):
    """The units of the caller's districts with their administrators and employees' answers."""

    openapi = {
        "get": {
            "summary": "单位列表（按所在区）：已认证管理员，报备确认的已确认、未确认、待确认人数",
            "tags": TAGS,
            "parameters": [
                {"name": "region", "in": "query", "schema": {"$ref": "#/components/schemas/RecordDistricts"}},
                *_PAGING,
            ],
            "responses": {"200": {"description": "items、total"}, "400": {"description": "参数不正确"}},
        }
    }

    async def get(self) -> None:
        self.write_json(
            await self.services.get(UnitRegistry).list_for_staff(
                self.staff,
                self.get_query_argument("region", None),
                int_argument(self, "page", 1, 1, 100000),
                int_argument(self, "page_size", 20, 1, MAX_PAGE_SIZE),
            )
        )


class UnitSettingsHandler(StaffHandler):
    """Each of the caller's districts: whether approval waits for the unit's confirmation."""

    openapi = {
        "get": {
            "summary": "各区设置：审核通过信息采集前是否须经工作单位确认",
            "tags": TAGS,
            "responses": {"200": {"description": "items"}},
        }
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(UnitConfirmations).settings_for(self.staff))


class UnitSettingHandler(StaffHandler):
    """Turn the requirement on or off for one district (its reviewers or a city administrator)."""

    openapi = {
        "put": {
            "summary": "设置本区审核通过前是否须经工作单位确认（报备确认）",
            "tags": TAGS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["require_unit_confirmation"],
                            "additionalProperties": False,
                            "properties": {"require_unit_confirmation": {"type": "boolean"}},
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已保存"},
                "404": {"description": "区划不存在或不在本人辖区"},
                "422": {"description": "参数不正确"},
            },
        }
    }

    async def put(self, region: str) -> None:
        service = self.services.get(UnitConfirmations)
        self.write_json(await service.set_required(self.staff, region, self.json_body()))


default_handlers = [
    (r"/admin/api/units", UnitListHandler),
    (r"/admin/api/unit-settings", UnitSettingsHandler),
    (rf"/admin/api/unit-settings/{REGION}", UnitSettingHandler),
]
