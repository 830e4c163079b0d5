"""The file store: GridFS with sha256, size and content type on every file."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from server.errors import NotFound


class FileStore:
    """Stores blobs in GridFS (bucket `files`)."""

    def __init__(self, db: AsyncDatabase):
        self.bucket = AsyncGridFSBucket(db, bucket_name="files")

    async def put(self, data: bytes, filename: str, content_type: str, metadata: dict | None = None) -> dict:
        """Store bytes; return {"file_id", "sha256", "size", "content_type"}."""
        sha = hashlib.sha256(data).hexdigest()
        meta = {**(metadata or {}), "sha256": sha, "content_type": content_type}
        file_id = await self.bucket.upload_from_stream(filename, data, metadata=meta)
        return {"file_id": file_id, "sha256": sha, "size": len(data), "content_type": content_type}

    async def read(self, file_id) -> bytes:
        """The whole file (small files only)."""
        return await (await self._download(file_id)).read()

    async def open(self, file_id, chunk: int = 255 * 1024) -> tuple[dict, AsyncIterator[bytes]]:
        """(the stored file's metadata, its chunks), or NotFound before any byte is read."""
        stream = await self._download(file_id)
        meta = stream.metadata or {}
        info = {
            "file_id": stream._id,
            "size": stream.length,
            "filename": stream.filename,
            "sha256": meta.get("sha256"),
            "content_type": meta.get("content_type", "application/octet-stream"),
        }

        async def chunks() -> AsyncIterator[bytes]:
            while data := await stream.read(chunk):
                yield data

        return info, chunks()

    async def _download(self, file_id):
        """An open GridFS download stream, or NotFound."""
        try:
            return await self.bucket.open_download_stream(_oid(file_id))
        except NoFile:
            raise NotFound("文件不存在", "file_not_found") from None

    async def delete(self, file_id) -> None:
        """Delete a file; a missing one is fine."""
        try:
            await self.bucket.delete(_oid(file_id))
        except NoFile:
            pass


def _oid(value) -> ObjectId:
    """An ObjectId from a value, or NotFound."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        raise NotFound("文件不存在", "file_not_found") from None
