"""The caller's ID photo: upload (multipart, streamed, checked and fixed) and download.

The streamed, size-limited body handling is the documents upload's (`UploadHandler`):
an announced or actual body over the limit is answered 413 before it is buffered.
"""

from __future__ import annotations

import tornado.web

from handlers.openapi import multipart_file_body, register_schema
from miniprogram_api.base import UNAUTHORIZED, json_schema_ref
from miniprogram_api.documents import UploadHandler
from server.photos import CHECK_IDS
from server.photos.service import PhotoService

register_schema(
    "PhotoCheck",
    {
        "type": "object",
        "required": ["check", "result", "message"],
        "properties": {
            "check": {
                "type": "string",
                "enum": list(CHECK_IDS) + ["file_size"],
                "description": "file_type 格式；dimensions 分辨率；orientation 方向；face_count 人脸数量；"
                "head_position 头部位置与裁剪；exposure 亮度；background 背景；size_kb 文件大小；"
                "metadata 附加信息；file_size 上传文件大小",
            },
            "result": {
                "type": "string",
                "enum": ["pass", "fixed", "fail"],
                "description": "pass 符合要求；fixed 已自动修正；fail 不符合要求，需要重拍",
            },
            "message": {"type": "string", "description": "给用户看的一句中文说明"},
        },
    },
)
register_schema(
    "Photo",
    {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "读取照片的地址（GET /api/v1/me/photo）"},
            "content_type": {"type": "string", "enum": ["image/jpeg"]},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "size": {"type": "integer", "description": "字节数"},
            "sha256": {"type": "string", "description": "保存的 JPEG 的 SHA-256"},
            "sha256_original": {"type": "string", "description": "上传原图的 SHA-256（原图不保存）"},
            "checks": {"type": "array", "items": {"$ref": "#/components/schemas/PhotoCheck"}},
            "uploaded_at": {"type": "string", "format": "date-time"},
        },
    },
)
register_schema(
    "PhotoError",
    {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "array", "items": {"type": "object"}},
                    "checks": {"type": "array", "items": {"$ref": "#/components/schemas/PhotoCheck"}},
                },
            }
        },
    },
)
_ERR = json_schema_ref("Error")
_PHOTO_ERR = json_schema_ref("PhotoError")


@tornado.web.stream_request_body
class PhotoHandler(UploadHandler):
    """Upload (POST) or read (GET) the caller's ID photo."""

    openapi = {
        "post": {
            "summary": "上传证件照（multipart/form-data，文件字段名 file；JPG/PNG/HEIC）。自动转正、裁剪为规定尺寸、"
            "压缩到规定大小并去除拍摄信息；逐项检查结果在 checks 中。原图不保存，只保存其 SHA-256",
            "tags": ["mini-program"],
            "requestBody": multipart_file_body(),
            "responses": {
                "201": {"description": "已保存（旧照片被替换并删除）", "content": json_schema_ref("Photo")},
                "400": {
                    "description": "空文件、缺少 file 字段或不是 multipart（empty_file / file_missing / "
                    "not_multipart）",
                    "content": _PHOTO_ERR,
                },
                **UNAUTHORIZED,
                "409": {"description": "已提交或已审核通过，不能更换照片（record_locked）", "content": _ERR},
                "413": {"description": "文件或像素尺寸过大（file_too_large / image_too_large）", "content": _PHOTO_ERR},
                "415": {"description": "不是 JPG/PNG/HEIC（unsupported_file_type）", "content": _PHOTO_ERR},
                "422": {
                    "description": "文件损坏（corrupt_image），或有检查项不通过（photo_check_failed）："
                    "error.checks 列出全部检查结果，未保存任何内容",
                    "content": _PHOTO_ERR,
                },
                "503": {"description": "处理队列已满（photo_busy），请按 Retry-After 头的秒数后重试", "content": _ERR},
            },
        },
        "get": {
            "summary": "读取本人的证件照（处理后的 JPEG，只能读取自己的）",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "JPEG 图片", "content": {"image/jpeg": {}}},
                **UNAUTHORIZED,
                "404": {"description": "尚未上传（photo_not_found）", "content": _ERR},
            },
        },
    }

    async def post(self) -> None:  # type: ignore[override]
        if self._finished:  # already answered 413 while receiving
            return
        data = await self._file()
        self.write_json(await self.services.get(PhotoService).upload(self.user, data), status=201)

    async def get(self) -> None:
        entry, chunks = await self.services.get(PhotoService).open(self.user)
        await self.stream_file(entry["content_type"], entry["size"], "photo.jpg", chunks)


async def on_startup(services, background: bool) -> None:
    """Build the photo service now, so a bad PHOTO_* setting stops the start-up."""
    services.get(PhotoService)


default_handlers = [
    (r"/api/v1/me/photo", PhotoHandler),
]
