"""Upload, list and read the documents of the caller's record (GridFS via services.files)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.documents.images import reencode
from server.documents.pdf import check_pdf
from server.documents.sniff import EXTENSIONS, PDF, require_type
from server.errors import BadRequest, NotFound, TooLarge
from server.pool import BoundedPool
from server.records import DOCUMENT_KINDS, required_documents
from server.records.store import RecordStore, record_fields, require_editable

log = logging.getLogger("kjcj.documents")

WORKERS = 2  # threads re-encoding images / scanning PDFs (their memory together: budget.POOL_BYTES)
MAX_IN_FLIGHT = 16  # uploads being processed at once before answering 503


def document_view(kind: str, entry: dict) -> dict:
    """What the mini-program sees of one stored document."""
    return {
        "kind": kind,
        "label": DOCUMENT_KINDS.get(kind, kind),
        "content_type": entry.get("content_type"),
        "size": entry.get("size"),
        "sha256": entry.get("sha256"),
        "uploaded_at": entry.get("uploaded_at"),
        "url": f"/api/v1/me/documents/{kind}/file",
    }


def check_kind(kind: str) -> str:
    """The kind if it is a known document kind, else NotFound."""
    if kind not in DOCUMENT_KINDS:
        raise NotFound("不支持的材料类型", "unknown_document_kind", kinds=list(DOCUMENT_KINDS))
    return kind


class DocumentService:
    """The caller's documents: sniffed, cleaned, stored once per kind."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(RecordStore)
        self.files = services.files
        self.pool = BoundedPool(
            WORKERS, MAX_IN_FLIGHT - WORKERS, "documents", "上传人数较多，请稍后重试", "upload_busy", retry_after=5
        )

    async def close(self) -> None:
        """Stop the worker threads."""
        self.pool.close()

    def too_large(self) -> TooLarge:
        """The 413 naming the configured limit."""
        mb = self.services.settings.upload_max_mb
        return TooLarge(f"文件不能超过 {mb} MB，请压缩后再上传", "file_too_large", max_bytes=mb * 1024 * 1024)

    async def upload(self, user: SessionUser, kind: str, data: bytes) -> dict:
        """Store `data` as the record's document of `kind`, replacing (and deleting) the old one."""
        check_kind(kind)
        if not data:
            raise BadRequest("上传的文件为空，请重新选择文件", "empty_file")
        if len(data) > self.services.settings.upload_max_bytes:
            raise self.too_large()
        content_type = require_type(data)
        doc = await self.store.load(user.record_id, user.openid)
        require_editable(doc)
        cleaned = await self.clean(data, content_type)
        info = await self.files.put(
            cleaned,
            f"{kind}.{EXTENSIONS[content_type]}",
            content_type,
            metadata={"record_id": doc["_id"], "kind": kind},
        )
        entry = {**info, "uploaded_at": utcnow()}
        await self.store.attach_file(doc, "documents", kind, entry)
        log.info(
            "document stored",
            extra={"fields": {"record_id": str(doc["_id"]), "kind": kind, "size": info["size"], "type": content_type}},
        )
        return document_view(kind, entry)

    async def clean(self, data: bytes, content_type: str) -> bytes:
        """Re-encode an image / check a PDF in a worker thread: the bytes to store, or a 4xx.

        Also used for change proofs and transfer files (server/lifecycle/staging.py). A job
        waits in its thread for its share of the process-wide memory budget (503 after 30 s).
        """
        if content_type == PDF:
            await self.pool.run(check_pdf, data)
            return data
        return await self.pool.run(reencode, data, content_type)

    async def list(self, user: SessionUser) -> dict:
        """The record's documents in display order, plus what is still required."""
        doc = await self.store.load(user.record_id, user.openid)
        docs = doc.get("documents") or {}
        required = required_documents(record_fields(doc))
        return {
            "documents": [document_view(k, docs[k]) for k in DOCUMENT_KINDS if k in docs],
            "required": required,
            "missing": [k for k in required if k not in docs],
        }

    async def open(self, user: SessionUser, kind: str) -> tuple[dict, AsyncIterator[bytes]]:
        """(document entry, chunk iterator) of the caller's own document of `kind`, or NotFound."""
        check_kind(kind)
        doc = await self.store.load(user.record_id, user.openid)
        entry = (doc.get("documents") or {}).get(kind)
        if not entry:
            raise NotFound("尚未上传该材料", "document_not_found")
        _, chunks = await self.files.open(entry["file_id"])  # NotFound before any byte is sent
        return entry, chunks
