"""The hand-off image of a document: its pages merged into one image the national platform accepts.

The national platform (全国会计人员统一服务管理平台) takes each document as one JPG/PNG image of
HANDOFF_MIN_KB-HANDOFF_MAX_KB KB (20-500 KB by default), several pages merged into one image
(`rules()` states it per document kind). On request, by the person (mini-program) or by staff
who may see the record, the stored document (its first file, a PDF of any number of pages or an
image, and its added pages, see server/documents/extras.py) is merged into one JPEG by
server/documents/merge.py in this service's bounded worker pool, within the process-wide memory
budget. The originals are kept as they are for the reviewer; the image is stored beside them,
`documents.<key>.handoff`, and served by its own URL like every stored file.

The image is derived data, not part of what the person declared: it is made at any status
(after approval too), and written without bumping the record's version (a reviewer's decision
at the version they read stays valid). The write is conditional on the document being the one
merged (same first file, same added pages): a document changed meanwhile answers 409 and keeps
nothing. A second request for an unchanged document answers the image already made.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.documents.extras import ME, document_of, extras_view, handoff_view, page_of
from server.documents.merge import SUPPORTED, Limits, Merged, Source, merge
from server.documents.sniff import JPEG
from server.errors import Conflict, NotFound
from server.pool import BoundedPool
from server.records import DOCUMENT_KINDS
from server.records.options import document_label
from server.records.store import RecordStore
from server.review.access import visible_record
from server.staff.model import Staff

log = logging.getLogger("kjcj.documents")

WORKERS = 2  # merges at once (PDFium itself runs one call at a time: server/documents/rasterize.py)
QUEUE = 4  # waiting merges before answering 503
FORMATS = ["jpg", "png"]


def staff_base(record_id: str) -> str:
    """Where staff read a record's documents."""
    return f"/admin/api/records/{record_id}/documents"


class HandoffService:
    """Make and read the hand-off image of a record's document."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(RecordStore)
        self.files = services.files
        self.pool = BoundedPool(
            WORKERS, QUEUE, "handoff", "正在生成图片的人数较多，请稍后重试", "handoff_busy", first_estimate=2.0
        )

    async def close(self) -> None:
        """Stop the worker threads."""
        self.pool.close()

    @property
    def limits(self) -> Limits:
        s = self.services.settings
        return Limits(
            max_pages=s.handoff_max_pages,
            max_page_pixels=s.handoff_max_page_pixels,
            max_pixels=s.handoff_max_pixels,
            min_kb=s.handoff_min_kb,
            max_kb=s.handoff_max_kb,
        )

    def rules(self) -> dict:
        """The national platform's rule for each document kind."""
        s = self.services.settings
        rule = {
            "formats": FORMATS,
            "min_kb": s.handoff_min_kb,
            "max_kb": s.handoff_max_kb,
            "one_image": True,
            "max_pages": s.handoff_max_pages,
        }
        text = f"JPG/PNG 格式，{s.handoff_min_kb}–{s.handoff_max_kb} KB，多页合成一张图片"
        return {
            "rules": [
                {"kind": kind, "label": label, **rule, "description": text} for kind, label in DOCUMENT_KINDS.items()
            ]
        }

    async def for_person(self, user: SessionUser, key: str) -> tuple[dict, bool]:
        """(view, made now) of the hand-off image of the caller's document `key`."""
        doc = await self.store.load(user.record_id, user.openid)
        return await self.make(doc, key, ME, "applicant")

    async def for_staff(self, staff: Staff, record_id: str, key: str) -> tuple[dict, bool]:
        """(view, made now) of the hand-off image of a document of a record the staff member may see."""
        doc = await visible_record(self.services, staff, record_id)
        return await self.make(doc, key, staff_base(record_id), f"staff:{staff.username}")

    async def make(self, doc: dict, key: str, base: str, made_by: str) -> tuple[dict, bool]:
        """The document's hand-off image, made and stored now unless it exists."""
        entry = document_of(doc, key)
        current = entry.get("handoff")
        if isinstance(current, dict) and current.get("file_id"):
            return handoff_view(key, current, base), False
        sources = await self._sources(entry)
        merged: Merged = await self.pool.run(merge, sources, self.limits)
        info = await self.files.put(
            merged.jpeg,
            f"{key}-handoff.jpg",
            JPEG,
            metadata={"record_id": doc["_id"], "kind": key, "handoff": True},
        )
        handoff = {
            **info,
            "width": merged.width,
            "height": merged.height,
            "pages": merged.pages,
            "quality": merged.quality,
            "upscaled": merged.upscaled,
            "made_at": utcnow(),
            "made_by": made_by,
        }
        path = f"documents.{key}"
        same_document = {"_id": doc["_id"], f"{path}.file_id": entry["file_id"], f"{path}.pages": entry.get("pages")}
        try:
            before = await self.services.atomic.update(
                self.store.records, same_document, {"$set": {f"{path}.handoff": handoff}}, before=True
            )
        except BaseException:
            await self.files.delete(info["file_id"])
            raise
        if before is None:
            await self.files.delete(info["file_id"])
            raise Conflict("材料刚刚有变动，请刷新后重新生成", "document_changed")
        replaced = ((before.get("documents") or {}).get(key) or {}).get("handoff")
        if isinstance(replaced, dict) and replaced.get("file_id") not in (None, info["file_id"]):
            await self.files.delete(replaced["file_id"])  # a concurrent request's image
        log.info(
            "hand-off image made",
            extra={
                "fields": {
                    "record_id": str(doc["_id"]),
                    "kind": key,
                    "pages": merged.pages,
                    "size": info["size"],
                    "by": made_by.split(":")[0],
                }
            },
        )
        return handoff_view(key, handoff, base), True

    async def _sources(self, entry: dict) -> list[Source]:
        """The document's stored files, in page order (their sizes were bounded at upload)."""
        files = [entry, *(p for p in entry.get("pages") or [] if isinstance(p, dict))]
        out = []
        for f in files:
            ctype = f.get("content_type")
            if ctype not in SUPPORTED:
                raise NotFound("该材料的文件类型无法合成图片", "document_not_found")
            out.append(Source(await self.files.read(f["file_id"]), ctype))
        return out

    async def open_for_person(self, user: SessionUser, key: str) -> tuple[dict, AsyncIterator[bytes]]:
        """(handoff entry, chunks) of the caller's own document `key`."""
        doc = await self.store.load(user.record_id, user.openid)
        return await self._open(doc, key)

    async def open_for_staff(self, staff: Staff, record_id: str, key: str) -> tuple[dict, AsyncIterator[bytes]]:
        """(handoff entry, chunks) of a document of a record the staff member may see."""
        return await self._open(await visible_record(self.services, staff, record_id), key)

    async def _open(self, doc: dict, key: str) -> tuple[dict, AsyncIterator[bytes]]:
        handoff = document_of(doc, key).get("handoff")
        if not isinstance(handoff, dict) or not handoff.get("file_id"):
            raise NotFound("尚未生成该材料的上报图片", "handoff_not_found")
        _, chunks = await self.files.open(handoff["file_id"])
        return handoff, chunks

    async def staff_view(self, staff: Staff, record_id: str, key: str) -> dict:
        """A document of a record the staff member may see: its first file, added pages and hand-off image."""
        entry = document_of(await visible_record(self.services, staff, record_id), key)
        return {
            "kind": key,
            "label": document_label(key),
            "content_type": entry.get("content_type"),
            "size": entry.get("size"),
            "sha256": entry.get("sha256"),
            "uploaded_at": entry.get("uploaded_at"),
            "url": f"/admin/api/records/{record_id}/files/{key}",
            **extras_view(key, entry, staff_base(record_id)),
        }

    async def open_page_for_staff(
        self, staff: Staff, record_id: str, key: str, pid: str
    ) -> tuple[dict, AsyncIterator[bytes]]:
        """(page entry, chunks) of an added page of a document of a record the staff member may see."""
        page = page_of(document_of(await visible_record(self.services, staff, record_id), key), pid)
        _, chunks = await self.files.open(page["file_id"])
        return page, chunks
