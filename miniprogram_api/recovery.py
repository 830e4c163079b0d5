"""Account recovery (账号找回): GET/POST /api/v1/me/recovery, file staging, withdraw."""

from __future__ import annotations

from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from miniprogram_api.documents import SlotUploadHandler
from server.lifecycle.tables import RECOVERY
from server.recovery.service import NOTE_MAX, SLOTS, RecoveryService

_ERR = json_schema_ref("Error")
register_schema(
    "RecoveryRequest",
    {
        "type": "object",
        "required": ["name", "id_number"],
        "additionalProperties": False,
        "description": "从新的微信账号找回会计人员档案。先按 slot 上传三张照片（POST /api/v1/me/recovery/files?slot=…）："
        + "、".join(f"{k}（{v}）" for k, v in SLOTS.items())
        + "。档案所在区财政局核实后，档案转到当前账号，原账号不能再查看或办理。",
        "properties": {
            "name": {"type": "string", "maxLength": 64, "description": "档案上的姓名"},
            "id_number": {"type": "string", "maxLength": 40, "description": "证件号码（即档案号）"},
            "id_type": {"type": "string", "maxLength": 40},
            "note": {"type": "string", "maxLength": NOTE_MAX, "description": "说明（如更换微信的原因）"},
        },
    },
)
register_schema(
    "Recovery",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": list(RECOVERY.states), "x-enum-labels": RECOVERY.states},
            "status_label": {"type": "string"},
            "withdrawable": {"type": "boolean"},
            "id_number": {"type": "string", "description": "部分隐藏"},
            "decision": {"type": "object", "nullable": True},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
)


class RecoveriesHandler(UserHandler):
    """The caller's recoveries; apply for one."""

    openapi = {
        "get": {
            "summary": "本账号的账号找回申请和已上传的照片",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功"}, **UNAUTHORIZED},
        },
        "post": {
            "summary": "申请账号找回（换了微信账号、原账号无法使用时）",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("RecoveryRequest")},
            "responses": {
                "201": {"description": "已提交", "content": json_schema_ref("Recovery")},
                **UNAUTHORIZED,
                "404": {"description": "姓名与证件号码不符或没有该档案（archive_not_found）", "content": _ERR},
                "409": {
                    "description": "已有找回申请在审核（recovery_open）或档案已在本账号（already_yours）",
                    "content": _ERR,
                },
                "422": {"description": "字段不正确或缺少照片（file_required）", "content": _ERR},
                "429": {"description": "申请过于频繁（recovery_limited，按账号和证件号码计）", "content": _ERR},
            },
        },
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(RecoveryService).overview(self.user))

    async def post(self) -> None:
        self.write_json(await self.services.get(RecoveryService).submit(self.user, self.json_body()), status=201)


class RecoveryFileHandler(SlotUploadHandler):
    """Stage one of the three images (multipart field `file`; query `slot`)."""

    service = RecoveryService
    openapi = SlotUploadHandler.slot_openapi("账号找回照片", SLOTS, "已保存")


class RecoveryWithdrawHandler(UserHandler):
    """Withdraw a recovery before its decision."""

    openapi = {
        "post": {
            "summary": "撤回账号找回申请",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "已撤回", "content": json_schema_ref("Recovery")},
                **UNAUTHORIZED,
                "404": {"description": "申请不存在", "content": _ERR},
                "409": {"description": "已审核，不能撤回", "content": _ERR},
            },
        }
    }

    async def post(self, recovery_id: str) -> None:
        self.write_json(await self.services.get(RecoveryService).withdraw(self.user, recovery_id))


default_handlers = [
    (r"/api/v1/me/recovery", RecoveriesHandler),
    (r"/api/v1/me/recovery/files", RecoveryFileHandler),
    (r"/api/v1/me/recovery/(?P<recovery_id>[0-9a-f]{24})/withdraw", RecoveryWithdrawHandler),
]
