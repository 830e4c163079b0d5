"""A record's photo or document, streamed only to staff of the record's district."""

from __future__ import annotations

from collections.abc import AsyncIterator

from server.errors import NotFound
from server.lifecycle.readmodel import ON_ARCHIVE
from server.lifecycle.store import LifecycleStore
from server.review.access import visible_record
from server.staff.model import Staff

# types shown inline, with their file extensions; anything else is an octet-stream download
SAFE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


async def open_file(services, staff: Staff, record_id: str, kind: str) -> tuple[dict, AsyncIterator[bytes]]:
    """(info with content_type, size, filename; chunk iterator) of `photo` or a document kind."""
    doc = await visible_record(services, staff, record_id)
    entry = doc.get("photo") if kind == "photo" else (doc.get("documents") or {}).get(kind)
    if kind == "photo" and not entry and doc.get("kind") in ON_ARCHIVE:  # a change or transfer: the archive's
        entry = ((await services.get(LifecycleStore).archive(doc.get("archive_no"))) or {}).get("photo")
    if not isinstance(entry, dict) or not entry.get("file_id"):
        raise NotFound("该材料尚未上传", "file_not_found")
    info, chunks = await services.files.open(entry["file_id"])
    ctype = entry.get("content_type") or info["content_type"] or ("image/jpeg" if kind == "photo" else "")
    ext = SAFE_TYPES.get(ctype, "bin")
    out = {
        "content_type": ctype if ctype in SAFE_TYPES else "application/octet-stream",
        "inline": ctype in SAFE_TYPES,
        "size": info["size"],
        "filename": f"{record_id}-{kind}.{ext}",
        "sha256": info.get("sha256"),
    }
    return out, chunks
