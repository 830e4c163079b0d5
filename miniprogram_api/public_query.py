"""The public query (公众查询, no login; server/publicquery.py), both limited per client address:

- `GET /api/v1/public/collection-status?name=&id_number=` (or `POST` with the same fields as JSON,
  recommended: query strings end up in proxies' logs): completed / in review / not completed;
- `GET /api/v1/public/not-collected?region=&page=&page_size=`: a page of a district's published
  list of the legacy register's people not yet collected, names and ID numbers masked.
"""

from __future__ import annotations

from handlers.base import PublicHandler, int_argument
from handlers.openapi import register_schema
from miniprogram_api.base import json_schema_ref
from server.publicquery import MAX_PAGE_SIZE, PAGE_SIZE, PublicQuery

TAGS = ["public"]
_ERR = json_schema_ref("Error")
_TOO_MANY = {"description": "查询过于频繁（too_many_requests；Retry-After 给出等待秒数）", "content": _ERR}

register_schema(
    "PublicCollectionStatus",
    {
        "type": "object",
        "required": ["status", "label", "message"],
        "description": "只回答是否完成采集，不含任何个人信息。姓名与证件号码不一致时与未登记时的回答完全相同。",
        "properties": {
            "status": {
                "type": "string",
                "enum": ["completed", "in_review", "not_completed"],
                "description": "completed：已完成（档案已建立）；in_review：已提交，审核中；"
                "not_completed：未完成（未登记、填写中、已退回，或姓名与证件号码不一致）",
            },
            "label": {"type": "string"},
            "message": {"type": "string"},
        },
    },
)
register_schema(
    "PublicCollectionQuery",
    {
        "type": "object",
        "required": ["name", "id_number"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 64, "description": "姓名（繁体亦可）"},
            "id_number": {
                "type": "string",
                "minLength": 1,
                "maxLength": 40,
                "description": "完整证件号码：居民身份证、港澳台居民居住证（18位），或护照号码",
            },
        },
    },
)
register_schema(
    "PublicNotCollectedPage",
    {
        "type": "object",
        "required": ["region_code", "title", "total", "page", "page_size", "pages", "items"],
        "properties": {
            "region_code": {"type": "string"},
            "region_name": {"type": "string"},
            "title": {"type": "string"},
            "published_at": {
                "type": "string",
                "format": "date-time",
                "nullable": True,
                "description": "名单生成时间：之后完成采集的人员仍在名单上，直至重新发布",
            },
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "pages": {"type": "integer"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name_masked", "id_masked"],
                    "properties": {
                        "name_masked": {"type": "string", "description": "部分隐藏的姓名，如 王*明、王*、欧阳**"},
                        "id_masked": {"type": "string", "description": "部分隐藏的证件号码，如 350203********1234"},
                        "archive_no_old": {"type": "string", "description": "原会计人员档案号（原登记中有时）"},
                    },
                },
            },
        },
    },
)

_STATUS_RESPONSES = {
    "200": {"description": "查询结果（只有三种回答）", "content": json_schema_ref("PublicCollectionStatus")},
    "422": {"description": "缺少姓名或证件号码，或证件号码格式不正确（validation_failed）", "content": _ERR},
    "429": _TOO_MANY,
}


class CollectionStatusHandler(PublicHandler):
    """Completed / in review / not completed for a name and full ID number; nothing else."""

    openapi = {
        "get": {
            "summary": "查询某人是否已完成信息采集（姓名 + 完整证件号码），无需登录",
            "description": "只回答 已完成 / 审核中 / 未完成。查询参数会出现在代理服务器等的日志中，"
            "建议改用 POST（同样的字段放在 JSON 请求体中）。每个客户端地址每分钟限查 PUBLIC_QUERY_PER_MINUTE 次。",
            "tags": TAGS,
            "parameters": [
                {"name": "name", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 64}},
                {"name": "id_number", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 40}},
            ],
            "responses": _STATUS_RESPONSES,
        },
        "post": {
            "summary": "查询某人是否已完成信息采集（推荐：姓名和证件号码放在请求体中，不进入网址和日志），无需登录",
            "description": "与 GET 相同的回答与限制。",
            "tags": TAGS,
            "requestBody": {"required": True, "content": json_schema_ref("PublicCollectionQuery")},
            "responses": {
                **_STATUS_RESPONSES,
                "400": {"description": "请求体不是 JSON 对象（malformed_json / body_not_object）", "content": _ERR},
            },
        },
    }

    async def get(self) -> None:
        await self._answer(self.get_query_argument("name", None), self.get_query_argument("id_number", None))

    async def post(self) -> None:
        body = self.json_body()
        await self._answer(body.get("name"), body.get("id_number"))

    async def _answer(self, name: object, id_number: object) -> None:
        service = self.services.get(PublicQuery)
        self.write_json(await service.collection_status(name, id_number, self.request.remote_ip))


class NotCollectedHandler(PublicHandler):
    """A page of a district's published list of people not yet collected (masked)."""

    openapi = {
        "get": {
            "summary": "某区未完成信息采集人员名单（由区财政局发布；姓名、证件号码部分隐藏；分页），无需登录",
            "description": "每个客户端地址每分钟限查 PUBLIC_QUERY_PER_MINUTE 页。名单按姓名拼音排序。",
            "tags": TAGS,
            "parameters": [
                {
                    "name": "region",
                    "in": "query",
                    "required": True,
                    "schema": {"$ref": "#/components/schemas/RecordDistricts"},
                },
                {
                    "name": "page",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1},
                },
                {
                    "name": "page_size",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": PAGE_SIZE},
                },
            ],
            "responses": {
                "200": {
                    "description": "一页名单（超出末页时 items 为空）",
                    "content": json_schema_ref("PublicNotCollectedPage"),
                },
                "400": {"description": "缺少 region，或 page / page_size 不是范围内的整数", "content": _ERR},
                "404": {"description": "该区没有发布名单（public_list_not_found）", "content": _ERR},
                "429": _TOO_MANY,
            },
        }
    }

    async def get(self) -> None:
        region = self.get_query_argument("region")
        page = int_argument(self, "page", 1, 1, 100000)
        page_size = int_argument(self, "page_size", PAGE_SIZE, 1, MAX_PAGE_SIZE)
        service = self.services.get(PublicQuery)
        self.write_json(await service.page(region, page, page_size, self.request.remote_ip))


default_handlers = [
    (r"/api/v1/public/collection-status", CollectionStatusHandler),
    (r"/api/v1/public/not-collected", NotCollectedHandler),
]
