"""Appointment registration (单位聘任入库备案) for a unit's verified administrators: register an
accountant the unit employs, list the registrations, read one, end one (the person is told)."""

from __future__ import annotations

from handlers.base import int_argument
from handlers.openapi import register_schema
from miniprogram_api.base import json_schema_ref
from miniprogram_api.unit_base import UNIT_RESPONSES, USCC, UnitHandler
from server.errors import BadRequest
from server.records.options import option_codes
from server.units.appointments import PAGE_MAX, REASON_MAX, STATUS_LABELS, Appointments

_ERR = json_schema_ref("Error")
APPOINTMENT = r"(?P<appointment_id>[0-9a-f]{24})"
_NOT_FOUND = {"404": {"description": "没有该聘任登记（appointment_not_found）", "content": _ERR}}
register_schema(
    "AppointmentRequest",
    {
        "type": "object",
        "required": ["id_number", "name", "post", "from"],
        "additionalProperties": False,
        "description": "单位聘任会计人员入库备案：该人员以此证件号码采集信息时，工作单位和岗位自动带出并视为单位已确认。",
        "properties": {
            "id_type": {"type": "string", "enum": list(option_codes("id_types")), "description": "默认 resident_id"},
            "id_number": {"type": "string", "maxLength": 40},
            "name": {"type": "string", "maxLength": 64},
            "post": {"type": "string", "enum": list(option_codes("posts"))},
            "from": {"type": "string", "format": "date", "description": "聘任开始日期"},
        },
    },
)
register_schema(
    "Appointment",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "id_number": {"type": "string", "description": "部分隐藏"},
            "name": {"type": "string"},
            "post": {"type": "string"},
            "post_label": {"type": "string"},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date", "nullable": True},
            "status": {"type": "string", "enum": list(STATUS_LABELS), "x-enum-labels": STATUS_LABELS},
            "status_label": {"type": "string"},
        },
    },
)


class AppointmentsHandler(UnitHandler):
    """The unit's registrations (registration order); register one."""

    openapi = {
        "get": {
            "summary": "本单位聘任登记的会计人员（登记顺序；证件号码部分隐藏）",
            "tags": ["mini-program"],
            "parameters": [
                {"name": "after", "in": "query", "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}},
            ],
            "responses": {
                "200": {"description": "items、next（下一页从该 id 之后开始，null 为最后一页）"},
                "400": {"description": "参数不正确", "content": _ERR},
                **UNIT_RESPONSES,
            },
        },
        "post": {
            "summary": "单位聘任会计人员入库备案（证件号码、姓名、岗位、聘任开始日期）",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("AppointmentRequest")},
            "responses": {
                "201": {"description": "已登记", "content": json_schema_ref("Appointment")},
                **UNIT_RESPONSES,
                "409": {"description": "该人员已在本单位登记聘任（appointment_exists）", "content": _ERR},
                "422": {"description": "字段不正确（逐项说明）", "content": _ERR},
            },
        },
    }

    async def get(self, uscc: str) -> None:
        after = self.get_query_argument("after", None) or None
        if after is not None and not (len(after) == 24 and all(c in "0123456789abcdef" for c in after)):
            raise BadRequest("参数 after 不正确", "invalid_argument")
        limit = int_argument(self, "limit", 20, 1, PAGE_MAX)
        self.write_json(await self.services.get(Appointments).page(self.unit, after, limit))

    async def post(self, uscc: str) -> None:
        view = await self.services.get(Appointments).register(self.user, self.unit, self.json_body())
        self.write_json(view, status=201)


class AppointmentHandler(UnitHandler):
    """One registration of the unit."""

    openapi = {
        "get": {
            "summary": "一条聘任登记",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "成功", "content": json_schema_ref("Appointment")},
                **UNIT_RESPONSES,
                **_NOT_FOUND,
            },
        }
    }

    async def get(self, uscc: str, appointment_id: str) -> None:
        self.write_json(await self.services.get(Appointments).get(self.unit, appointment_id))


class AppointmentEndHandler(UnitHandler):
    """End an appointment: the person is 非在岗 with the unit from the date, and is told."""

    openapi = {
        "post": {
            "summary": "解除聘任（该人员自解聘日期起在本单位为非在岗，并收到通知）",
            "tags": ["mini-program"],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "to": {"type": "string", "format": "date", "description": "解聘日期，默认今天"},
                                "reason": {"type": "string", "maxLength": REASON_MAX},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已解聘", "content": json_schema_ref("Appointment")},
                **UNIT_RESPONSES,
                **_NOT_FOUND,
                "409": {"description": "已解聘（appointment_ended）", "content": _ERR},
                "422": {"description": "日期不正确", "content": _ERR},
            },
        }
    }

    async def post(self, uscc: str, appointment_id: str) -> None:
        service = self.services.get(Appointments)
        self.write_json(await service.end(self.user, self.unit, appointment_id, self.json_body()))


default_handlers = [
    (rf"/api/v1/unit/{USCC}/appointments", AppointmentsHandler),
    (rf"/api/v1/unit/{USCC}/appointments/{APPOINTMENT}", AppointmentHandler),
    (rf"/api/v1/unit/{USCC}/appointments/{APPOINTMENT}/end", AppointmentEndHandler),
]
