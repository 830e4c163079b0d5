"""Excel export of the caller's first collections, streamed as it is read (server/xlsxstream.py).

Values are written as text exactly as stored (rare characters intact, ID numbers with their
leading digits and X) as inline strings, so text that starts with "=" is never a formula;
times are real dates (China time).

How it streams: the workbook's static parts and the header row go out before anything is
read. Rows come from the caller's queue lists merged by key (the queues' order), read PAGE
entries at a time *by key* (after the last key read, not by offset: rows added or removed
meanwhile do not shift the walk; one submitted meanwhile comes at the end), then their
applications, and the archives of approved ones (their current fields), by `_id` in
concurrent batches of FETCH, one batch read ahead of the writer. The XML of the rows is
deflated in a worker thread (zlib releases the GIL) while the next batch is read; the caller
sends each chunk and waits for the socket before asking for more. So memory stays at a few
batches whatever the row count, and the IOLoop is never held for more than one batch's XML.
The second sheet (调转流向, small) follows the first. A sheet's XML must stay under 2 GiB
(zipfile writes no ZIP64 entry of unknown size): about a million rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from server.districts import district_name
from server.lifecycle.readmodel import queue_name
from server.lifecycle.store import LifecycleStore
from server.lists import Entry, SortedList, counts
from server.notify.template import CHINA
from server.records.derived import accounting_years
from server.records.fields import LISTS, SECTIONS
from server.records.service import today
from server.review.access import STATUS_LABELS, rare_name
from server.review.detail import display, entries_text
from server.review.queue import regions_of, status_filter
from server.staff.model import Staff
from server.transfers.flows import flows
from server.xlsxstream import SheetSpec, XlsxStream

PAGE = 500  # list entries read per round (per list)
# Applications (then their archives) read concurrently. More were no faster (bench/export.py, 3,000
# rows on a busy machine: ~370-410 rows/s from 12 to 50, FerretDB the limit; half at 6) and /healthz
# waited behind their bursts of answers: p99 29-31 ms at 6-12, 55-72 ms at 24-50.
FETCH = 12
DEFLATE_BYTES = 256 * 1024  # sheet XML gathered before it is deflated (in a worker thread) and sent
SHEET, FLOW_SHEET = "会计人员信息", "调转流向"
FIELDS = [(section, name, spec) for section, fields in SECTIONS.items() for name, spec in fields.items()]
# every entry of each list in one cell (one line per entry), then the years of accounting work
LIST_HEADERS = [f"{spec.label}（全部）" for spec in LISTS.values()] + ["会计工作年限"]
HEADERS = (
    ["记录编号", "审核状态", "所在区", "档案号"]
    + [spec.label for _, _, spec in FIELDS]
    + LIST_HEADERS
    + ["含生僻字", "提交时间", "审核时间", "审核人", "审核意见"]
)
WIDTHS = [26, 10, 10, 22] + [16] * len(FIELDS) + [50] * len(LISTS) + [12] + [10, 18, 18, 12, 40]
# what a row needs of an application and of its archive (the rest is not read off the wire)
APP_PROJECTION = {"history": 0, "documents": 0, "photo": 0, "listed": 0, "payload": 0}
ARCHIVE_PROJECTION = {"data": 1, "record_id": 1}


def _local(value) -> dt.datetime | None:
    """A stored UTC datetime as naive China time for a spreadsheet cell."""
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA).replace(tzinfo=None)


def row_values(settings, doc: dict) -> list:
    """One spreadsheet row for a record."""
    decision = doc.get("decision") or {}
    values: list = [
        str(doc["_id"]),
        STATUS_LABELS.get(doc.get("status") or "", doc.get("status")),
        district_name(settings, doc.get("region_code")),
        doc.get("archive_no") or "",
    ]
    values += [display(spec, (doc.get(section) or {}).get(name)) for section, name, spec in FIELDS]
    values += [entries_text(doc, name) for name in LISTS]
    values.append(accounting_years(doc, today()))
    values += [
        "是" if rare_name(doc) else "否",
        _local(doc.get("submitted_at")),
        _local(doc.get("decided_at")),
        decision.get("by") or "",
        decision.get("reason") or "",
    ]
    return values


FLOW_HEADERS = ("调转类型", "调出地", "调入地", "办理中", "最久等待（天）", "合计", "各状态数量")


def flow_values(flow: dict) -> list:
    """One row of the transfer-flows sheet."""
    states = "；".join(f"{state}：{n}" for state, n in flow["counts"].items() if n)
    return [
        flow["kind_label"],
        flow["from_region_name"],
        flow["to_region_name"],
        flow["pending"],
        flow["oldest_pending_days"] if flow["oldest_pending_days"] is not None else "",
        flow["total"],
        states,
    ]


async def merged_entries(lists: list[SortedList], page: int = PAGE) -> AsyncIterator[list[Entry]]:
    """Every entry of the lists, merged by key, in batches of at most `page`; each list is read
    `page` entries at a time by key (after the last one read), so a long walk neither repeats
    nor skips an entry that stays put while others are added or removed."""
    bufs: list[deque[Entry]] = [deque() for _ in lists]
    after = [""] * len(lists)
    done = [False] * len(lists)

    async def fill(i: int) -> None:
        entries = await lists[i].range(after[i], None, page)
        if len(entries) < page:
            done[i] = True
        if entries:
            after[i] = entries[-1][0] + "\x00"  # the smallest key after the last one
            bufs[i].extend(entries)

    while True:
        await asyncio.gather(*(fill(i) for i in range(len(lists)) if not bufs[i] and not done[i]))
        out: list[Entry] = []
        # take the smallest head while every list that may hold more has one buffered
        while len(out) < page and all(bufs[i] or done[i] for i in range(len(lists))):
            live = [i for i in range(len(lists)) if bufs[i]]
            if not live:
                break
            out.append(bufs[min(live, key=lambda i: bufs[i][0][0])].popleft())
        if out:
            yield out
        elif all(done[i] and not bufs[i] for i in range(len(lists))):
            return


@dataclass
class Export:
    """One caller's export, filters checked: `count` rows (the lists' sizes when it was
    prepared), `chunks()` the .xlsx bytes."""

    services: Any
    staff: Staff
    lists: list[SortedList]
    count: int

    async def _rows(self, entries: list[Entry]) -> list[list]:
        """The spreadsheet rows of some list entries (applications and archives read concurrently)."""
        store = self.services.get(LifecycleStore)
        apps = await asyncio.gather(*[store.application(r["id"], APP_PROJECTION) for _, r in entries])
        approved = [a for a in apps if a and a.get("status") == "approved" and a.get("archive_no")]
        found = await asyncio.gather(
            *[store.archives.find_one({"_id": a["archive_no"]}, ARCHIVE_PROJECTION) for a in approved]
        )
        archives = {a["_id"]: arch for a, arch in zip(approved, found) if arch and arch.get("record_id") == a["_id"]}
        settings = self.services.settings
        out = []
        for app in apps:
            if app is not None and self.staff.can_see(app.get("region_code")):
                current = archives.get(app["_id"])
                out.append(row_values(settings, {**app, **(current or {}).get("data", {})}))
        return out

    async def _batches(self) -> AsyncGenerator[list[list], None]:
        """Rows in queue order, FETCH at a time."""
        async for page in merged_entries(self.lists):
            for i in range(0, len(page), FETCH):
                yield await self._rows(page[i : i + FETCH])

    async def _read_ahead(self) -> AsyncGenerator[list[list], None]:
        """`_batches`, the next batch being read while the caller handles this one."""
        source = self._batches()

        async def following() -> list[list] | None:
            try:
                return await anext(source)
            except StopAsyncIteration:
                return None

        ahead = asyncio.ensure_future(following())
        try:
            while (batch := await ahead) is not None:
                ahead = asyncio.ensure_future(following())
                yield batch
        finally:
            if not ahead.done():
                ahead.cancel()
                await asyncio.wait([ahead])
            await source.aclose()

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The .xlsx, chunk by chunk (the first one before anything is read from the database)."""
        book = XlsxStream([SheetSpec(SHEET, WIDTHS, freeze_header=True), SheetSpec(FLOW_SHEET)])
        gathered: list[bytes] = []
        size = 0
        deflating: asyncio.Future | None = None
        finished = False
        try:
            book.open_sheet()
            book.write(book.rows_xml([HEADERS]))
            yield book.take()
            async with aclosing(self._read_ahead()) as batches:
                async for rows in batches:
                    xml = book.rows_xml(rows)
                    gathered.append(xml)
                    size += len(xml)
                    if size >= DEFLATE_BYTES:
                        if deflating is not None:
                            await deflating
                        out = book.take()
                        deflating = asyncio.ensure_future(book.awrite(b"".join(gathered)))
                        gathered, size = [], 0
                        if out:
                            yield out  # sent while the next rows are deflated and read
            if deflating is not None:
                await deflating
            await book.awrite(b"".join(gathered))
            book.close_sheet()
            book.open_sheet()
            flow_rows = [flow_values(f) for f in await flows(self.services, self.staff)]
            book.write(book.rows_xml([list(FLOW_HEADERS), *flow_rows]))
            book.close()
            finished = True
            yield book.take()
        finally:
            if not finished:
                if deflating is not None and not deflating.done():
                    await asyncio.wait([deflating])  # the worker thread writes into the book until it ends
                book.discard()


async def prepare(services, staff: Staff, status: str | None, region: str | None) -> Export:
    """The caller's export of first collections (every state, or `status`; every district of
    theirs, or `region`): BadRequest for an unknown status or district, before anything is sent."""
    state = status_filter(status)
    lists = [
        SortedList(services.db, services.atomic, queue_name("collection", state, r))
        for r in regions_of(services.settings, staff, region)
    ]
    return Export(services, staff, lists, sum(await counts(lists)) if lists else 0)
