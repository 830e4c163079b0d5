"""What a stored document holds beyond its first file, and how it is shown.

A stored document (`documents.<key>` of a record: {file_id, content_type, size, sha256,
uploaded_at}) is its first file. Two optional keys extend it:

- `pages`: page images added after the first file, in order, each {id, file_id, content_type,
  size, sha256, uploaded_at} (server/documents/pages.py). An entry without `pages` (every entry
  stored before pages existed) is a one-page document: old entries stay valid, nothing is migrated.
- `handoff`: the merged image for the national platform, {file_id, size, sha256, width, height,
  pages, quality, upscaled, made_at, made_by} (server/documents/handoff.py).

Pure functions on the entry; no database.
"""

from __future__ import annotations

import secrets

from server.documents.images import jpeg_header, png_header
from server.documents.merge import MAX_ASPECT
from server.documents.sniff import JPEG, file_problem
from server.errors import NotFound

ME = "/api/v1/me/documents"


def page_id() -> str:
    """A short page id, unique within its document."""
    return secrets.token_hex(4)


def extras_view(key: str, entry: dict, base: str = ME) -> dict:
    """The added pages and hand-off image of a document, with URLs under `base` (the mini-program's
    documents, or a staff record's)."""
    pages = [p for p in entry.get("pages") or [] if isinstance(p, dict)]
    handoff = entry.get("handoff")
    return {
        "page_count": 1 + len(pages),
        "pages": [
            {
                "id": p.get("id"),
                "number": n,
                "content_type": p.get("content_type"),
                "size": p.get("size"),
                "sha256": p.get("sha256"),
                "uploaded_at": p.get("uploaded_at"),
                "url": f"{base}/{key}/pages/{p.get('id')}/file",
            }
            for n, p in enumerate(pages, 2)
        ],
        "handoff": handoff_view(key, handoff, base) if isinstance(handoff, dict) else None,
    }


def handoff_view(key: str, handoff: dict, base: str = ME) -> dict:
    """The hand-off image of a document."""
    return {
        "content_type": JPEG,
        "size": handoff.get("size"),
        "sha256": handoff.get("sha256"),
        "width": handoff.get("width"),
        "height": handoff.get("height"),
        "pages": handoff.get("pages"),
        "quality": handoff.get("quality"),
        "upscaled": bool(handoff.get("upscaled")),
        "made_at": handoff.get("made_at"),
        "made_by": handoff.get("made_by"),
        "url": f"{base}/{key}/handoff/file",
    }


def extra_file_ids(entry: dict | None) -> list:
    """The file ids of a document's added pages and hand-off image."""
    if not isinstance(entry, dict):
        return []
    ids = [p.get("file_id") for p in entry.get("pages") or [] if isinstance(p, dict)]
    handoff = entry.get("handoff")
    if isinstance(handoff, dict):
        ids.append(handoff.get("file_id"))
    return [i for i in ids if i is not None]


def document_of(doc: dict, key: str) -> dict:
    """The stored document `key` of a record, or NotFound."""
    entry = (doc.get("documents") or {}).get(key)
    if not isinstance(entry, dict) or not entry.get("file_id"):
        raise NotFound("尚未上传该材料", "document_not_found")
    return entry


def page_of(entry: dict, pid: str) -> dict:
    """One added page of a document, or NotFound."""
    for page in entry.get("pages") or []:
        if isinstance(page, dict) and page.get("id") == pid:
            return page
    raise NotFound("该页不存在或已删除", "page_not_found")


def check_page_shape(data: bytes, content_type: str) -> None:
    """A 422 for an added page whose header says its sides differ more than MAX_ASPECT times."""
    header = jpeg_header(data) if content_type == JPEG else png_header(data)
    if header is None or min(header.width, header.height) < 1:
        return  # cleaning answers the corrupt file
    if max(header.width, header.height) / min(header.width, header.height) > MAX_ASPECT:
        raise file_problem(
            "page_shape",
            f"图片长宽比例异常（{header.width}×{header.height}），不能作为材料页面；请重新拍摄或扫描该页",
        )
