"""Unit administrators (单位管理员) from the mini-program: apply (files staged one per request),
withdraw, the caller's units, a unit's administrators and revoking another one."""

from __future__ import annotations

from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from miniprogram_api.documents import SlotUploadHandler
from miniprogram_api.unit_base import UNIT_RESPONSES, USCC, UnitHandler
from server.lifecycle.tables import UNIT_ADMIN
from server.units.access import units_of
from server.units.admins import NOTE_MAX, REASON_MAX, SLOTS, UNIT_NAME_MAX, UnitAdminService

_ERR = json_schema_ref("Error")
APP_ID = r"(?P<app_id>[0-9a-f]{24})"
register_schema(
    "UnitAdminRequest",
    {
        "type": "object",
        "required": ["unit_name", "uscc", "region_code", "applicant_name", "mobile"],
        "additionalProperties": False,
        "description": "申请成为单位管理员。先按 slot 上传材料（POST /api/v1/me/unit-admins/files?slot=…）："
        + "、".join(f"{k}（{v}）" for k, v in SLOTS.items())
        + "；法定代表人本人申请时无需授权委托书。由单位注册所在区财政局认证。",
        "properties": {
            "unit_name": {"type": "string", "maxLength": UNIT_NAME_MAX, "description": "单位全称"},
            "uscc": {"type": "string", "maxLength": 40, "description": "统一社会信用代码（18位，校验位）"},
            "region_code": {"$ref": "#/components/schemas/RecordDistricts"},
            "legal_representative": {"type": "boolean", "description": "申请人是否为法定代表人"},
            "applicant_name": {"type": "string", "maxLength": 64},
            "mobile": {"type": "string", "maxLength": 40},
            "note": {"type": "string", "maxLength": NOTE_MAX},
        },
    },
)
register_schema(
    "UnitAdminApplication",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": list(UNIT_ADMIN.states), "x-enum-labels": UNIT_ADMIN.states},
            "status_label": {"type": "string"},
            "withdrawable": {"type": "boolean"},
            "unit_name": {"type": "string"},
            "uscc": {"type": "string"},
            "region_code": {"type": "string"},
            "decision": {"type": "object", "nullable": True},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
)
register_schema(
    "Unit",
    {
        "type": "object",
        "properties": {
            "uscc": {"type": "string"},
            "name": {"type": "string"},
            "region_code": {"type": "string"},
            "region_name": {"type": "string"},
            "admins": {
                "type": "array",
                "items": {"type": "object"},
                "description": "已认证的管理员（姓名、手机号部分隐藏）",
            },
        },
    },
)
_REASON_BODY = {
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
}


class UnitAdminApplicationsHandler(UserHandler):
    """The caller's unit-administrator applications; apply for one."""

    openapi = {
        "get": {
            "summary": "本人的单位管理员申请和已上传的材料",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功"}, **UNAUTHORIZED},
        },
        "post": {
            "summary": "申请成为单位管理员（单位报备确认、聘任备案、年度考评）",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("UnitAdminRequest")},
            "responses": {
                "201": {
                    "description": "已提交，等待单位所在区财政局认证",
                    "content": json_schema_ref("UnitAdminApplication"),
                },
                **UNAUTHORIZED,
                "409": {
                    "description": "已是该单位管理员（already_unit_admin）或已有申请在审核（unit_admin_open）",
                    "content": _ERR,
                },
                "422": {
                    "description": "字段不正确（统一社会信用代码校验位等）或缺少材料（file_required）",
                    "content": _ERR,
                },
            },
        },
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(UnitAdminService).overview(self.user))

    async def post(self) -> None:
        self.write_json(await self.services.get(UnitAdminService).submit(self.user, self.json_body()), status=201)


class UnitAdminFileHandler(SlotUploadHandler):
    """Stage the business licence or the authorisation letter (multipart field `file`; query `slot`)."""

    service = UnitAdminService
    openapi = SlotUploadHandler.slot_openapi("单位管理员申请材料", SLOTS, "已保存，提交申请时使用")


class UnitAdminWithdrawHandler(UserHandler):
    """Withdraw one's application before it is decided."""

    openapi = {
        "post": {
            "summary": "撤回单位管理员申请",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "已撤回", "content": json_schema_ref("UnitAdminApplication")},
                **UNAUTHORIZED,
                "404": {"description": "申请不存在", "content": _ERR},
                "409": {"description": "已审核，不能撤回", "content": _ERR},
            },
        }
    }

    async def post(self, app_id: str) -> None:
        self.write_json(await self.services.get(UnitAdminService).withdraw(self.user, app_id))


class MyUnitsHandler(UserHandler):
    """The units the caller administers now."""

    openapi = {
        "get": {
            "summary": "本人担任已认证管理员的单位",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功"}, **UNAUTHORIZED},
        }
    }

    async def get(self) -> None:
        service = self.services.get(UnitAdminService)
        units = [await service.unit_view(u, me=self.user.openid) for u in await units_of(self.services, self.user)]
        self.write_json({"units": units})


class UnitHomeHandler(UnitHandler):
    """One unit and its administrators (for its administrators)."""

    openapi = {
        "get": {
            "summary": "单位信息及其管理员",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功", "content": json_schema_ref("Unit")}, **UNIT_RESPONSES},
        }
    }

    async def get(self, uscc: str) -> None:
        self.write_json(await self.services.get(UnitAdminService).unit_view(self.unit, me=self.user.openid))


class UnitAdminRevokeHandler(UnitHandler):
    """Revoke another administrator of the same unit."""

    openapi = {
        "post": {
            "summary": "撤销本单位其他管理员的管理员身份（须填写原因）",
            "tags": ["mini-program"],
            "requestBody": _REASON_BODY,
            "responses": {
                "200": {"description": "已撤销，返回单位及其管理员", "content": json_schema_ref("Unit")},
                **UNIT_RESPONSES,
                "404": {"description": "该单位没有这位管理员", "content": _ERR},
                "409": {"description": "不能撤销本人（cannot_revoke_self）或已撤销", "content": _ERR},
                "422": {"description": "缺少原因", "content": _ERR},
            },
        }
    }

    async def post(self, uscc: str, app_id: str) -> None:
        service = self.services.get(UnitAdminService)
        self.write_json(await service.revoke_by_unit(self.user, uscc, app_id, self.json_body()))


default_handlers = [
    (r"/api/v1/me/unit-admins", UnitAdminApplicationsHandler),
    (r"/api/v1/me/unit-admins/files", UnitAdminFileHandler),
    (rf"/api/v1/me/unit-admins/{APP_ID}/withdraw", UnitAdminWithdrawHandler),
    (r"/api/v1/me/units", MyUnitsHandler),
    (rf"/api/v1/unit/{USCC}", UnitHomeHandler),
    (rf"/api/v1/unit/{USCC}/admins/{APP_ID}/revoke", UnitAdminRevokeHandler),
]
