"""Pages added to the caller's documents, and each document's hand-off image for the national platform.

The page upload is streamed and size-limited like the documents upload (`UploadHandler`).
"""

from __future__ import annotations

import tornado.web

from handlers.openapi import multipart_file_body, register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from miniprogram_api.documents import UploadHandler
from server.documents.handoff import HandoffService
from server.documents.pages import PageService

KEY = r"(?P<kind>[a-z_]{1,60})"
PAGE = r"(?P<page_id>[0-9a-f]{8})"
TAGS = ["mini-program"]
_ERR = json_schema_ref("Error")

register_schema(
    "HandoffImage",
    {
        "type": "object",
        "description": "材料的上报图片（多页合成的一张 JPEG，大小在规定范围内，不含拍摄信息等元数据）",
        "properties": {
            "content_type": {"type": "string", "enum": ["image/jpeg"]},
            "size": {"type": "integer", "description": "字节数"},
            "sha256": {"type": "string"},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "pages": {"type": "integer", "description": "合成的页数"},
            "quality": {"type": "integer", "description": "JPEG 质量"},
            "upscaled": {"type": "boolean", "description": "原图过小，已放大以达到最小文件大小"},
            "made_at": {"type": "string", "format": "date-time"},
            "made_by": {"type": "string", "description": "applicant 本人；staff:<用户名> 工作人员"},
            "url": {"type": "string"},
        },
    },
)
register_schema(
    "DocumentPages",
    {
        "type": "object",
        "description": "一份材料：第一页（上传的文件）、追加的页面与上报图片",
        "properties": {
            "kind": {"type": "string"},
            "label": {"type": "string"},
            "content_type": {"type": "string", "enum": ["image/jpeg", "image/png", "application/pdf"]},
            "size": {"type": "integer"},
            "url": {"type": "string"},
            "page_count": {"type": "integer", "description": "文件数：第一个文件加追加的页面（PDF 按一个文件计）"},
            "pages": {"type": "array", "items": {"$ref": "#/components/schemas/DocumentPage"}},
            "handoff": {"allOf": [{"$ref": "#/components/schemas/HandoffImage"}], "nullable": True},
        },
    },
)
_NOT_FOUND = {
    "404": {"description": "尚未上传该材料（document_not_found）或该页不存在（page_not_found）", "content": _ERR}
}
_FILE: dict = {"image/jpeg": {}, "image/png": {}}


@tornado.web.stream_request_body
class PageUploadHandler(UploadHandler):
    """Add a page (an image) to one of the caller's documents."""

    openapi = {
        "post": {
            "summary": "为已上传的材料追加一页（multipart/form-data，文件字段名 file；仅 JPG/PNG 图片，去除元数据）",
            "tags": TAGS,
            "requestBody": multipart_file_body(),
            "responses": {
                "201": {
                    "description": "已追加（该材料已生成的上报图片随之删除）",
                    "content": json_schema_ref("DocumentPages"),
                },
                "400": {"description": "空文件、缺少 file 字段或不是 multipart", "content": _ERR},
                **UNAUTHORIZED,
                **_NOT_FOUND,
                "409": {"description": "已提交或已审核通过，不能修改", "content": _ERR},
                "413": {"description": "超过大小限制（file_too_large）", "content": _ERR},
                "415": {"description": "不是 JPG/PNG 图片（unsupported_file_type / page_not_image）", "content": _ERR},
                "422": {
                    "description": "页数已满（too_many_pages）、长宽比例异常（page_shape）、文件损坏或像素过多",
                    "content": _ERR,
                },
                "503": {"description": "上传人数较多（upload_busy）", "content": _ERR},
            },
        }
    }

    async def post(self, kind: str) -> None:
        if self._finished:
            return
        data = await self._file()
        self.write_json(await self.services.get(PageService).add(self.user, kind, data), status=201)


class PageHandler(UserHandler):
    """Remove a page added to one of the caller's documents."""

    openapi = {
        "delete": {
            "summary": "删除材料中追加的一页（第一页不能删除，可重新上传整份材料）",
            "tags": TAGS,
            "responses": {
                "200": {"description": "已删除，返回该材料", "content": json_schema_ref("DocumentPages")},
                **UNAUTHORIZED,
                **_NOT_FOUND,
                "409": {"description": "已提交或已审核通过，不能修改", "content": _ERR},
            },
        }
    }

    async def delete(self, kind: str, page_id: str) -> None:
        self.write_json(await self.services.get(PageService).remove(self.user, kind, page_id))


class PageFileHandler(UserHandler):
    """Stream a page added to one of the caller's documents."""

    openapi = {
        "get": {
            "summary": "读取本人材料中追加的一页",
            "tags": TAGS,
            "responses": {"200": {"description": "图片", "content": _FILE}, **UNAUTHORIZED, **_NOT_FOUND},
        }
    }

    async def get(self, kind: str, page_id: str) -> None:
        page, chunks = await self.services.get(PageService).open(self.user, kind, page_id)
        ext = "png" if page["content_type"] == "image/png" else "jpg"
        await self.stream_file(page["content_type"], page["size"], f"{kind}-{page_id}.{ext}", chunks)


class HandoffHandler(UserHandler):
    """Make (or read) the hand-off image of one of the caller's documents."""

    openapi = {
        "post": {
            "summary": "生成材料的上报图片：全部页面（多页 PDF 或多张图片）合成一张符合全国平台要求的 JPEG"
            "（20–500 KB，去除元数据）；原文件保留供审核",
            "tags": TAGS,
            "responses": {
                "200": {"description": "已生成过（材料未变），返回原图片", "content": json_schema_ref("HandoffImage")},
                "201": {"description": "已生成", "content": json_schema_ref("HandoffImage")},
                **UNAUTHORIZED,
                "404": {"description": "尚未上传该材料（document_not_found）", "content": _ERR},
                "409": {"description": "生成期间材料有变动（document_changed），请重试", "content": _ERR},
                "422": {
                    "description": "页数过多（handoff_too_many_pages）、某页比例异常（handoff_page_shape）或像素过多"
                    "（handoff_page_too_large）、内容过少无法达到最小大小（handoff_too_small）、无法压缩到规定大小"
                    "（handoff_cannot_fit）、文件损坏（file_corrupt）；不保存任何内容",
                    "content": _ERR,
                },
                "503": {"description": "生成人数较多（handoff_busy），请按 Retry-After 重试", "content": _ERR},
            },
        }
    }

    async def post(self, kind: str) -> None:
        view, made = await self.services.get(HandoffService).for_person(self.user, kind)
        self.write_json(view, status=201 if made else 200)


class HandoffFileHandler(UserHandler):
    """Stream the hand-off image of one of the caller's documents."""

    openapi = {
        "get": {
            "summary": "读取本人材料的上报图片",
            "tags": TAGS,
            "responses": {
                "200": {"description": "JPEG 图片", "content": {"image/jpeg": {}}},
                **UNAUTHORIZED,
                "404": {"description": "尚未上传该材料或尚未生成（handoff_not_found）", "content": _ERR},
            },
        }
    }

    async def get(self, kind: str) -> None:
        handoff, chunks = await self.services.get(HandoffService).open_for_person(self.user, kind)
        await self.stream_file("image/jpeg", handoff["size"], f"{kind}-handoff.jpg", chunks)


class HandoffRulesHandler(UserHandler):
    """The national platform's rule for each document kind."""

    openapi = {
        "get": {
            "summary": "各类材料上报全国平台的要求（格式、大小、多页合成一张）",
            "tags": TAGS,
            "responses": {"200": {"description": "成功"}, **UNAUTHORIZED},
        }
    }

    async def get(self) -> None:
        self.write_json(self.services.get(HandoffService).rules())


default_handlers = [
    (r"/api/v1/handoff-rules", HandoffRulesHandler),
    (rf"/api/v1/me/documents/{KEY}/pages", PageUploadHandler),
    (rf"/api/v1/me/documents/{KEY}/pages/{PAGE}", PageHandler),
    (rf"/api/v1/me/documents/{KEY}/pages/{PAGE}/file", PageFileHandler),
    (rf"/api/v1/me/documents/{KEY}/handoff", HandoffHandler),
    (rf"/api/v1/me/documents/{KEY}/handoff/file", HandoffFileHandler),
]
