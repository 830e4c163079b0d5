"""The review queue, a record, its files, decisions, the audit log and spot-check samples."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.base import MAX_PAGE_SIZE, int_argument
from server.lifecycle.tables import COLLECTION
from server.review import audit, decisions, detail, files, queue, sample

TAGS = ["admin"]
RID = r"(?P<record_id>[0-9a-f]{24})"
_PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
    {
        "name": "page_size",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 20},
    },
]
_FILTERS = [
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(COLLECTION.states)}},
    {"name": "region", "in": "query", "schema": {"$ref": "#/components/schemas/RecordDistricts"}},
]


class RecordListHandler(StaffHandler):
    """The review queue of the caller's districts (ID numbers and phones masked)."""

    openapi = {
        "get": {
            "summary": "审核列表（按提交时间排序，证件号和手机号脱敏）",
            "tags": TAGS,
            "parameters": _FILTERS
            + _PAGING
            + [
                {
                    "name": "q",
                    "in": "query",
                    "description": "姓名（含生僻字）或完整证件号码",
                    "schema": {"type": "string"},
                }
            ],
        }
    }

    async def get(self) -> None:
        page = int_argument(self, "page", 1, 1, 100000)
        page_size = int_argument(self, "page_size", 20, 1, MAX_PAGE_SIZE)
        result = await queue.list_records(
            self.services,
            self.staff,
            self.get_query_argument("status", None),
            self.get_query_argument("region", None),
            self.get_query_argument("q", None),
            page,
            page_size,
        )
        self.write_json(result)


class RecordSampleHandler(StaffHandler):
    """A random sample of approved records for spot checks (抽查)."""

    openapi = {
        "get": {
            "summary": "随机抽查已通过的记录",
            "tags": TAGS,
            "parameters": [
                {"name": "n", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}},
                _FILTERS[1],
            ],
        }
    }

    async def get(self) -> None:
        n = int_argument(self, "n", 10, 1, sample.MAX_SAMPLE)
        self.write_json(await sample.draw_sample(self.services, self.staff, n, self.get_query_argument("region", None)))


class RecordDetailHandler(StaffHandler):
    """One record in full: fields, photo, documents, history, rare-character flag, notices."""

    openapi = {
        "get": {
            "summary": "记录或申请详情（信息变更与档案并列显示；含可执行的操作）",
            "tags": TAGS,
            "responses": {"200": {"description": "成功"}, "404": {"description": "记录不存在或不在本人辖区"}},
        }
    }

    async def get(self, record_id: str) -> None:
        self.write_json(await detail.get_record(self.services, self.staff, record_id))


class RecordFileHandler(StaffHandler):
    """A record's photo (`photo`) or document (its kind), streamed to staff of its district."""

    openapi = {
        "get": {
            "summary": "查看记录的照片或证明材料",
            "tags": TAGS,
            "responses": {
                "200": {"description": "文件内容", "content": {"image/jpeg": {}, "application/pdf": {}}},
                "404": {"description": "不存在或不在本人辖区"},
            },
        }
    }

    async def get(self, record_id: str, kind: str) -> None:
        info, chunks = await files.open_file(self.services, self.staff, record_id, kind)
        # Sandboxed like every stored file: images show inline, a PDF is downloaded and read outside
        # the page (a browser's PDF viewer does not run in a sandboxed document).
        inline = info["inline"] and info["content_type"].startswith("image/")
        await self.stream_file(info["content_type"], info["size"], info["filename"], chunks, inline=inline)


class DecisionHandler(StaffHandler):
    """Approve or reject a submitted record at a given version (409 if it changed)."""

    openapi = {
        "post": {
            "summary": "审核：通过或退回（信息采集、信息变更等所有类型）",
            "tags": TAGS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["decision", "version"],
                            "properties": {
                                "decision": {"type": "string", "enum": list(decisions.DECISIONS)},
                                "version": {"type": "integer", "minimum": 1},
                                "reason": {"type": "string", "maxLength": decisions.REASON_MAX},
                                "reason_codes": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "description": "退回原因模板（REJECT_REASONS）",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已审核，返回记录详情"},
                "404": {"description": "不存在或不在本人辖区"},
                "409": {"description": "记录不是待审核状态或版本已变"},
                "422": {"description": "参数不正确（如退回未填原因）"},
            },
        }
    }

    async def post(self, record_id: str) -> None:
        self.write_json(await decisions.decide(self.services, self.staff, record_id, self.json_body()))


class RecordAuditHandler(StaffHandler):
    """The audit entries of one record (404 outside the caller's districts)."""

    openapi = {"get": {"summary": "记录的审核日志", "tags": TAGS, "parameters": _PAGING}}

    async def get(self, record_id: str) -> None:
        self.write_json(
            await audit.list_entries(
                self.services,
                self.staff,
                record_id,
                int_argument(self, "page", 1, 1, 100000),
                int_argument(self, "page_size", 50, 1, MAX_PAGE_SIZE),
            )
        )


class AuditListHandler(StaffHandler):
    """The append-only audit log of the caller's districts, newest first."""

    openapi = {
        "get": {
            "summary": "审核日志（本人辖区）",
            "tags": TAGS,
            "parameters": _PAGING + [{"name": "record_id", "in": "query", "schema": {"type": "string"}}],
        }
    }

    async def get(self) -> None:
        self.write_json(
            await audit.list_entries(
                self.services,
                self.staff,
                self.get_query_argument("record_id", None),
                int_argument(self, "page", 1, 1, 100000),
                int_argument(self, "page_size", 50, 1, MAX_PAGE_SIZE),
            )
        )


default_handlers = [
    (r"/admin/api/records", RecordListHandler),
    (r"/admin/api/records/sample", RecordSampleHandler),
    (rf"/admin/api/records/{RID}", RecordDetailHandler),
    (rf"/admin/api/records/{RID}/files/(?P<kind>[a-z_]+)", RecordFileHandler),
    (rf"/admin/api/records/{RID}/decision", DecisionHandler),
    (rf"/admin/api/records/{RID}/audit", RecordAuditHandler),
    (r"/admin/api/audit", AuditListHandler),
]
