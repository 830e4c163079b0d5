"""The file store: GridFS with sha256, size and content type on every file.

Besides storing and reading, it offers the sweep of orphaned files (server/filesweep.py) the raw
views it needs: every file entry, every chunk set, and removal of chunks and entries by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

from server.errors import NotFound


class FileStore:
    """Stores blobs in GridFS (bucket `files`)."""

    BUCKET = "files"
    CHUNKS_INDEX = [("files_id", 1), ("n", 1)]  # GridFS's own index on the chunks (created on first upload)

    def __init__(self, db: AsyncDatabase):
        self.bucket = AsyncGridFSBucket(db, bucket_name=self.BUCKET)
        self.entries = db[f"{self.BUCKET}.files"]
        self.chunks = db[f"{self.BUCKET}.chunks"]

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

    def listing(self, batch_size: int = 1000) -> AsyncCursor:
        """Every file entry's `_id` and `uploadDate` (set when its upload finished), streamed."""
        return self.entries.find({}, {"_id": 1, "uploadDate": 1}, batch_size=batch_size)

    async def chunk_sets(self, index_only: bool, batch_size: int = 1000) -> AsyncCursor:
        """The `files_id` of every chunk set (its first chunk, n = 0), streamed. `index_only` reads
        GridFS's chunk index alone (a covered query on MongoDB; FerretDB reads the chunks)."""
        cursor = self.chunks.find({"n": 0}, {"_id": 0, "files_id": 1}, batch_size=batch_size)
        if index_only and "files_id_1_n_1" in await self.chunks.index_information():
            cursor = cursor.hint(self.CHUNKS_INDEX)
        return cursor

    async def entry(self, file_id: ObjectId) -> dict | None:
        """A file entry's `_id`, `length` and `uploadDate`, or None."""
        return await self.entries.find_one({"_id": file_id}, {"length": 1, "uploadDate": 1})

    async def remove_chunks(self, file_ids: list[ObjectId]) -> int:
        """Delete every chunk of these files; how many chunks."""
        if not file_ids:
            return 0
        return (await self.chunks.delete_many({"files_id": {"$in": file_ids}})).deleted_count

    async def remove_entry(self, file_id: ObjectId) -> bool:
        """Delete a file entry (its chunks first, with `remove_chunks`: a crash then leaves an entry
        without chunks, which the next sweep removes, not chunks without an entry)."""
        return (await self.entries.delete_one({"_id": file_id})).deleted_count == 1

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
