"""Upload, list and read the documents of the caller's record (GridFS via services.files)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.documents.extras import extra_file_ids, extras_view
from server.documents.images import reencode
from server.documents.pdf import check_pdf
from server.documents.sniff import EXTENSIONS, PDF, require_type
from server.errors import BadRequest, Invalid, NotFound, TooLarge
from server.pool import BoundedPool
from server.records import DOCUMENT_KINDS, required_documents
from server.records.fields import LISTS
from server.records.options import ENTRY_DOCUMENTS, document_base, document_label
from server.records.store import RecordStore, record_fields, require_editable

log = logging.getLogger("kjcj.documents")

WORKERS = 2  # threads re-encoding images / scanning PDFs (their memory together: budget.POOL_BYTES)
MAX_IN_FLIGHT = 16  # uploads being processed at once before answering 503


def document_view(kind: str, entry: dict) -> dict:
    """What the mini-program sees of one stored document."""
    return {
        "kind": kind,
        "label": document_label(kind),
        "content_type": entry.get("content_type"),
        "size": entry.get("size"),
        "sha256": entry.get("sha256"),
        "uploaded_at": entry.get("uploaded_at"),
        "url": f"/api/v1/me/documents/{kind}/file",
        **extras_view(kind, entry),  # added pages and the hand-off image (server/documents/extras.py)
    }


def check_kind(kind: str) -> str:
    """The kind if it is a known document kind (or an entry's key "<kind>_<entry id>"), else NotFound."""
    if document_base(kind) is None:
        raise NotFound("不支持的材料类型", "unknown_document_kind", kinds=list(DOCUMENT_KINDS))
    return kind


def entry_target(doc: dict, kind: str, entry_id: str | None) -> tuple[str, str | None]:
    """(documents key, list name) of an upload: "<kind>_<entry id>" for an entry of the list whose
    proofs are of `kind` (without `entry_id`: the list's only entry), else the kind itself. 422 for an
    entry this record does not hold, or none named when the list has several."""
    lists = [name for name, proof_kind in ENTRY_DOCUMENTS.items() if proof_kind == kind]
    if entry_id is None:
        entries = [e for e in doc.get(lists[0]) or [] if isinstance(e, dict)] if lists else []
        if len(entries) > 1:
            message = f"您填写了{len(entries)}条{LISTS[lists[0]].label}，请指明这份材料属于哪一条（entry）"
            raise Invalid([{"field": "entry", "code": "entry_required", "message": message}], message, "entry_required")
        if len(entries) == 1 and isinstance(entries[0].get("id"), str):
            entry_id = entries[0]["id"]  # the one entry of its list: no need to name it
        else:
            return kind, None
    stored = (doc.get(lists[0]) if lists else None) or []
    held = lists and any(isinstance(e, dict) and e.get("id") == entry_id for e in stored)
    if not held:
        what = LISTS[lists[0]].label if lists else DOCUMENT_KINDS.get(kind, kind)
        message = f"未找到该条{what}，请先保存后再上传证明材料" if lists else "该类材料不属于某一条目，请不要指定entry"
        raise Invalid([{"field": "entry", "code": "unknown_entry", "message": message}], message, "unknown_entry")
    return f"{kind}_{entry_id}", lists[0]


def _with_proof(name: str, entry_id: str, key: str):
    """`also` for attach_file: the list with the entry's `proof` naming `key` (422 if it went away)."""

    def also(doc: dict) -> dict:
        entries = [dict(e) for e in doc.get(name) or [] if isinstance(e, dict)]
        for e in entries:
            if e.get("id") == entry_id:
                e["proof"] = key
                return {name: entries}
        message = "该条目已删除，请刷新后重试"
        raise Invalid([{"field": "entry", "code": "unknown_entry", "message": message}], message, "unknown_entry")

    return also


def check_known(key: str) -> bool:
    """True for a stored key of a known kind."""
    return document_base(key) is not None


def _display_order(key: str) -> tuple[int, str]:
    """Kinds in DOCUMENT_KINDS order, an entry's proof beside its kind."""
    order = list(DOCUMENT_KINDS)
    base = document_base(key)
    return (order.index(base) if base in order else len(order), key)


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

    async def upload(self, user: SessionUser, kind: str, data: bytes, entry_id: str | None = None) -> dict:
        """Store `data` as the record's document of `kind`, replacing (and deleting) the old one.

        With `entry_id` (an entry of educations / qualifications / work_history) it is that entry's
        proof: stored under "<kind>_<entry id>", and the entry's `proof` names it (same write)."""
        if kind not in DOCUMENT_KINDS:  # an entry's key is not uploaded to directly: ?entry= names the entry
            raise NotFound("不支持的材料类型", "unknown_document_kind", kinds=list(DOCUMENT_KINDS))
        if not data:
            raise BadRequest("上传的文件为空，请重新选择文件", "empty_file")
        if len(data) > self.services.settings.upload_max_bytes:
            raise self.too_large()
        content_type = require_type(data)
        doc = await self.store.load(user.record_id, user.openid)
        require_editable(doc)
        key, list_name = entry_target(doc, kind, entry_id)
        cleaned = await self.clean(data, content_type)
        info = await self.files.put(
            cleaned,
            f"{key}.{EXTENSIONS[content_type]}",
            content_type,
            metadata={"record_id": doc["_id"], "kind": key},
        )
        entry = {**info, "uploaded_at": utcnow()}
        also = _with_proof(list_name, key.rpartition("_")[2], key) if list_name else None
        replaced = await self.store.attach_file(doc, "documents", key, entry, also=also)
        for file_id in extra_file_ids((replaced.get("documents") or {}).get(key)):  # its added pages, hand-off image
            await self.files.delete(file_id)
        log.info(
            "document stored",
            extra={"fields": {"record_id": str(doc["_id"]), "kind": key, "size": info["size"], "type": content_type}},
        )
        return document_view(key, entry)

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
            "documents": [document_view(k, docs[k]) for k in sorted(docs, key=_display_order) if check_known(k)],
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
