"""Every kind of application for staff: the queues, one detail view, decisions; spot-check outcomes."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.admin_records import _PAGING, RID, TAGS, DecisionHandler, RecordDetailHandler
from handlers.base import MAX_PAGE_SIZE, int_argument
from server.lifecycle.tables import KINDS, SPOT_CHECK_OUTCOMES, all_states
from server.review import queue, spotcheck
from server.transfers.service import TransferService

_FILTERS = [
    {
        "name": "kind",
        "in": "query",
        "schema": {"type": "string", "enum": list(KINDS), "default": "collection"},
        "description": "；".join(f"{k}：{v.label}" for k, v in KINDS.items()),
    },
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": all_states()}},
    {"name": "region", "in": "query", "schema": {"$ref": "#/components/schemas/RecordDistricts"}},
    {
        "name": "q",
        "in": "query",
        "description": "姓名（含生僻字）或完整证件号码（仅信息采集）",
        "schema": {"type": "string"},
    },
]


class ApplicationListHandler(StaffHandler):
    """The queue of one kind of application in the caller's districts (masked rows)."""

    openapi = {
        "get": {
            "summary": "申请列表（按类型、状态、所在区筛选，按提交时间排序）",
            "tags": TAGS,
            "parameters": _FILTERS + _PAGING,
        }
    }

    async def get(self) -> None:
        arg = self.get_query_argument
        self.write_json(
            await queue.list_applications(
                self.services,
                self.staff,
                arg("kind", None),
                arg("status", None),
                arg("region", None),
                arg("q", None),
                int_argument(self, "page", 1, 1, 100000),
                int_argument(self, "page_size", 20, 1, MAX_PAGE_SIZE),
            )
        )


class SpotCheckHandler(StaffHandler):
    """Record the outcome of a spot check on an approved record: confirmed, or a correction order."""

    openapi = {
        "post": {
            "summary": "登记抽查结果：无误，或责令改正（本人须提交信息变更）",
            "tags": TAGS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["outcome"],
                            "properties": {
                                "outcome": {
                                    "type": "string",
                                    "enum": list(SPOT_CHECK_OUTCOMES),
                                    "x-enum-labels": SPOT_CHECK_OUTCOMES,
                                },
                                "reason": {"type": "string", "maxLength": spotcheck.REASON_MAX},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已登记，返回记录详情"},
                "404": {"description": "不存在或不在本人辖区"},
                "409": {"description": "记录未审核通过，或已有变更在办理"},
                "422": {"description": "参数不正确"},
            },
        }
    }

    async def post(self, record_id: str) -> None:
        self.write_json(await spotcheck.record_outcome(self.services, self.staff, record_id, self.json_body()))


class TransferSheetHandler(StaffHandler):
    """The transfer sheet (调转信息表) PDF of an approved transfer out in the caller's districts."""

    openapi = {
        "get": {
            "summary": "下载调转信息表（PDF，调出区外审核通过后）",
            "tags": TAGS,
            "responses": {
                "200": {"description": "PDF", "content": {"application/pdf": {}}},
                "404": {"description": "记录不存在或无权查看"},
                "409": {"description": "尚未审核通过（sheet_not_ready）"},
            },
        }
    }

    async def get(self, record_id: str) -> None:
        name, pdf = await self.services.get(TransferService).sheet_for_staff(self.staff, record_id)
        await self.send_bytes("application/pdf", name, pdf, inline=False)


default_handlers = [
    (r"/admin/api/applications", ApplicationListHandler),
    # one detail view and one decision for every kind: the record endpoints serve any application
    (rf"/admin/api/applications/{RID}", RecordDetailHandler),
    (rf"/admin/api/applications/{RID}/decision", DecisionHandler),
    (rf"/admin/api/records/{RID}/spot-check", SpotCheckHandler),
    (rf"/admin/api/applications/{RID}/sheet\.pdf", TransferSheetHandler),
]
