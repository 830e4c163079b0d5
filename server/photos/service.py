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

import asyncio
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.errors import AppError, BadRequest, Busy, Invalid, NotFound, TooLarge, UnsupportedMedia
from server.photos import PhotoRejected, PhotoResult, PhotoSpec, process_photo
from server.records.store import RecordStore, require_editable
from settings import Settings

log = logging.getLogger("kjcj.photos")

T = TypeVar("T")
PHOTO_URL = "/api/v1/me/photo"
CONTENT_TYPE = "image/jpeg"
FIRST_JOB_ESTIMATE = 1.0  # seconds per photo assumed before any has been measured
RETRY_AFTER_MAX = 60


def spec_from_settings(settings: Settings) -> PhotoSpec:
    """The deployment's photo requirements (PHOTO_* settings); ValueError when inconsistent."""
    backgrounds = tuple(b.strip().lower() for b in settings.photo_backgrounds.split(",") if b.strip())
    return PhotoSpec(width_px=settings.photo_width_px, height_px=settings.photo_height_px, dpi=settings.photo_dpi,
                     min_kb=settings.photo_min_kb, max_kb=settings.photo_max_kb, backgrounds=backgrounds,
                     min_source_width=settings.photo_min_source_width,
                     min_source_height=settings.photo_min_source_height,
                     max_bytes=settings.upload_max_bytes)


class PhotoChecksFailed(Invalid):
    """422: the photo was analysed and at least one check failed; `checks` lists them all."""

    code = "photo_check_failed"
    message = "照片不符合要求，请按提示重新拍摄"

    def __init__(self, checks: list[dict], message: str | None = None, code: str | None = None):
        fields = [{"field": "photo", "code": c["check"], "message": c["message"]}
                  for c in checks if c.get("result") == "fail"]
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
    return {"url": PHOTO_URL, "content_type": entry.get("content_type", CONTENT_TYPE),
            "width": entry.get("width"), "height": entry.get("height"), "size": entry.get("size"),
            "sha256": entry.get("sha256"), "sha256_original": entry.get("sha256_original"),
            "checks": entry.get("checks") or [], "uploaded_at": entry.get("uploaded_at")}


class BoundedPool:
    """A thread pool that refuses work beyond `workers + queue` running-or-waiting jobs.

    The slot is taken synchronously on the IOLoop (no await between the check and the
    increment) and given back when the job itself ends, even if the awaiting request was
    cancelled meanwhile, so abandoned jobs still count until their thread is free.
    """

    def __init__(self, workers: int, queue: int, name: str):
        self.workers = workers
        self.limit = workers + queue
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._pending = 0
        self._seconds = FIRST_JOB_ESTIMATE  # moving average of one job's duration

    @property
    def pending(self) -> int:
        """Jobs running or waiting for a thread."""
        return self._pending

    def retry_after(self) -> int:
        """Seconds after which a retry has a fair chance: the queue drained at the measured rate."""
        estimate = self._seconds * max(1, self._pending) / self.workers
        return max(1, min(RETRY_AFTER_MAX, math.ceil(estimate)))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a worker thread, or raise Busy at once when the pool is full."""
        with self._lock:
            if self._pending >= self.limit:
                raise Busy("当前上传照片的人较多，请稍后重试", "photo_busy", retry_after=self.retry_after())
            self._pending += 1
        try:
            future = self.pool.submit(self._timed, fn, *args)
        except BaseException:  # shut down
            self._release()
            raise
        future.add_done_callback(lambda _f: self._release())
        return await asyncio.wrap_future(future)

    def _timed(self, fn: Callable[..., T], *args: Any) -> T:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self._seconds = 0.8 * self._seconds + 0.2 * elapsed

    def _release(self) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        """Stop the threads; queued jobs are cancelled."""
        self.pool.shutdown(wait=False, cancel_futures=True)


class PhotoService:
    """Upload (checked, fixed, stored) and read the caller's ID photo."""

    def __init__(self, services):
        self.services = services
        settings = services.settings
        self.spec = spec_from_settings(settings)
        self.store = services.get(RecordStore)
        self.files = services.files
        self.pool = BoundedPool(settings.photo_workers, settings.photo_queue, "photos")

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
        info = await self.files.put(result.jpeg, "photo.jpg", CONTENT_TYPE,
                                    metadata={"record_id": doc["_id"], "kind": "photo"})
        entry = {**info, "sha256_original": result.sha256_original, "width": result.width,
                 "height": result.height, "checks": result.checks, "uploaded_at": utcnow()}
        await self.store.attach_file(doc, "photo", None, entry)
        log.info("photo stored", extra={"fields": {"record_id": str(doc["_id"]), "size": info["size"],
                                                   "quality": result.quality}})
        return photo_view(entry)

    async def open(self, user: SessionUser) -> tuple[dict, AsyncIterator[bytes]]:
        """(photo entry, chunk iterator) of the caller's own photo, or NotFound."""
        doc = await self.store.load(user.record_id, user.openid)
        entry = doc.get("photo")
        if not entry or not entry.get("file_id"):
            raise NotFound("尚未上传证件照", "photo_not_found")
        info, chunks = await self.files.open(entry["file_id"])  # NotFound before any byte is sent
        return {**entry, "size": info["size"], "content_type": entry.get("content_type") or info["content_type"]}, chunks
