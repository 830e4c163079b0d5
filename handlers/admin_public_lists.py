"""Staff publish the public lists of people not yet collected (server/publicquery.py):
`GET`/`POST /admin/api/public-lists`, `GET`/`DELETE /admin/api/public-lists/{region}`.

City administrators publish for any district, reviewers for their own (403 `region_forbidden`
otherwise). Publishing answers 202 at once: the list is computed by a job; `state` goes from
`building` to `published` (or `failed`). The public reads it at `GET /api/v1/public/not-collected`.
"""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from handlers.openapi import json_schema_ref, register_schema
from server.publicquery import TITLE_MAX, PublicQuery

TAGS = ["admin", "public"]


_ERR = json_schema_ref("Error")
REGION = r"(?P<region>[0-9]{6})"

register_schema(
    "PublicListPublication",
    {
        "type": "object",
        "properties": {
            "region_code": {"type": "string"},
            "region_name": {"type": "string"},
            "title": {"type": "string"},
            "state": {
                "type": "string",
                "enum": ["building", "published", "failed"],
                "description": "building：正在生成（已发布的旧名单仍对外提供）；published：已发布；failed：生成失败",
            },
            "published": {"type": "boolean", "description": "公众现在能否查到该区名单"},
            "total": {"type": "integer", "description": "已发布名单的人数"},
            "scanned": {"type": "integer", "description": "本次生成已读取的原登记人数"},
            "requested_by": {"type": "string", "nullable": True},
            "requested_at": {"type": "string", "format": "date-time", "nullable": True},
            "published_by": {"type": "string", "nullable": True},
            "published_at": {"type": "string", "format": "date-time", "nullable": True},
            "error": {"type": "string", "nullable": True},
        },
    },
)
register_schema(
    "PublicListRequest",
    {
        "type": "object",
        "required": ["region_code"],
        "properties": {
            "region_code": {"$ref": "#/components/schemas/RecordDistricts"},
            "title": {
                "type": "string",
                "maxLength": TITLE_MAX,
                "nullable": True,
                "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$",
                "description": "名单标题；不填（或 null、空白）则为“某某区未完成会计人员信息采集人员名单”",
            },
        },
    },
)
_ONE = {"description": "成功", "content": json_schema_ref("PublicListPublication")}
_FORBIDDEN = {"description": "不是本人所辖区（region_forbidden）", "content": _ERR}
_NOT_FOUND = {"description": "该区没有发布名单（public_list_not_found）", "content": _ERR}


class PublicListsHandler(StaffHandler):
    """The caller's districts' publications; publish (or republish) one."""

    openapi = {
        "get": {
            "summary": "本人所辖区已发布的未完成采集人员名单",
            "tags": TAGS,
            "responses": {
                "200": {
                    "description": "成功",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "items": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/PublicListPublication"},
                                    }
                                },
                            }
                        }
                    },
                }
            },
        },
        "post": {
            "summary": "发布（或重新生成）某区未完成采集人员名单：名单由后台任务生成，生成期间旧名单仍对外提供",
            "tags": TAGS,
            "requestBody": {"required": True, "content": json_schema_ref("PublicListRequest")},
            "responses": {
                "202": {"description": "已开始生成", "content": json_schema_ref("PublicListPublication")},
                "400": {"description": "请求体不是 JSON 对象", "content": _ERR},
                "403": _FORBIDDEN,
                "422": {"description": "区或标题不正确（validation_failed）", "content": _ERR},
            },
        },
    }

    async def get(self) -> None:
        self.write_json({"items": await self.services.get(PublicQuery).publications(self.staff)})

    async def post(self) -> None:
        body = self.json_body()
        service = self.services.get(PublicQuery)
        self.write_json(await service.publish(self.staff, body.get("region_code"), body.get("title")), status=202)


class PublicListHandler(StaffHandler):
    """One district's publication; withdraw it."""

    openapi = {
        "get": {
            "summary": "某区名单的发布状态（生成进度、人数）",
            "tags": TAGS,
            "responses": {"200": _ONE, "404": _NOT_FOUND},
        },
        "delete": {
            "summary": "撤回某区名单（公众随即查不到）",
            "tags": TAGS,
            "responses": {
                "204": {"description": "已撤回"},
                "403": _FORBIDDEN,
                "404": _NOT_FOUND,
                "422": {"description": "不是本市的区（validation_failed）", "content": _ERR},
            },
        },
    }

    async def get(self, region: str) -> None:
        self.write_json(await self.services.get(PublicQuery).publication(self.staff, region))

    async def delete(self, region: str) -> None:
        await self.services.get(PublicQuery).unpublish(self.staff, region)
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/admin/api/public-lists", PublicListsHandler),
    (rf"/admin/api/public-lists/{REGION}", PublicListHandler),
]
