"""Employment confirmation (报备确认) for a unit's verified administrators: the people naming the
unit as employer (masked ID numbers, paged), one person, confirm, deny with a reason."""

from __future__ import annotations

from handlers.openapi import register_schema
from miniprogram_api.base import json_schema_ref
from miniprogram_api.unit_base import UNIT_RESPONSES, USCC, UnitHandler, page_arguments, paging_parameters
from server.units.admins import REASON_MAX
from server.units.answers import STATES
from server.units.confirmations import MAX_PAGE_SIZE, UnitConfirmations

_ERR = json_schema_ref("Error")
PERSON = r"(?P<record_id>[0-9a-f]{24})"
_NOT_FOUND = {"404": {"description": "该人员不存在或未填写本单位（person_not_found）", "content": _ERR}}
register_schema(
    "UnitPerson",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "id_number": {"type": "string", "description": "部分隐藏"},
            "status": {"type": "string", "enum": ["submitted", "approved"]},
            "status_label": {"type": "string"},
            "employment": {"type": "object"},
            "confirmation": {
                "type": "object",
                "nullable": True,
                "properties": {"state": {"type": "string", "enum": list(STATES), "x-enum-labels": STATES}},
            },
        },
    },
)


class UnitPeopleHandler(UnitHandler):
    """The people whose archive or pending collection names the unit, newest first."""

    openapi = {
        "get": {
            "summary": "填写本单位为工作单位的会计人员（报备确认；证件号码部分隐藏）",
            "tags": ["mini-program"],
            "parameters": [
                {
                    "name": "state",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(STATES), "x-enum-labels": STATES},
                },
                *paging_parameters(MAX_PAGE_SIZE),
            ],
            "responses": {
                "200": {"description": "items、total、counts（各确认状态人数）"},
                "400": {"description": "参数不正确", "content": _ERR},
                **UNIT_RESPONSES,
            },
        }
    }

    async def get(self, uscc: str) -> None:
        self.write_json(
            await self.services.get(UnitConfirmations).people(
                self.unit,
                self.get_query_argument("state", None),
                *page_arguments(self, MAX_PAGE_SIZE),
            )
        )


class UnitPersonHandler(UnitHandler):
    """One of the unit's people."""

    openapi = {
        "get": {
            "summary": "本单位的一名会计人员及其确认情况",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "成功", "content": json_schema_ref("UnitPerson")},
                **UNIT_RESPONSES,
                **_NOT_FOUND,
            },
        }
    }

    async def get(self, uscc: str, record_id: str) -> None:
        self.write_json(await self.services.get(UnitConfirmations).person(self.unit, record_id))


class UnitConfirmHandler(UnitHandler):
    """Confirm that the person works for the unit."""

    openapi = {
        "post": {
            "summary": "确认该人员在本单位从事会计工作",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "已确认", "content": json_schema_ref("UnitPerson")},
                **UNIT_RESPONSES,
                **_NOT_FOUND,
            },
        }
    }

    async def post(self, uscc: str, record_id: str) -> None:
        service = self.services.get(UnitConfirmations)
        self.write_json(await service.answer(self.user, self.unit, record_id, "confirmed", self.json_body()))


class UnitDenyHandler(UnitHandler):
    """Deny it, with a reason (the person is told, the reviewer sees it)."""

    openapi = {
        "post": {
            "summary": "不予确认（须填写原因，本人会收到通知，审核人员可见）",
            "tags": ["mini-program"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["reason"],
                            "properties": {"reason": {"type": "string", "maxLength": REASON_MAX}},
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已记录", "content": json_schema_ref("UnitPerson")},
                **UNIT_RESPONSES,
                **_NOT_FOUND,
                "422": {"description": "缺少原因（reason_required）", "content": _ERR},
            },
        }
    }

    async def post(self, uscc: str, record_id: str) -> None:
        service = self.services.get(UnitConfirmations)
        self.write_json(await service.answer(self.user, self.unit, record_id, "denied", self.json_body()))


default_handlers = [
    (rf"/api/v1/unit/{USCC}/people", UnitPeopleHandler),
    (rf"/api/v1/unit/{USCC}/people/{PERSON}", UnitPersonHandler),
    (rf"/api/v1/unit/{USCC}/people/{PERSON}/confirm", UnitConfirmHandler),
    (rf"/api/v1/unit/{USCC}/people/{PERSON}/deny", UnitDenyHandler),
]
