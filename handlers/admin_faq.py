"""Staff FAQ administration: unanswered questions (with counts, one by one or grouped by
similarity), resolving a group into a topic, and topic add/edit/disable."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.base import int_argument
from handlers.openapi import register_schema
from server.chat.faq_admin import FaqAdmin

TAGS = ["admin", "faq"]
_NO_CONTROL = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
_NO_CONTROL_BUT_LINES = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
TOPIC_ID = r"(?P<topic_id>[a-z][a-z0-9_]{1,39})"
GROUP_ID = r"(?P<group_id>[0-9a-f]{20})"
_JSON = "application/json"

register_schema(
    "FaqTopic",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,39}$"},
            "title": {"type": "string", "maxLength": 40, "pattern": _NO_CONTROL},
            "answer": {
                "type": "string",
                "maxLength": 600,
                "pattern": _NO_CONTROL_BUT_LINES,
                "description": "可含 {hotline}、{photo_max_kb} 等占位符；可换行，不能含其他控制字符",
            },
            "keywords": {
                "type": "array",
                "maxItems": 50,
                "items": {"type": "string", "maxLength": 30, "pattern": _NO_CONTROL},
            },
            "synonyms": {
                "type": "array",
                "maxItems": 100,
                "items": {"type": "string", "maxLength": 30, "pattern": _NO_CONTROL},
            },
            "examples": {
                "type": "array",
                "maxItems": 100,
                "items": {"type": "string", "maxLength": 100, "pattern": _NO_CONTROL},
            },
            "disabled": {"type": "boolean"},
            "source": {"type": "string", "enum": ["builtin", "staff"], "readOnly": True},
            "edited": {"type": "boolean", "readOnly": True},
            "updated_at": {"type": "string", "format": "date-time", "nullable": True, "readOnly": True},
            "updated_by": {"type": "string", "nullable": True, "readOnly": True},
        },
    },
)
register_schema(
    "FaqMiss",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "question": {"type": "string", "description": "规范化后的问题（证件号、手机号已脱敏）"},
            "sample": {"type": "string"},
            "count": {"type": "integer"},
            "candidates": {
                "type": "array",
                "items": {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}}},
            },
            "first_at": {"type": "string", "format": "date-time"},
            "last_at": {"type": "string", "format": "date-time"},
        },
    },
)


_DATE_TIME = {"type": "string", "format": "date-time", "nullable": True}
_TEXT_ITEMS = {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 30, "pattern": _NO_CONTROL}}
_EXAMPLE_ITEMS = {
    "type": "array",
    "maxItems": 100,
    "items": {"type": "string", "maxLength": 100, "pattern": _NO_CONTROL},
}
register_schema(
    "FaqMissGroup",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "组编号：代表问题（组内最常问的问题）的记录编号"},
            "question": {"type": "string", "description": "代表问题（规范化、已脱敏）"},
            "sample": {"type": "string", "description": "代表问题最近一次的原话（已脱敏）"},
            "count": {"type": "integer", "description": "组内提问总次数"},
            "size": {"type": "integer", "description": "组内不同问题数"},
            "members": {
                "type": "array",
                "description": "组内问题（按次数，最多50个；处理时全部删除）",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "question": {"type": "string"},
                        "sample": {"type": "string"},
                        "count": {"type": "integer"},
                        "out_of_scope": {"type": "boolean"},
                        "first_at": _DATE_TIME,
                        "last_at": _DATE_TIME,
                    },
                },
            },
            "topics": {
                "type": "array",
                "description": "相近话题（按组内提问次数加权），count 为提供过该话题的提问次数",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "count": {"type": "integer"}},
                },
            },
            "out_of_scope_share": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "超出咨询范围的提问占比",
            },
            "first_at": _DATE_TIME,
            "last_at": _DATE_TIME,
        },
    },
)
register_schema(
    "FaqMissGroupPage",
    {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/FaqMissGroup"}},
            "total": {"type": "integer", "description": "组数"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "misses_grouped": {"type": "integer", "description": "参与分组的问题数（提问最多的前2000个）"},
            "misses_total": {"type": "integer", "description": "未能回答的不同问题总数"},
        },
    },
)
register_schema(
    "FaqMissGroupResolve",
    {
        "description": "add_to_topic：把关键词、示例问题加入已有话题（topic 必填，关键词与示例至少一项）；"
        "create_topic：新建话题（id、title、answer 必填，关键词与示例至少一项）。成功后该组问题全部删除。",
        "type": "object",
        "required": ["action"],
        "additionalProperties": False,
        "properties": {
            "action": {"type": "string", "enum": ["add_to_topic", "create_topic"]},
            "topic": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,39}$", "description": "add_to_topic：话题编号"},
            "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,39}$", "description": "create_topic：新话题编号"},
            "title": {"type": "string", "maxLength": 40, "pattern": _NO_CONTROL},
            "answer": {"type": "string", "maxLength": 600, "pattern": _NO_CONTROL_BUT_LINES},
            "keywords": _TEXT_ITEMS,
            "synonyms": {**_TEXT_ITEMS, "maxItems": 100},
            "examples": _EXAMPLE_ITEMS,
        },
    },
)
register_schema(
    "FaqMissGroupResolved",
    {
        "type": "object",
        "properties": {
            "group": {"type": "string"},
            "action": {"type": "string", "enum": ["add_to_topic", "create_topic"]},
            "topic": {"$ref": "#/components/schemas/FaqTopic"},
            "added": {
                "type": "object",
                "description": "实际新增的关键词、示例问题（话题已有的不重复加入）",
                "properties": {
                    "keywords": {"type": "array", "items": {"type": "string"}},
                    "examples": {"type": "array", "items": {"type": "string"}},
                },
            },
            "forgotten": {"type": "integer", "description": "删除的未回答问题数"},
        },
    },
)


def _body(schema: str) -> dict:
    return {"required": True, "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _ok(schema: str) -> dict:
    return {"description": "成功", "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


class FaqMissesHandler(StaffHandler):
    """Questions the chat bot could not answer, most frequent first."""

    openapi = {
        "get": {
            "summary": "未能回答的问题（按次数排序）",
            "tags": TAGS,
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                },
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
            ],
        }
    }

    async def get(self) -> None:
        limit = int_argument(self, "limit", 50, 1, 200)
        offset = int_argument(self, "offset", 0, 0, 1_000_000)
        self.write_json(await self.services.get(FaqAdmin).list_misses(limit, offset))


class FaqMissHandler(StaffHandler):
    """Forget one unanswered question (e.g. once a topic covers it)."""

    openapi = {
        "delete": {
            "summary": "删除一条未回答问题记录（市级管理员）",
            "tags": TAGS,
            "responses": {"204": {"description": "已删除"}, "404": {"description": "不存在"}},
        }
    }

    async def delete(self, miss_id: str) -> None:
        await self.services.get(FaqAdmin).delete_miss(self.staff, miss_id)
        self.set_status(204)
        self.finish()


class FaqTopicsHandler(StaffHandler):
    """All FAQ topics (built-in, edited, staff-added, disabled); add a topic."""

    openapi = {
        "get": {"summary": "常见问题列表（含内置、已修改、已停用）", "tags": TAGS},
        "post": {
            "summary": "新增常见问题（市级管理员）；各服务进程一分钟内生效",
            "tags": TAGS,
            "requestBody": _body("FaqTopic"),
            "responses": {
                "201": _ok("FaqTopic"),
                "409": {"description": "编号已存在"},
                "422": {"description": "内容不符合要求"},
            },
        },
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(FaqAdmin).topics())

    async def post(self) -> None:
        self.write_json(await self.services.get(FaqAdmin).create(self.staff, self.json_body()), status=201)


class FaqTopicHandler(StaffHandler):
    """One FAQ topic: read, edit, disable or re-enable."""

    openapi = {
        "get": {
            "summary": "常见问题详情",
            "tags": TAGS,
            "responses": {"200": _ok("FaqTopic"), "404": {"description": "不存在"}},
        },
        "patch": {
            "summary": "修改、停用（disabled: true）或恢复常见问题（市级管理员）",
            "tags": TAGS,
            "requestBody": _body("FaqTopic"),
            "responses": {
                "200": _ok("FaqTopic"),
                "404": {"description": "不存在"},
                "422": {"description": "内容不符合要求"},
            },
        },
    }

    async def get(self, topic_id: str) -> None:
        self.write_json(await self.services.get(FaqAdmin).topic(topic_id))

    async def patch(self, topic_id: str) -> None:
        self.write_json(await self.services.get(FaqAdmin).update(self.staff, topic_id, self.json_body()))


class FaqMissGroupsHandler(StaffHandler):
    """Unanswered questions grouped by similarity, most asked groups first."""

    openapi = {
        "get": {
            "summary": "未能回答的问题（按相似度分组，按提问次数排序；取提问最多的前2000个问题分组）",
            "tags": TAGS,
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20},
                },
                {
                    "name": "offset",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0},
                },
            ],
            "responses": {"200": _ok("FaqMissGroupPage")},
        }
    }

    async def get(self) -> None:
        limit = int_argument(self, "limit", 20, 1, 200)
        offset = int_argument(self, "offset", 0, 0, 1_000_000)
        self.write_json(await self.services.get(FaqAdmin).miss_groups(limit, offset))


class FaqMissGroupResolveHandler(StaffHandler):
    """Deal with a group of unanswered questions: add to a topic or create one; the group is forgotten."""

    openapi = {
        "post": {
            "summary": "处理一组未回答问题：加入已有话题或新建话题，成功后删除该组问题（市级管理员）",
            "tags": TAGS,
            "requestBody": _body("FaqMissGroupResolve"),
            "responses": {
                "200": _ok("FaqMissGroupResolved"),
                "403": {"description": "不是市级管理员"},
                "404": {"description": "没有这组问题（可能已处理）"},
                "409": {"description": "该组已变化、话题已停用或编号已存在"},
                "422": {"description": "内容不符合要求"},
            },
        }
    }

    async def post(self, group_id: str) -> None:
        result = await self.services.get(FaqAdmin).resolve_group(self.staff, group_id, self.json_body())
        self.write_json(result)


default_handlers = [
    (r"/admin/api/faq/misses", FaqMissesHandler),
    (r"/admin/api/faq/misses/(?P<miss_id>[0-9a-f]{20})", FaqMissHandler),
    (r"/admin/api/faq/miss-groups", FaqMissGroupsHandler),
    (rf"/admin/api/faq/miss-groups/{GROUP_ID}/resolve", FaqMissGroupResolveHandler),
    (r"/admin/api/faq/topics", FaqTopicsHandler),
    (rf"/admin/api/faq/topics/{TOPIC_ID}", FaqTopicHandler),
]
