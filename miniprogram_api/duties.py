"""Yearly duties for the person: GET /api/v1/me/duties (继续教育 years and standing), and equivalence
claims (视同继续教育): GET/POST /api/v1/me/ce-claims, the proof's staging, withdraw."""

from __future__ import annotations

from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from miniprogram_api.documents import SlotUploadHandler
from server.duties.claims import ACTIVITIES, NOTE_MAX, SLOTS, TITLE_MAX, ClaimService
from server.duties.view import DutiesView
from server.lifecycle.tables import CE_CLAIM

_ERR = json_schema_ref("Error")
register_schema(
    "DutyYear",
    {
        "type": "object",
        "properties": {
            "year": {"type": "integer"},
            "credits_total": {"type": "number"},
            "credits_professional": {"type": "number"},
            "required_total": {"type": "number"},
            "required_professional": {"type": "number"},
            "missing_total": {"type": "number"},
            "missing_professional": {"type": "number"},
            "complete": {"type": "boolean"},
            "in_progress": {"type": "boolean", "description": "本年度（尚未结束）"},
            "assessment": {"type": "string", "nullable": True, "description": "该年度的年度考评结果"},
            "entries": {"type": "array", "items": {"type": "object"}},
        },
    },
)
register_schema(
    "Duties",
    {
        "type": "object",
        "required": ["archived", "years", "what_to_do"],
        "properties": {
            "archived": {"type": "boolean", "description": "false：尚未完成信息采集，不能登记继续教育"},
            "standing": {"type": "string", "enum": ["normal", "abnormal", "not_in_post"], "nullable": True},
            "standing_label": {"type": "string", "description": "正常 / 异动 / 非在岗"},
            "reason": {"type": "string"},
            "what_to_do": {"type": "array", "items": {"type": "string"}},
            "incomplete_years": {"type": "array", "items": {"type": "integer"}},
            "abnormal_years": {"type": "array", "items": {"type": "integer"}},
            "missing_assessment_years": {"type": "array", "items": {"type": "integer"}},
            "years": {"type": "array", "items": {"$ref": "#/components/schemas/DutyYear"}},
        },
    },
)
register_schema(
    "CeClaimRequest",
    {
        "type": "object",
        "required": ["activity", "year", "credits"],
        "additionalProperties": False,
        "description": "先上传证明材料（POST /api/v1/me/ce-claims/files?slot=ce_claim_proof），再提交申请。",
        "properties": {
            "activity": {"type": "string", "enum": list(ACTIVITIES), "x-enum-labels": ACTIVITIES},
            "year": {"type": "integer", "minimum": 2000, "description": "计入的年度"},
            "credits": {"type": "number", "minimum": 0.1, "description": "申请的学分（不超过年度要求）"},
            "type": {"type": "string", "enum": ["professional", "general"], "description": "科目类型（默认专业科目）"},
            "title": {"type": "string", "maxLength": TITLE_MAX, "description": "如考试名称、论文题目"},
            "note": {"type": "string", "maxLength": NOTE_MAX},
        },
    },
)
register_schema(
    "CeClaim",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": list(CE_CLAIM.states), "x-enum-labels": CE_CLAIM.states},
            "status_label": {"type": "string"},
            "activity": {"type": "string"},
            "year": {"type": "integer"},
            "credits": {"type": "number"},
            "granted": {"type": "object", "nullable": True, "description": "认定的学分和科目类型"},
            "decision": {"type": "object", "nullable": True},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
)


class DutiesHandler(UserHandler):
    """The caller's continuing-education years and standing."""

    openapi = {
        "get": {
            "summary": "本人的继续教育（各年度学分、要求、还差多少、年度考评）和人员状态（正常/异动/非在岗）及需要办理的事项",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功", "content": json_schema_ref("Duties")}, **UNAUTHORIZED},
        }
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(DutiesView).mine(self.user))


class ClaimsHandler(UserHandler):
    """The caller's equivalence claims; apply for one."""

    openapi = {
        "get": {
            "summary": "本人的视同继续教育申请、已上传的证明材料和可申请的活动类型",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功"}, **UNAUTHORIZED},
        },
        "post": {
            "summary": "申请视同继续教育（通过考试、学历教育、发表论著等），由档案所在区财政局认定学分",
            "tags": ["mini-program"],
            "requestBody": {"required": True, "content": json_schema_ref("CeClaimRequest")},
            "responses": {
                "201": {"description": "已提交", "content": json_schema_ref("CeClaim")},
                **UNAUTHORIZED,
                "409": {
                    "description": "尚未完成信息采集（archive_required）、档案已调出或在审核的申请过多（too_many_open_claims）",
                    "content": _ERR,
                },
                "422": {"description": "字段不正确或缺少证明材料（file_required）", "content": _ERR},
            },
        },
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(ClaimService).overview(self.user))

    async def post(self) -> None:
        self.write_json(await self.services.get(ClaimService).submit(self.user, self.json_body()), status=201)


class ClaimFileHandler(SlotUploadHandler):
    """Stage the claim's proof (multipart field `file`; query `slot`)."""

    service = ClaimService
    openapi = SlotUploadHandler.slot_openapi("视同继续教育证明材料", SLOTS, "已保存")


class ClaimWithdrawHandler(UserHandler):
    """Withdraw a claim before its decision."""

    openapi = {
        "post": {
            "summary": "撤回视同继续教育申请",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "已撤回", "content": json_schema_ref("CeClaim")},
                **UNAUTHORIZED,
                "404": {"description": "申请不存在", "content": _ERR},
                "409": {"description": "已审核，不能撤回", "content": _ERR},
            },
        }
    }

    async def post(self, claim_id: str) -> None:
        self.write_json(await self.services.get(ClaimService).withdraw(self.user, claim_id))


default_handlers = [
    (r"/api/v1/me/duties", DutiesHandler),
    (r"/api/v1/me/ce-claims", ClaimsHandler),
    (r"/api/v1/me/ce-claims/files", ClaimFileHandler),
    (r"/api/v1/me/ce-claims/(?P<claim_id>[0-9a-f]{24})/withdraw", ClaimWithdrawHandler),
]
