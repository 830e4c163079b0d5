"""A record's document for staff: its pages, and the hand-off image for the national platform."""

from __future__ import annotations

from handlers.admin_base import StaffHandler
from server.documents.handoff import HandoffService

TAGS = ["admin"]
RID = r"(?P<record_id>[0-9a-f]{24})"
KEY = r"(?P<kind>[a-z_]{1,60})"
PAGE = r"(?P<page_id>[0-9a-f]{8})"
_NOT_FOUND = {"404": {"description": "记录不存在或不在本人辖区，或材料、页面不存在"}}


class StaffDocumentHandler(StaffHandler):
    """One document of a record: its first file, added pages and hand-off image."""

    openapi = {
        "get": {
            "summary": "查看记录的一份材料：第一个文件、追加的页面与上报图片",
            "tags": TAGS,
            "responses": {"200": {"description": "成功"}, **_NOT_FOUND},
        }
    }

    async def get(self, record_id: str, kind: str) -> None:
        self.write_json(await self.services.get(HandoffService).staff_view(self.staff, record_id, kind))


class StaffHandoffHandler(StaffHandler):
    """Make (or read) the hand-off image of a document of a record in the caller's districts."""

    openapi = {
        "post": {
            "summary": "生成材料的上报图片（全部页面合成一张 20–500 KB 的 JPEG；原文件保留）",
            "tags": TAGS,
            "responses": {
                "200": {"description": "已生成过（材料未变），返回原图片"},
                "201": {"description": "已生成"},
                **_NOT_FOUND,
                "409": {"description": "生成期间材料有变动（document_changed）"},
                "422": {"description": "页数过多、页面比例异常或像素过多、内容过少或无法压缩到规定大小"},
                "503": {"description": "生成人数较多（handoff_busy）"},
            },
        }
    }

    async def post(self, record_id: str, kind: str) -> None:
        view, made = await self.services.get(HandoffService).for_staff(self.staff, record_id, kind)
        self.write_json(view, status=201 if made else 200)


class StaffHandoffFileHandler(StaffHandler):
    """Stream the hand-off image of a document."""

    openapi = {
        "get": {
            "summary": "查看材料的上报图片",
            "tags": TAGS,
            "responses": {"200": {"description": "JPEG 图片", "content": {"image/jpeg": {}}}, **_NOT_FOUND},
        }
    }

    async def get(self, record_id: str, kind: str) -> None:
        handoff, chunks = await self.services.get(HandoffService).open_for_staff(self.staff, record_id, kind)
        await self.stream_file("image/jpeg", handoff["size"], f"{record_id}-{kind}-handoff.jpg", chunks)


class StaffPageFileHandler(StaffHandler):
    """Stream a page added to a document (an original, for the reviewer)."""

    openapi = {
        "get": {
            "summary": "查看材料中追加的一页（原文件）",
            "tags": TAGS,
            "responses": {"200": {"description": "图片", "content": {"image/jpeg": {}, "image/png": {}}}, **_NOT_FOUND},
        }
    }

    async def get(self, record_id: str, kind: str, page_id: str) -> None:
        page, chunks = await self.services.get(HandoffService).open_page_for_staff(self.staff, record_id, kind, page_id)
        ext = "png" if page["content_type"] == "image/png" else "jpg"
        await self.stream_file(page["content_type"], page["size"], f"{record_id}-{kind}-{page_id}.{ext}", chunks)


default_handlers = [
    (rf"/admin/api/records/{RID}/documents/{KEY}", StaffDocumentHandler),
    (rf"/admin/api/records/{RID}/documents/{KEY}/handoff", StaffHandoffHandler),
    (rf"/admin/api/records/{RID}/documents/{KEY}/handoff/file", StaffHandoffFileHandler),
    (rf"/admin/api/records/{RID}/documents/{KEY}/pages/{PAGE}/file", StaffPageFileHandler),
]
