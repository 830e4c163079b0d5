"""Information change (信息变更): GET/POST /api/v1/me/changes, proof upload, withdraw."""

from __future__ import annotations

from handlers.openapi import multipart_file_body, register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from miniprogram_api.documents import UploadHandler
from server.lifecycle.changes import REASON_MAX, ChangeService
from server.lifecycle.tables import CHANGE

_ERR = json_schema_ref("Error")
register_schema("ChangeStatus", {"type": "string", "enum": list(CHANGE.states), "x-enum-labels": CHANGE.states})
register_schema(
    "ChangeRequest",
    {
        "type": "object",
        "required": ["changes"],
        "additionalProperties": False,
        "description": "对已审核通过档案的部分修改，写法与 RecordPatch 相同（按信息项分组）。"
        "首次参加会计工作日期（employment.accounting_since）不能变更；管理地区（region_code）须办理调转；"
        "姓名、证件类型、证件号码的变更须先上传证明材料（POST /api/v1/me/changes/proof）。"
        "被抽查责令改正时，提交的变更即为对改正要求的答复。",
        "properties": {
            "changes": {"$ref": "#/components/schemas/RecordPatch"},
            "reason": {"type": "string", "maxLength": REASON_MAX, "description": "变更说明"},
        },
    },
)
register_schema(
    "Change",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ChangeStatus"},
            "status_label": {"type": "string"},
            "version": {"type": "integer"},
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "label": {"type": "string"}, "old": {}, "new": {}},
                },
            },
            "reason": {"type": "string"},
            "ordered": {"type": "object", "nullable": True, "description": "责令改正：by、reason、at"},
            "decision": {"type": "object", "nullable": True},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
)
register_schema(
    "ChangeList",
    {
        "type": "object",
        "properties": {
            "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}},
            "open": {"type": "string", "nullable": True, "description": "正在办理的变更申请（同一时间只能有一项）"},
            "rules": {"type": "object", "description": "locked：不能变更的字段；needs_proof：须上传证明材料的字段"},
            "staged_proof": {"type": "object", "nullable": True},
        },
    },
)


class ChangesHandler(UserHandler):
    """The caller's changes; submit a new one (or the correction a spot check ordered)."""

    openapi = {
        "get": {
            "summary": "本人的信息变更申请及变更规则",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功", "content": json_schema_ref("ChangeList")}, **UNAUTHORIZED},
        },
        "post": {
            "summary": "申请信息变更（审核通过前档案保持不变；同一时间只能有一项变更）",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("ChangeRequest")},
            "responses": {
                "201": {"description": "已提交", "content": json_schema_ref("Change")},
                **UNAUTHORIZED,
                "409": {"description": "尚无档案（archive_missing）或已有变更在办理（change_open）", "content": _ERR},
                "422": {
                    "description": "字段不正确、不能变更（field_not_changeable）、缺少证明材料"
                    "（proof_required）或没有变化（no_changes）",
                    "content": _ERR,
                },
            },
        },
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(ChangeService).overview(self.user))

    async def post(self) -> None:
        self.write_json(await self.services.get(ChangeService).submit(self.user, self.json_body()), status=201)


class ProofHandler(UploadHandler):
    """Upload the proof document for the next change (multipart field `file`)."""

    openapi = {
        "post": {
            "summary": "上传信息变更的证明材料（multipart/form-data，文件字段名 file；JPG/PNG/PDF）",
            "tags": ["mini-program"],
            "requestBody": multipart_file_body(),
            "responses": {
                "201": {"description": "已保存，提交变更时使用", "content": json_schema_ref("StagedFile")},
                **UNAUTHORIZED,
                "409": {"description": "尚无档案", "content": _ERR},
                "413": {"description": "超过大小限制", "content": _ERR},
                "415": {"description": "不是 JPG/PNG/PDF", "content": _ERR},
            },
        }
    }

    async def post(self) -> None:  # type: ignore[override]
        if self._finished:
            return
        data = await self._file()
        self.write_json(await self.services.get(ChangeService).stage_proof(self.user, data), status=201)


class WithdrawHandler(UserHandler):
    """Withdraw a pending change."""

    openapi = {
        "post": {
            "summary": "撤回待审核的信息变更",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "已撤回", "content": json_schema_ref("Change")},
                **UNAUTHORIZED,
                "404": {"description": "变更申请不存在", "content": _ERR},
                "409": {"description": "已审核，不能撤回", "content": _ERR},
            },
        }
    }

    async def post(self, change_id: str) -> None:
        self.write_json(await self.services.get(ChangeService).withdraw(self.user, change_id))


default_handlers = [
    (r"/api/v1/me/changes", ChangesHandler),
    (r"/api/v1/me/changes/proof", ProofHandler),
    (r"/api/v1/me/changes/(?P<change_id>[0-9a-f]{24})/withdraw", WithdrawHandler),
]
