"""Every kind of application for staff: the queues, one detail view, decisions; spot-check outcomes."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.admin_records import _PAGING, RID, TAGS
from handlers.base import int_argument
from server.lifecycle.tables import KINDS, SPOT_CHECK_OUTCOMES, all_states, reviewer_actions
from server.review import decisions, detail, queue, spotcheck
from server.review.decisions import REASON_MAX

_FILTERS = [
    {
        "name": "kind",
        "in": "query",
        "schema": {"type": "string", "enum": list(KINDS), "default": "collection"},
        "description": "；".join(f"{k}：{v.label}" for k, v in KINDS.items()),
    },
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": all_states()}},
    {"name": "region", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{6}$"}},
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
                int_argument(self, "page_size", 20, 1, 1000),
            )
        )


class ApplicationDetailHandler(StaffHandler):
    """One application of any kind: a change is shown beside the archive; the actions its table allows."""

    openapi = {
        "get": {
            "summary": "申请详情（信息变更与档案并列显示；含可执行的操作）",
            "tags": TAGS,
            "responses": {"200": {"description": "成功"}, "404": {"description": "不存在或不在本人辖区"}},
        }
    }

    async def get(self, record_id: str) -> None:
        self.write_json(await detail.get_record(self.services, self.staff, record_id))


class ApplicationDecisionHandler(StaffHandler):
    """Approve or reject any application at a given version (409 if it changed)."""

    openapi = {
        "post": {
            "summary": "审核申请：通过或退回（所有类型）",
            "tags": TAGS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["decision", "version"],
                            "properties": {
                                "decision": {
                                    "type": "string",
                                    "enum": [a for a in reviewer_actions() if a in decisions.DECISIONS],
                                },
                                "version": {"type": "integer", "minimum": 1},
                                "reason": {"type": "string", "maxLength": REASON_MAX},
                                "reason_codes": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已审核，返回申请详情"},
                "404": {"description": "不存在或不在本人辖区"},
                "409": {"description": "不是待审核状态或版本已变"},
                "422": {"description": "参数不正确"},
            },
        }
    }

    async def post(self, record_id: str) -> None:
        self.write_json(await decisions.decide(self.services, self.staff, record_id, self.json_body()))


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


default_handlers = [
    (r"/admin/api/applications", ApplicationListHandler),
    (rf"/admin/api/applications/{RID}", ApplicationDetailHandler),
    (rf"/admin/api/applications/{RID}/decision", ApplicationDecisionHandler),
    (rf"/admin/api/records/{RID}/spot-check", SpotCheckHandler),
]
