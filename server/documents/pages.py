"""Pages added to a stored document: add, remove, read (the shape: server/documents/extras.py).

An added page is a JPG/PNG image, cleaned like any upload (re-encoded, metadata dropped) and
refused before cleaning when its sides differ more than merge.MAX_ASPECT times. A document holds
at most DOCUMENT_MAX_PAGES pages, its first file included. Adding or removing a page drops the
hand-off image in the same write (it no longer shows the document). Uploading the document again
replaces the entry whole: its added pages and hand-off image go with it (their files are deleted
by the upload, else by the orphan sweep). Writes are versioned (`RecordStore.write`) and only
while the record is editable, like uploads.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.documents.extras import check_page_shape, document_of, page_id, page_of
from server.documents.service import DocumentService, document_view
from server.documents.sniff import EXTENSIONS, JPEG, PNG, file_problem, require_type
from server.errors import BadRequest, Conflict, UnsupportedMedia
from server.records.store import WRITE_RETRIES, RecordStore, require_editable

log = logging.getLogger("kjcj.documents")


class PageService:
    """Add, remove and read the added pages of the caller's documents."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(RecordStore)
        self.files = services.files

    @property
    def max_pages(self) -> int:
        return self.services.settings.document_max_pages

    async def add(self, user: SessionUser, key: str, data: bytes) -> dict:
        """Append `data` (a JPG/PNG image) as the next page of the caller's document `key`."""
        documents = self.services.get(DocumentService)
        if not data:
            raise BadRequest("上传的文件为空，请重新选择文件", "empty_file")
        if len(data) > self.services.settings.upload_max_bytes:
            raise documents.too_large()
        content_type = require_type(data)
        if content_type not in (JPEG, PNG):
            raise UnsupportedMedia(
                "添加的页面须为 JPG 或 PNG 图片；多页 PDF 请作为整份材料上传", "page_not_image", accepted=["jpg", "png"]
            )
        check_page_shape(data, content_type)
        doc = await self.store.load(user.record_id, user.openid)
        require_editable(doc)
        self._room(document_of(doc, key))
        cleaned = await documents.clean(data, content_type)
        page = {"id": page_id(), "uploaded_at": utcnow()}
        info = await self.files.put(
            cleaned,
            f"{key}-{page['id']}.{EXTENSIONS[content_type]}",
            content_type,
            metadata={"record_id": doc["_id"], "kind": key, "page": page["id"]},
        )
        page = {"id": page["id"], **info, "uploaded_at": page["uploaded_at"]}
        try:
            before = await self._write(doc, key, lambda entry: [*self._room(entry), page])
        except BaseException:
            await self.files.delete(info["file_id"])
            raise
        await self._drop_handoff_file(document_of(before, key))
        log.info("document page added", extra={"fields": {"record_id": str(doc["_id"]), "kind": key}})
        return document_view(key, document_of(await self.store.load(user.record_id, user.openid), key))

    async def remove(self, user: SessionUser, key: str, pid: str) -> dict:
        """Remove an added page of the caller's document `key` (the first file stays)."""
        doc = await self.store.load(user.record_id, user.openid)
        require_editable(doc)
        page_of(document_of(doc, key), pid)

        def without(entry: dict) -> list:
            page_of(entry, pid)
            return [p for p in entry.get("pages") or [] if not (isinstance(p, dict) and p.get("id") == pid)]

        before = await self._write(doc, key, without)
        old = document_of(before, key)
        await self.files.delete(page_of(old, pid)["file_id"])
        await self._drop_handoff_file(old)
        return document_view(key, document_of(await self.store.load(user.record_id, user.openid), key))

    async def open(self, user: SessionUser, key: str, pid: str) -> tuple[dict, AsyncIterator[bytes]]:
        """(page entry, chunk iterator) of an added page of the caller's own document."""
        doc = await self.store.load(user.record_id, user.openid)
        page = page_of(document_of(doc, key), pid)
        _, chunks = await self.files.open(page["file_id"])
        return page, chunks

    def _room(self, entry: dict) -> list:
        """The document's added pages, or a 422 when it holds as many pages as allowed."""
        pages = [p for p in entry.get("pages") or [] if isinstance(p, dict)]
        if 1 + len(pages) >= self.max_pages:
            message = f"每份材料最多 {self.max_pages} 页，请先删除不需要的页面"
            raise file_problem("too_many_pages", message)
        return pages

    async def _write(self, doc: dict, key: str, new_pages) -> dict:
        """Set the document's pages to `new_pages(entry)` and drop its hand-off image, at the record's
        version (retried after concurrent edits). Returns the record as it was before the write."""
        for _ in range(WRITE_RETRIES):
            entry = document_of(doc, key)
            pages = new_pages(entry)
            path = f"documents.{key}"
            update: dict = {"$unset": {f"{path}.handoff": ""}}
            if pages:
                update["$set"] = {f"{path}.pages": pages}
            else:
                update["$unset"][f"{path}.pages"] = ""
            if await self.store.write(doc, update) is not None:
                return doc
            doc = await self.store.load(doc["_id"], doc["openid"])
            require_editable(doc)
        raise Conflict("操作过于频繁，请稍后重试", "version_conflict")

    async def _drop_handoff_file(self, entry: dict) -> None:
        """Delete the hand-off image a page change made stale."""
        handoff = entry.get("handoff")
        if isinstance(handoff, dict) and handoff.get("file_id"):
            await self.files.delete(handoff["file_id"])
