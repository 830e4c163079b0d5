"""The sweep of orphaned files: stored files nothing refers to, and chunks without a file entry.

Every upload stores its file first and points a document at it afterwards; a process killed in
between leaves a file nothing refers to, one killed during the upload (or during a delete)
leaves GridFS chunks without their `files.files` entry. Nothing else removes them. A sweep:

1. lists every file entry: those uploaded more than ORPHAN_FILE_MINUTES ago are candidates
   (longer than any upload takes, so a file whose document is about to be written is safe);
2. finds the chunk sets whose entry does not exist and whose file id (made when its upload
   started) is that old too;
3. reads every place a file id is kept (`REFERENCES`) and drops each id found there from the
   candidates: what is left is referenced by nothing;
4. removes those (each entry read again by `_id` first; chunks before the entry, so a crash
   leaves an entry the next sweep finds) and the chunk sets, and reports them (a log line and
   the return value; `python -m server sweep-files` runs one now).

Deleting a referenced file is far worse than missing an orphan, so the reference scan errs on
the side of keeping: every ObjectId (or 24-hex string) anywhere under the fields read counts as
a reference, not only `file_id`; whole documents are read where they are small (accounts); and
collections are read in the order files move between them (a staged file moves from its
account to the application that takes it, which is written before the account's slot is
emptied), so a file moving during the scan is seen at least once. Every writer of
`services.files.put` is listed in `WRITERS` with where it keeps the id; tests/test_filesweep.py
fails when a new writer is not, so a new referencing field cannot be forgotten here.

Bounded: the candidates are a set of 12-byte ids (about 60 MB at 500,000 files); documents are
streamed in batches with projections, and the loop is given back between batches.

Several processes: one sweep at a time holds the lease (`file_sweeps`, `_id` "files"; taken and
renewed with `services.atomic.update`, expiring so a killed holder blocks nobody for long), and
`next_at` spaces sweeps FILE_SWEEP_MINUTES apart whichever process runs them. A sweep that finds
its lease gone stops before removing anything more.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import time
import uuid
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.db import utcnow
from server.lifecycle.migrate import OLD as OLD_RECORDS
from server.lifecycle.store import ACCOUNTS, APPLICATIONS, ARCHIVES
from server.transfers.sheets import SHEETS

log = logging.getLogger("kjcj.filesweep")

# Where file ids are kept, in the order files move between them (sources first); None = whole documents.
REFERENCES: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    (OLD_RECORDS, ("photo", "documents")),  # the first version's records, left as they were by the migration
    (ACCOUNTS, None),  # staged files in any slot (change_proof, transfer_proof, transfer_sheet); small documents
    (APPLICATIONS, ("photo", "documents")),  # every kind: a collection's photo and documents, a change's proof,
    # a transfer's files, a transfer in's photo
    (ARCHIVES, ("photo", "documents")),  # copied from the approved first collection (or admitted transfer in)
    (SHEETS, ("pdf",)),  # a transfer sheet's rendered PDF
)

# Every module that stores files (`services.files.put`) and where the id is kept.
WRITERS = {
    "server/documents/service.py": "applications.documents.<kind> (then archives.documents)",
    "server/photos/service.py": "applications.photo (then archives.photo, a transfer in's photo)",
    "server/lifecycle/staging.py": "accounts.<slot> (then applications.documents of the change or transfer)",
    "server/transfers/sheets.py": "transfer_sheets.pdf",
    "server/documents/pages.py": "applications.documents.<kind>.pages (then archives.documents)",
    "server/documents/handoff.py": "applications.documents.<kind>.handoff (then archives.documents)",
}

STATE = "file_sweeps"
KEY = "files"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
RENEW_SECONDS = 60.0  # the lease is renewed this often while a sweep runs
BATCH = 500  # documents per read batch; the loop is given back after each
POLL_SECONDS = 300.0  # how often each process looks whether a sweep is due
START_DELAY = 60.0  # the first look after start-up (start-up has other work)


class LeaseLost(Exception):
    """Another process took the sweep's lease (this one was too slow or paused)."""


def drop_referenced(value: Any, candidates: set[bytes]) -> None:
    """Remove from `candidates` every ObjectId (or 24-hex string) found anywhere in `value`."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, ObjectId):
            candidates.discard(v.binary)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, str) and len(v) == 24 and ObjectId.is_valid(v):
            candidates.discard(ObjectId(v).binary)


class FileSweeper:
    """Finds and removes orphaned files (see module doc); one instance per process."""

    def __init__(self, services):
        self.services = services
        self.files = services.files
        self.state = services.db[STATE]
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._renewed = 0.0

    @property
    def interval(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.services.settings.file_sweep_minutes)

    @property
    def age(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.services.settings.orphan_file_minutes)

    async def run_forever(self) -> None:
        """Sweep whenever one is due (any process may run it); until cancelled."""
        await asyncio.sleep(START_DELAY * random.uniform(1.0, 2.0))
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("file sweep failed")
            poll = min(POLL_SECONDS, self.interval.total_seconds())
            await asyncio.sleep(poll * random.uniform(0.8, 1.2))

    async def sweep(
        self, force: bool = False, dry_run: bool = False, older_than: dt.timedelta | None = None
    ) -> dict | None:
        """One sweep if one is due (or `force`) and no other process holds the lease: its report, else None.

        `dry_run` finds the orphans but removes nothing; `older_than` replaces ORPHAN_FILE_MINUTES."""
        token = await self._take(force)
        if token is None:
            return None
        report: dict | None = None
        try:
            report = await self._sweep(token, self.age if older_than is None else older_than, dry_run)
        finally:
            await self._release(token, report)
        fields = {k: v for k, v in report.items() if k not in ("removed_files", "removed_chunk_sets")}
        fields["removed_ids"] = (report["removed_files"] + report["removed_chunk_sets"])[:50]
        verb = "would remove" if dry_run else "removed"
        log.info(
            "file sweep %s %d orphaned files (%d bytes) and %d chunk sets without a file entry",
            verb,
            report["files"],
            report["bytes"],
            report["chunk_sets"],
            extra={"fields": fields},
        )
        return report

    async def _sweep(self, token: str, age: dt.timedelta, dry_run: bool) -> dict:
        started = time.monotonic()
        cutoff = utcnow() - age
        self._renewed = time.monotonic()
        candidates, young = await self._list_files(token, cutoff)
        scanned = len(candidates) + len(young)
        orphan_sets = await self._orphan_chunk_sets(token, cutoff, candidates, young)
        del young
        old = len(candidates)
        if candidates:
            await self._drop_references(token, candidates)
        report: dict[str, Any] = {
            "dry_run": dry_run,
            "cutoff": cutoff,
            "files_scanned": scanned,
            "old_files": old,
            "files": 0,
            "bytes": 0,
            "chunk_sets": 0,
            "chunks": 0,
            "removed_files": [],
            "removed_chunk_sets": [],
        }
        await self._renew(token)  # strictly: nothing is removed without the lease
        await self._remove_files(token, cutoff, [ObjectId(b) for b in candidates], dry_run, report)
        await self._remove_chunk_sets(token, orphan_sets, dry_run, report)
        report["seconds"] = round(time.monotonic() - started, 3)
        return report

    async def _list_files(self, token: str, cutoff: dt.datetime) -> tuple[set[bytes], set[bytes]]:
        """(ids of file entries uploaded before `cutoff`, ids of the younger ones)."""
        old: set[bytes] = set()
        young: set[bytes] = set()
        n = 0
        async for entry in self.files.listing(BATCH):
            fid, uploaded = entry.get("_id"), entry.get("uploadDate")
            if isinstance(fid, ObjectId):  # GridFS makes ObjectIds; anything else is left alone
                (old if isinstance(uploaded, dt.datetime) and uploaded < cutoff else young).add(fid.binary)
            n += 1
            if n % BATCH == 0:
                await self._pause(token)
        return old, young

    async def _orphan_chunk_sets(
        self, token: str, cutoff: dt.datetime, old: set[bytes], young: set[bytes]
    ) -> list[ObjectId]:
        """File ids of chunk sets without an entry whose upload started before `cutoff`."""
        found: list[ObjectId] = []
        n = 0
        async for chunk in await self.files.chunk_sets(index_only=not self.services.ferretdb, batch_size=BATCH):
            fid = chunk.get("files_id")
            if (
                isinstance(fid, ObjectId)
                and fid.generation_time < cutoff
                and fid.binary not in old
                and fid.binary not in young
            ):
                found.append(fid)
            n += 1
            if n % BATCH == 0:
                await self._pause(token)
        return found

    async def _drop_references(self, token: str, candidates: set[bytes]) -> None:
        """Remove from `candidates` every id some document keeps (see REFERENCES)."""
        db = self.services.db
        for name, fields in REFERENCES:
            await self._renew(token)
            projection = dict.fromkeys(fields, 1) if fields else None
            n = 0
            async for doc in db[name].find({}, projection, batch_size=BATCH):
                drop_referenced(doc, candidates)
                n += 1
                if n % BATCH == 0:
                    await self._pause(token)
            if not candidates:
                return

    async def _remove_files(
        self, token: str, cutoff: dt.datetime, ids: list[ObjectId], dry_run: bool, report: dict
    ) -> None:
        for start in range(0, len(ids), 100):
            batch = []
            for fid in ids[start : start + 100]:
                entry = await self.files.entry(fid)
                uploaded = (entry or {}).get("uploadDate")
                if entry is not None and isinstance(uploaded, dt.datetime) and uploaded < cutoff:
                    batch.append((fid, int(entry.get("length") or 0)))
            if not dry_run and batch:
                await self._renew(token)
                report["chunks"] += await self.files.remove_chunks([fid for fid, _ in batch])
                for fid, _ in batch:
                    await self.files.remove_entry(fid)
            report["files"] += len(batch)
            report["bytes"] += sum(size for _, size in batch)
            report["removed_files"].extend(str(fid) for fid, _ in batch)

    async def _remove_chunk_sets(self, token: str, ids: list[ObjectId], dry_run: bool, report: dict) -> None:
        for start in range(0, len(ids), 100):
            # An entry written since the listing (an upload that took longer than the cutoff): keep it.
            batch = [fid for fid in ids[start : start + 100] if await self.files.entry(fid) is None]
            if not dry_run and batch:
                await self._renew(token)
                report["chunks"] += await self.files.remove_chunks(batch)
            report["chunk_sets"] += len(batch)
            report["removed_chunk_sets"].extend(str(fid) for fid in batch)

    async def _pause(self, token: str) -> None:
        """Between batches: give the loop back, and renew the lease when it is due."""
        await asyncio.sleep(0)
        if time.monotonic() - self._renewed > RENEW_SECONDS:
            await self._renew(token)

    async def _take(self, force: bool) -> str | None:
        """The lease for one sweep (only when due, unless `force`): its token, or None."""
        now = utcnow()
        held = await self.state.find_one({"_id": KEY})
        if held is None:
            try:
                await self.state.insert_one({"_id": KEY, "lease_until": EPOCH, "lease_owner": None, "next_at": EPOCH})
            except DuplicateKeyError:  # another process's first sweep
                pass
        elif held.get("lease_until", EPOCH) > now or (not force and held.get("next_at", EPOCH) > now):
            return None
        token = f"{self.owner}-{uuid.uuid4().hex[:6]}"
        cond: dict[str, Any] = {"_id": KEY, "lease_until": {"$lt": now}}
        if not force:
            cond["next_at"] = {"$lte": now}
        taken = await self.services.atomic.update(
            self.state, cond, {"$set": {"lease_until": now + LEASE, "lease_owner": token}}
        )
        return token if taken is not None else None

    async def _renew(self, token: str) -> None:
        """Extend the lease while it is still ours and unexpired; LeaseLost otherwise."""
        now = utcnow()
        kept = await self.services.atomic.update(
            self.state,
            {"_id": KEY, "lease_owner": token, "lease_until": {"$gt": now}},
            {"$set": {"lease_until": now + LEASE}},
        )
        if kept is None:
            raise LeaseLost("the file sweep's lease was taken over")
        self._renewed = time.monotonic()

    async def _release(self, token: str, report: dict | None) -> None:
        """Give the lease back; after a sweep (or a failed one) the next is due an interval later."""
        sets: dict[str, Any] = {"lease_until": EPOCH, "lease_owner": None}
        if report is None or not report["dry_run"]:
            sets["next_at"] = utcnow() + self.interval
        if report is not None and not report["dry_run"]:
            sets["last"] = {
                k: report[k] for k in ("cutoff", "files_scanned", "files", "bytes", "chunk_sets", "chunks", "seconds")
            }
            sets["last"]["at"] = utcnow()
        await self.services.atomic.update(self.state, {"_id": KEY, "lease_owner": token}, {"$set": sets})
