"""Transfers (调转): GET/POST /api/v1/me/transfers, file staging, withdraw, the transfer sheet."""

from __future__ import annotations

from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from miniprogram_api.documents import SlotUploadHandler
from server.lifecycle.tables import KINDS, TRANSFER_KINDS
from server.transfers.rules import NOTE_MAX, REASONS, REGION_TEXT_MAX, SLOT_LABELS
from server.transfers.service import TransferService, kinds_for_openapi

_ERR = json_schema_ref("Error")
_STATES = {s: label for k in TRANSFER_KINDS for s, label in KINDS[k].states.items()}
register_schema(
    "StagedFile",
    {
        "type": "object",
        "description": "已上传、待申请时使用的材料",
        "properties": {
            "kind": {"type": "string"},
            "label": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "uploaded_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "nullable": True},
        },
    },
)
register_schema(
    "TransferRequest",
    {
        "type": "object",
        "required": ["kind", "reason"],
        "additionalProperties": False,
        "description": "申请调转。先按 slot 上传证明材料（POST /api/v1/me/transfers/files?slot=transfer_proof）；"
        "区外调入还须上传原地区的调转信息表（slot=transfer_sheet），并先填写完整信息采集表。"
        "同一时间只能有一项申请在办理；采集期间冻结调转。",
        "properties": {
            "kind": {"type": "string", "enum": list(kinds_for_openapi()), "x-enum-labels": kinds_for_openapi()},
            "reason": {
                "type": "string",
                "enum": list(REASONS),
                "x-enum-labels": {r.code: f"{r.label}（证明：{r.proof}）" for r in REASONS.values()},
            },
            "note": {"type": "string", "maxLength": NOTE_MAX, "description": "补充说明"},
            "to_region": {
                "allOf": [{"$ref": "#/components/schemas/RecordDistricts"}],
                "description": "调入的区（区划代码）：区内调转必填；区外调入为所在区",
            },
            "to_region_name": {"type": "string", "maxLength": REGION_TEXT_MAX, "description": "调出区外：调入的省市区"},
            "from_region_name": {"type": "string", "maxLength": REGION_TEXT_MAX, "description": "区外调入：原管理地区"},
            "commitment": {"type": "boolean", "description": "区外调入：同意《承诺书》"},
        },
    },
)
register_schema(
    "Transfer",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": list(kinds_for_openapi())},
            "status": {"type": "string", "enum": list(_STATES), "x-enum-labels": _STATES},
            "status_label": {"type": "string"},
            "open": {"type": "boolean"},
            "withdrawable": {"type": "boolean"},
            "from_region_name": {"type": "string"},
            "to_region_name": {"type": "string"},
            "reason_label": {"type": "string"},
            "history": {
                "type": "array",
                "items": {"type": "object"},
                "description": "每一步：label、by（办理的财政局）、at、reason",
            },
            "sheet": {"type": "object", "nullable": True, "description": "调出区外通过后：调转信息表 PDF 的下载地址"},
        },
    },
)


class TransfersHandler(UserHandler):
    """The caller's transfers; apply for one."""

    openapi = {
        "get": {
            "summary": "本人的调转申请、已上传的材料和调转规则（原因与所需证明、冻结期）",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功"}, **UNAUTHORIZED},
        },
        "post": {
            "summary": "申请调转：区内调转（within）、调出区外（out）、区外调入（in）",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("TransferRequest")},
            "responses": {
                "201": {"description": "已提交", "content": json_schema_ref("Transfer")},
                **UNAUTHORIZED,
                "409": {
                    "description": "冻结期（transfer_frozen）、尚无档案（archive_missing）、已有申请在办理"
                    "（application_open / change_open）、档案已调出（archive_transferred_out）、本地已有档案（archive_exists）",
                    "content": _ERR,
                },
                "422": {
                    "description": "字段不正确、缺少证明（proof_required）或调转信息表（sheet_required）、"
                    "调入地与现管理地区相同（same_region）、信息采集表不完整（record_incomplete）",
                    "content": _ERR,
                },
            },
        },
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(TransferService).overview(self.user))

    async def post(self) -> None:
        self.write_json(await self.services.get(TransferService).submit(self.user, self.json_body()), status=201)


class TransferFileHandler(SlotUploadHandler):
    """Stage a file for the next transfer (multipart field `file`; query `slot`)."""

    service = TransferService
    openapi = SlotUploadHandler.slot_openapi("调转材料", SLOT_LABELS, "已保存，提交调转申请时使用")


class TransferWithdrawHandler(UserHandler):
    """Withdraw a transfer before its first decision."""

    openapi = {
        "post": {
            "summary": "撤回调转申请（首次审核前）",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "已撤回", "content": json_schema_ref("Transfer")},
                **UNAUTHORIZED,
                "404": {"description": "调转申请不存在", "content": _ERR},
                "409": {"description": "已审核，不能撤回", "content": _ERR},
            },
        }
    }

    async def post(self, transfer_id: str) -> None:
        self.write_json(await self.services.get(TransferService).withdraw(self.user, transfer_id))


class TransferSheetHandler(UserHandler):
    """The transfer sheet (调转信息表) PDF of the caller's approved transfer out."""

    openapi = {
        "get": {
            "summary": "下载调转信息表（PDF）",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "PDF", "content": {"application/pdf": {}}},
                **UNAUTHORIZED,
                "404": {"description": "调转申请不存在", "content": _ERR},
                "409": {"description": "尚未审核通过（sheet_not_ready）", "content": _ERR},
            },
        }
    }

    async def get(self, transfer_id: str) -> None:
        name, pdf = await self.services.get(TransferService).sheet_for_applicant(self.user, transfer_id)
        await self.send_bytes("application/pdf", name, pdf, inline=False)


default_handlers = [
    (r"/api/v1/me/transfers", TransfersHandler),
    (r"/api/v1/me/transfers/files", TransferFileHandler),
    (r"/api/v1/me/transfers/(?P<transfer_id>[0-9a-f]{24})/withdraw", TransferWithdrawHandler),
    (r"/api/v1/me/transfers/(?P<transfer_id>[0-9a-f]{24})/sheet\.pdf", TransferSheetHandler),
]
