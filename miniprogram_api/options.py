"""GET /api/v1/options: every closed list for the mini-program's pickers (no login)."""

from __future__ import annotations

from handlers.base import PublicHandler
from handlers.openapi import register_schema
from miniprogram_api.base import json_schema_ref
from server.lifecycle.changes import option_lists as change_option_lists
from server.records.service import RecordService
from server.transfers.rules import option_lists as transfer_option_lists

register_schema(
    "Options",
    {
        "type": "object",
        "description": "每个封闭列表（性别、证件类型、学历、民族、国籍、所在区等）的代码与中文名称；"
        "与 components/schemas/Record* 中的枚举一致。change_locked_fields：信息变更中不能修改的字段"
        "（code 为字段路径）；change_proof_fields：信息变更中须上传证明材料的字段；transfer_kinds：调转类型；"
        "transfer_reasons：调转原因；transfer_proofs：各调转原因须上传的证明（code 为原因）",
        "additionalProperties": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "label"],
                "properties": {"code": {"type": "string"}, "label": {"type": "string"}},
            },
        },
    },
)


class OptionsHandler(PublicHandler):
    """Closed lists for the pickers."""

    openapi = {
        "get": {
            "summary": "选项列表（枚举、民族、所在区），无需登录",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功", "content": json_schema_ref("Options")}},
        }
    }

    def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=300")
        self.write_json(
            {**self.services.get(RecordService).options(), **change_option_lists(), **transfer_option_lists()}
        )


default_handlers = [(r"/api/v1/options", OptionsHandler)]
