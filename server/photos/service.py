"""The caller's ID photo: process an upload off the IOLoop, store the JPEG, serve it back.

    svc = services.get(PhotoService)
    view = await svc.upload(user, data)          # 201 body; raises domain errors
    entry, chunks = await svc.open(user)         # the stored JPEG of the caller

Decoding, analysis and encoding (`server.photos.process_photo`) run in a thread pool of
`settings.photo_workers` threads. At most `photo_workers + photo_queue` jobs may be
running or waiting at once; one more is refused at once with `Busy` (503 + Retry-After)
instead of piling up memory and latency. The original upload is never stored: only its
sha256 (`record.photo.sha256_original`) and the check results are kept.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.errors import AppError, BadRequest, Invalid, NotFound, TooLarge, UnsupportedMedia
from server.photos import PhotoRejected, PhotoResult, PhotoSpec, process_photo
from server.pool import BoundedPool
from server.records.store import RecordStore, require_editable
from settings import Settings

log = logging.getLogger("kjcj.photos")

PHOTO_URL = "/api/v1/me/photo"
CONTENT_TYPE = "image/jpeg"
FIRST_JOB_ESTIMATE = 1.0  # seconds per photo assumed before any has been measured


def spec_from_settings(settings: Settings) -> PhotoSpec:
    """The deployment's photo requirements (PHOTO_* settings); ValueError when inconsistent."""
    backgrounds = tuple(b.strip().lower() for b in settings.photo_backgrounds.split(",") if b.strip())
    return PhotoSpec(
        width_px=settings.photo_width_px,
        height_px=settings.photo_height_px,
        dpi=settings.photo_dpi,
        min_kb=settings.photo_min_kb,
        max_kb=settings.photo_max_kb,
        backgrounds=backgrounds,
        min_source_width=settings.photo_min_source_width,
        min_source_height=settings.photo_min_source_height,
        max_bytes=settings.upload_max_bytes,
    )


class PhotoChecksFailed(Invalid):
    """422: the photo was analysed and at least one check failed; `checks` lists them all."""

    code = "photo_check_failed"
    message = "照片不符合要求，请按提示重新拍摄"

    def __init__(self, checks: list[dict], message: str | None = None, code: str | None = None):
        fields = [
            {"field": "photo", "code": c["check"], "message": c["message"]} for c in checks if c.get("result") == "fail"
        ]
        super().__init__(fields, message, code)
        self.extra["checks"] = checks


def refusal(rejected: PhotoRejected) -> AppError:
    """The domain error for a file that is not a usable image (nothing was analysed)."""
    checks = [rejected.as_check()]
    error = _REFUSALS.get(rejected.http_status)  # the status the pipeline's code table suggests
    if error is None:  # 422: corrupt_image and any new code
        return PhotoChecksFailed(checks, rejected.message, rejected.code)
    return error(rejected.message, rejected.code, checks=checks)


_REFUSALS: dict[int, type[AppError]] = {400: BadRequest, 413: TooLarge, 415: UnsupportedMedia}


def photo_view(entry: dict) -> dict:
    """What the mini-program sees of the stored photo."""
    return {
        "url": PHOTO_URL,
        "content_type": entry.get("content_type", CONTENT_TYPE),
        "width": entry.get("width"),
        "height": entry.get("height"),
        "size": entry.get("size"),
        "sha256": entry.get("sha256"),
        "sha256_original": entry.get("sha256_original"),
        "checks": entry.get("checks") or [],
        "uploaded_at": entry.get("uploaded_at"),
    }


class PhotoService:
    """Upload (checked, fixed, stored) and read the caller's ID photo."""

    def __init__(self, services):
        self.services = services
        settings = services.settings
        self.spec = spec_from_settings(settings)
        self.store = services.get(RecordStore)
        self.files = services.files
        self.pool = BoundedPool(
            settings.photo_workers,
            settings.photo_queue,
            "photos",
            "当前上传照片的人较多，请稍后重试",
            "photo_busy",
            FIRST_JOB_ESTIMATE,
        )

    async def close(self) -> None:
        """Stop the worker threads."""
        self.pool.close()

    async def process(self, data: bytes) -> PhotoResult:
        """Run the pipeline in a worker; PhotoRejected becomes its 4xx domain error."""
        try:
            return await self.pool.run(process_photo, data, self.spec)
        except PhotoRejected as rejected:
            raise refusal(rejected) from None

    async def upload(self, user: SessionUser, data: bytes) -> dict:
        """Check and fix `data`, store the finished JPEG as the record's photo, delete the old one.

        Raises Conflict (409) for a submitted/approved record, Busy (503) when the pool is
        full, a 4xx for an unusable file and PhotoChecksFailed (422) when a check fails;
        nothing is stored in those cases.
        """
        doc = await self.store.load(user.record_id, user.openid)
        require_editable(doc)  # before spending CPU on it
        result = await self.process(data)
        if not result.ok or result.jpeg is None:
            log.info("photo refused", extra={"fields": {"record_id": str(doc["_id"]), "failed": result.failed}})
            raise PhotoChecksFailed(result.checks, result.message or None)
        info = await self.files.put(
            result.jpeg, "photo.jpg", CONTENT_TYPE, metadata={"record_id": doc["_id"], "kind": "photo"}
        )
        entry = {
            **info,
            "sha256_original": result.sha256_original,
            "width": result.width,
            "height": result.height,
            "checks": result.checks,
            "uploaded_at": utcnow(),
        }
        await self.store.attach_file(doc, "photo", None, entry)
        log.info(
            "photo stored",
            extra={"fields": {"record_id": str(doc["_id"]), "size": info["size"], "quality": result.quality}},
        )
        return photo_view(entry)

    async def open(self, user: SessionUser) -> tuple[dict, AsyncIterator[bytes]]:
        """(photo entry, chunk iterator) of the caller's own photo, or NotFound."""
        doc = await self.store.load(user.record_id, user.openid)
        entry = doc.get("photo")
        if not entry or not entry.get("file_id"):
            raise NotFound("尚未上传证件照", "photo_not_found")
        info, chunks = await self.files.open(entry["file_id"])  # NotFound before any byte is sent
        return {
            **entry,
            "size": info["size"],
            "content_type": entry.get("content_type") or info["content_type"],
        }, chunks
