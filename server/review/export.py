"""Excel export of the caller's records (openpyxl write-only, built in an executor).

Values are written as text exactly as stored (rare characters intact, ID numbers with
their leading digits and X); text that starts with "=" is forced to a string, never a formula.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from server.districts import district_name
from server.lifecycle.readmodel import queue_name
from server.lifecycle.store import LifecycleStore
from server.lists import SortedList, merged_page
from server.notify.template import CHINA
from server.records.fields import SECTIONS
from server.review.access import STATUS_LABELS, rare_name
from server.review.detail import display
from server.review.queue import regions_of, status_filter
from server.staff.model import Staff
from server.transfers.flows import flows

PAGE = 500  # rows read from the lists per round
FETCH = 50  # applications read concurrently
FIELDS = [(section, name, spec) for section, fields in SECTIONS.items() for name, spec in fields.items()]
HEADERS = (
    ["记录编号", "审核状态", "所在区", "档案号"]
    + [spec.label for _, _, spec in FIELDS]
    + ["含生僻字", "提交时间", "审核时间", "审核人", "审核意见"]
)


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


def build_workbook(rows: list[list], out: IO[bytes], flows: list[list] | None = None) -> None:
    """Write the rows (and the transfer flows, on a second sheet) as an .xlsx to `out` (runs in an executor)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("会计人员信息")
    for i, width in enumerate([26, 10, 10, 22] + [16] * len(FIELDS) + [10, 18, 18, 12, 40]):
        ws.column_dimensions[_column(i)].width = width
    ws.freeze_panes = "A2"
    ws.append(HEADERS)
    for values in rows:
        cells = []
        for v in values:
            if isinstance(v, str):
                cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", v))
                cell.data_type = "s"  # never a formula
            else:
                cell = WriteOnlyCell(ws, value=v)
                if isinstance(v, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
            cells.append(cell)
        ws.append(cells)
    if flows is not None:
        fs = wb.create_sheet("调转流向")
        fs.append(list(FLOW_HEADERS))
        for values in flows:
            fs.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    wb.save(out)


def _column(index: int) -> str:
    """Spreadsheet column letters of a zero-based index."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


async def export_rows(services, staff: Staff, status: str | None, region: str | None) -> list[list]:
    """The spreadsheet rows of the caller's first collections, in queue order (archives' current fields)."""
    state = status_filter(status)
    lists = [
        SortedList(services.db, services.atomic, queue_name("collection", state, r))
        for r in regions_of(services.settings, staff, region)
    ]
    store = services.get(LifecycleStore)
    out: list[list] = []
    offset = 0
    while lists:
        page = await merged_page(lists, offset, PAGE)
        for i in range(0, len(page), FETCH):
            apps = await asyncio.gather(*[store.application(r["id"]) for _, r in page[i : i + FETCH]])
            approved = [a for a in apps if a and a.get("status") == "approved" and a.get("archive_no")]
            archives = {
                a["_id"]: arch
                for a, arch in zip(approved, await asyncio.gather(*[store.archive(a["archive_no"]) for a in approved]))
                if arch and arch.get("record_id") == a["_id"]
            }
            for app in apps:
                if app is not None and staff.can_see(app.get("region_code")):
                    current = archives.get(app["_id"])
                    out.append(row_values(services.settings, {**app, **(current or {}).get("data", {})}))
        if len(page) < PAGE:
            break
        offset += PAGE
    return out


async def export_xlsx(services, staff: Staff, status: str | None, region: str | None) -> tuple[IO[bytes], int]:
    """(a temporary file positioned at 0, record count) of the caller's records as .xlsx."""
    rows = await export_rows(services, staff, status, region)
    flow_rows = [flow_values(f) for f in await flows(services, staff)]
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115  # the caller streams and closes it
    try:
        await asyncio.get_running_loop().run_in_executor(None, build_workbook, rows, out, flow_rows)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, len(rows)
