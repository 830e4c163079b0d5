"""Documents of the caller's record: upload (multipart, streamed), list, download."""

from __future__ import annotations

import tornado.httputil
import tornado.web
from tornado.ioloop import IOLoop

from handlers.openapi import multipart_file_body, register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from server.documents import DOCUMENT_KINDS, DocumentService
from server.documents.service import check_kind
from server.documents.sniff import EXTENSIONS
from server.errors import BadRequest

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and small form fields around the file
KIND = r"(?P<kind>[a-z_]{1,40})"

register_schema(
    "DocumentKind",
    {
        "type": "string",
        "enum": list(DOCUMENT_KINDS),
        "x-enum-labels": DOCUMENT_KINDS,
        "description": "；".join(f"{k}：{v}" for k, v in DOCUMENT_KINDS.items()),
    },
)
register_schema(
    "Document",
    {
        "type": "object",
        "properties": {
            "kind": {
                "type": "string",
                "description": "材料类型（DocumentKind），或条目的证明材料“类型_条目id”（如 diploma_abcdefgh）",
            },
            "label": {"type": "string"},
            "content_type": {"type": "string", "enum": ["image/jpeg", "image/png", "application/pdf"]},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "uploaded_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string"},
            "page_count": {"type": "integer", "description": "文件数：第一个文件加追加的页面（PDF 按一个文件计）"},
            "pages": {
                "type": "array",
                "description": "追加的页面（第2页起）",
                "items": {"$ref": "#/components/schemas/DocumentPage"},
            },
            "handoff": {
                "allOf": [{"$ref": "#/components/schemas/HandoffImage"}],
                "nullable": True,
                "description": "上报图片（尚未生成时为 null）",
            },
        },
    },
)
register_schema(
    "DocumentPage",
    {
        "type": "object",
        "description": "材料中追加的一页（图片）",
        "properties": {
            "id": {"type": "string"},
            "number": {"type": "integer", "description": "页码（从2开始）"},
            "content_type": {"type": "string", "enum": ["image/jpeg", "image/png"]},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "uploaded_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string"},
        },
    },
)
register_schema(
    "DocumentList",
    {
        "type": "object",
        "properties": {
            "documents": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}},
            "required": {"type": "array", "items": {"type": "string"}, "description": "材料类型或条目证明的键"},
            "missing": {"type": "array", "items": {"type": "string"}},
        },
    },
)
_ERR = json_schema_ref("Error")


@tornado.web.stream_request_body
class UploadHandler(UserHandler):
    """Upload one document (the file in multipart field `file`, as wx.uploadFile sends it)."""

    openapi = {
        "post": {
            "summary": "上传材料（multipart/form-data，文件字段名 file；仅 JPG/PNG/PDF，按内容识别类型；图片去除元数据）",
            "tags": ["mini-program"],
            "parameters": [
                {
                    "name": "entry",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "学历（diploma）、资格证书（qualification_certificate）、工作证明（work_proof）"
                    "所属条目的id：材料保存为该条目的证明（键为“类型_条目id”）",
                },
            ],
            "requestBody": multipart_file_body(),
            "responses": {
                "201": {"description": "已保存（同类材料旧文件被替换并删除）", "content": json_schema_ref("Document")},
                "400": {
                    "description": "空文件、缺少 file 字段或不是 multipart（empty_file / file_missing / "
                    "not_multipart）",
                    "content": _ERR,
                },
                **UNAUTHORIZED,
                "404": {"description": "未知的材料类型", "content": _ERR},
                "409": {"description": "已提交或已审核通过，不能修改", "content": _ERR},
                "413": {"description": "超过大小限制（file_too_large）", "content": _ERR},
                "415": {"description": "不是 JPG/PNG/PDF（unsupported_file_type）", "content": _ERR},
                "422": {
                    "description": "entry 不是本人记录中的条目（unknown_entry）、文件损坏（file_corrupt）、像素过多（image_too_many_pixels）、PDF 加密、含脚本/链接/附件等活动内容、文件头前有内容（pdf_content_before_header）或过于复杂（pdf_too_complex）",
                    "content": _ERR,
                },
            },
        }
    }

    async def prepare(self) -> None:
        """Authenticate, then refuse an announced oversize body before reading it."""
        await super().prepare()
        self.received = bytearray()
        self.limit = self.services.settings.upload_max_bytes + MULTIPART_OVERHEAD
        length = self.request.headers.get("Content-Length")
        if length is not None and not length.strip().isdigit():
            raise BadRequest("请求长度信息不正确", "invalid_content_length")
        if length is not None and int(length) > self.limit:
            raise self.services.get(DocumentService).too_large()

    def data_received(self, chunk: bytes) -> None:
        """Buffer the body, answering 413 as soon as it exceeds the limit."""
        if self._finished:
            return
        if len(self.received) + len(chunk) > self.limit:
            self.received = bytearray()
            exc = self.services.get(DocumentService).too_large()
            self.send_error(413, exc_info=(type(exc), exc, None))
            return
        self.received += chunk

    async def post(self, kind: str) -> None:
        if self._finished:
            return
        check_kind(kind)  # an unknown kind is 404 whatever the body holds
        data = await self._file()
        entry = self.get_query_argument("entry", None)  # an entry's proof (educations / qualifications / work_history)
        self.write_json(await self.services.get(DocumentService).upload(self.user, kind, data, entry), status=201)

    async def _file(self) -> bytes:
        """The bytes of the multipart field `file` (parsed off the IOLoop: ~50 ms for 10 MB)."""
        ctype = self.request.headers.get("Content-Type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise BadRequest("请以 multipart/form-data 上传文件，文件字段名为 file", "not_multipart")
        received, self.received = self.received, bytearray()
        data = await IOLoop.current().run_in_executor(None, _multipart_file, ctype, received)
        if data is None:
            raise BadRequest("未收到文件，请在字段 file 中上传", "file_missing")
        return data


class SlotUploadHandler(UploadHandler):
    """Stage one file for a later application (multipart field `file`, query `slot`): the
    subclass names its service, whose `stage_file(user, slot, data)` keeps it."""

    service: type

    @staticmethod
    def slot_openapi(what: str, slots: dict[str, str], saved: str) -> dict:
        """The operation of a slot upload: `what` is uploaded, `slots` {code: label}."""
        listed = "、".join(f"{k}（{v}）" for k, v in slots.items())
        return {
            "post": {
                "summary": f"上传{what}（multipart/form-data，文件字段名 file；查询参数 slot：{listed}；JPG/PNG/PDF）",
                "tags": ["mini-program"],
                "parameters": [
                    {"name": "slot", "in": "query", "required": True, "schema": {"type": "string", "enum": list(slots)}}
                ],
                "requestBody": multipart_file_body(),
                "responses": {
                    "201": {"description": saved, "content": json_schema_ref("StagedFile")},
                    **UNAUTHORIZED,
                    "413": {"description": "超过大小限制", "content": _ERR},
                    "415": {"description": "不是 JPG/PNG/PDF", "content": _ERR},
                    "422": {"description": "slot 不正确（invalid_slot）或文件损坏", "content": _ERR},
                },
            }
        }

    async def post(self) -> None:  # type: ignore[override]
        if self._finished:
            return
        data = await self._file()
        slot = self.get_query_argument("slot", None)
        self.write_json(await self.services.get(self.service).stage_file(self.user, slot, data), status=201)


def _multipart_file(content_type: str, body: bytearray) -> bytes | None:
    """The first part named `file` of a multipart body, or None."""
    args: dict = {}
    files: dict = {}
    try:
        tornado.httputil.parse_body_arguments(content_type, bytes(body), args, files)
    except tornado.httputil.HTTPInputError:
        raise BadRequest("上传内容不是有效的 multipart/form-data", "malformed_multipart") from None
    parts = files.get("file")
    return parts[0]["body"] if parts else None


class DocumentListHandler(UserHandler):
    """The caller's documents."""

    openapi = {
        "get": {
            "summary": "本人已上传的材料及仍需上传的材料",
            "tags": ["mini-program"],
            "responses": {"200": {"description": "成功", "content": json_schema_ref("DocumentList")}, **UNAUTHORIZED},
        }
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(DocumentService).list(self.user))


class DocumentFileHandler(UserHandler):
    """Stream one of the caller's own documents."""

    openapi = {
        "get": {
            "summary": "下载本人的某类材料（只能读取自己的）",
            "tags": ["mini-program"],
            "responses": {
                "200": {
                    "description": "文件内容",
                    "content": {"image/jpeg": {}, "image/png": {}, "application/pdf": {}},
                },
                **UNAUTHORIZED,
                "404": {"description": "未上传或不存在", "content": _ERR},
            },
        }
    }

    async def get(self, kind: str) -> None:
        entry, chunks = await self.services.get(DocumentService).open(self.user, kind)
        ext = EXTENSIONS.get(entry["content_type"], "bin")
        await self.stream_file(entry["content_type"], entry["size"], f"{kind}.{ext}", chunks)


default_handlers = [
    (r"/api/v1/me/documents", DocumentListHandler),
    (rf"/api/v1/me/documents/{KIND}", UploadHandler),
    (rf"/api/v1/me/documents/{KIND}/file", DocumentFileHandler),
]
