"""An .xlsx written as a stream: bytes come out while rows go in, and nothing grows with the row count.

An .xlsx is a zip of XML parts. The small static parts (content types, relationships, the
workbook, styles with date formats, document properties) are written first, whole; then each
sheet's `xl/worksheets/sheetN.xml` is deflated as its rows arrive. The zip goes into a sink
that is not seekable, so `zipfile` writes every entry with a data descriptor (sizes and CRC
after the data) and the central directory at the end: the output never has to be revisited.

Cells:

- text is an inline string (`t="inlineStr"`, no shared-strings table to hold in memory): never
  a formula, whatever it starts with (`=`, `+`, `-`, `@`); characters XML 1.0 cannot carry
  (control characters but tab, line feed and carriage return; U+FFFE, U+FFFF; lone surrogates)
  are removed, every other character is kept (outside the BMP too);
- `datetime` and `date` are real dates (serial numbers with the number formats
  `yyyy-mm-dd hh:mm` and `yyyy-mm-dd`); an aware datetime is written as its wall-clock time;
- `int`, `float` are numbers, `bool` a boolean; `None` and `""` leave the cell empty.

Use: `book = XlsxStream([SheetSpec(...), ...])`, then for each sheet in order `book.open_sheet()`,
`book.write(book.rows_xml(rows))` as often as needed (`await book.awrite(...)` deflates in a
worker thread: zlib releases the GIL, the event loop stays free), `book.close_sheet()`; finally
`book.close()`. `book.take()` hands over (and forgets) the bytes produced so far. One writer
at a time: do not call `take()` while an `awrite()` is running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO
from xml.sax.saxutils import quoteattr

from server.db import utcnow

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_STYLE, _DATE_STYLE = 1, 2  # indexes into cellXfs below
_EPOCH = dt.datetime(1899, 12, 30)  # Excel's 1900 date system, for dates after 1900-03-01
_EPOCH_DAY = _EPOCH.date()
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="xlsx")

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@dataclass(frozen=True)
class SheetSpec:
    """A sheet's name (at most 31 characters, none of []:*?/\\), column widths, and whether its
    first row stays in view (frozen) while scrolling."""

    name: str
    widths: Sequence[float] = ()
    freeze_header: bool = False


def column_letter(index: int) -> str:
    """Column letters of a zero-based index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def clean_text(value: str) -> str:
    """The text without the characters an .xlsx cannot hold."""
    return _ILLEGAL.sub("", value)


def _escape(text: str) -> str:
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")  # a bare CR would be read back as a line feed
    return text


def _serial(value: dt.datetime) -> str:
    delta = value.replace(tzinfo=None) - _EPOCH
    return repr(delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400)


class _Sink:
    """A write-only, non-seekable file for zipfile that keeps what it is given until taken."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def write(self, data: bytes, /) -> int:
        self.buf += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


class XlsxStream:
    """One workbook being written (see the module doc)."""

    def __init__(self, sheets: Sequence[SheetSpec], compresslevel: int = 6):
        if not sheets:
            raise ValueError("a workbook needs a sheet")
        names = set()
        for spec in sheets:
            if not spec.name or len(spec.name) > 31 or _SHEET_NAME_BAD.search(spec.name):
                raise ValueError(f"not a valid sheet name: {spec.name!r}")
            if spec.name.casefold() in names:
                raise ValueError(f"two sheets named {spec.name!r}")
            names.add(spec.name.casefold())
        self.sheets = list(sheets)
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self._entry: IO[bytes] | None = None
        self._next = 0  # the next sheet to open
        self._row = 0  # rows written to the open sheet
        self._columns: list[str] = []
        for name, text in self._static_parts():
            self._zip.writestr(name, text.encode("utf-8"))

    # -- the parts written once ----------------------------------------------------------

    def _static_parts(self) -> list[tuple[str, str]]:
        n = len(self.sheets)
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, n + 1)
        )
        content_types = (
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{sheet_types}"
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            "</Types>"
        )
        root_rels = (
            f'{_XML}<Relationships xmlns="{_PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{_PKG_REL_NS}/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"
        )
        created = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
        core = (
            f"{_XML}<cp:coreProperties "
            'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
            "</cp:coreProperties>"
        )
        app = (
            f"{_XML}<Properties "
            'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            "<Application>kjcj</Application></Properties>"
        )
        sheets = "".join(
            f'<sheet name={quoteattr(spec.name)} sheetId="{i}" r:id="rId{i}"/>' for i, spec in enumerate(self.sheets, 1)
        )
        workbook = (
            f'{_XML}<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}">'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets></workbook>'
        )
        workbook_rels = (
            f'{_XML}<Relationships xmlns="{_PKG_REL_NS}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, n + 1)
            )
            + f'<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            "</Relationships>"
        )
        font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
        styles = (
            f'{_XML}<styleSheet xmlns="{_NS}">'
            f'<numFmts count="2"><numFmt numFmtId="164" formatCode="{DATETIME_FORMAT}"/>'
            f'<numFmt numFmtId="165" formatCode="{DATE_FORMAT}"/></numFmts>'
            f'<fonts count="1"><font>{font}</font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        )
        return [
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", root_rels),
            ("docProps/core.xml", core),
            ("docProps/app.xml", app),
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", workbook_rels),
            ("xl/styles.xml", styles),
        ]

    # -- sheets ----------------------------------------------------------------------------

    def open_sheet(self) -> SheetSpec:
        """Start the next sheet (its head written); returns its spec."""
        if self._entry is not None:
            raise RuntimeError("close the open sheet first")
        if self._next >= len(self.sheets):
            raise RuntimeError("every sheet has been written")
        spec = self.sheets[self._next]
        self._next += 1
        self._row = 0
        entry = self._entry = self._zip.open(f"xl/worksheets/sheet{self._next}.xml", "w")
        view = '<sheetView workbookViewId="0"' + (' tabSelected="1"' if self._next == 1 else "")
        if spec.freeze_header:
            view += (
                '><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>'
            )
        else:
            view += "/>"
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>' for i, w in enumerate(spec.widths, 1)
        )
        head = (
            f'{_XML}<worksheet xmlns="{_NS}" xmlns:r="{_REL_NS}">'
            f"<sheetViews>{view}</sheetViews>"
            '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>"
        )
        entry.write(head.encode("utf-8"))
        return spec

    def close_sheet(self) -> None:
        """End the open sheet."""
        if self._entry is None:
            raise RuntimeError("no sheet is open")
        self._entry.write(b"</sheetData></worksheet>")
        self._entry.close()
        self._entry = None

    def rows_xml(self, rows: Iterable[Sequence]) -> bytes:
        """The XML of the next rows of the open sheet (numbered on from the rows before)."""
        if self._entry is None:
            raise RuntimeError("no sheet is open")
        out: list[str] = []
        append = out.append
        columns = self._columns
        for values in rows:
            self._row += 1
            r = str(self._row)
            append(f'<row r="{r}">')
            if len(values) > len(columns):
                columns.extend(column_letter(i) for i in range(len(columns), len(values)))
            for col, v in zip(columns, values):
                if v is None:
                    continue
                kind = type(v)
                if kind is str:
                    if not v:
                        continue
                    text = _escape(v)
                    if not text:
                        continue
                    if text[0].isspace() or text[-1].isspace():
                        append(f'<c r="{col}{r}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
                    else:
                        append(f'<c r="{col}{r}" t="inlineStr"><is><t>{text}</t></is></c>')
                elif kind is bool:
                    append(f'<c r="{col}{r}" t="b"><v>{int(v)}</v></c>')
                elif kind is int:
                    append(f'<c r="{col}{r}"><v>{v}</v></c>')
                elif kind is float:
                    if math.isfinite(v):
                        append(f'<c r="{col}{r}"><v>{v!r}</v></c>')
                elif isinstance(v, dt.datetime):
                    append(f'<c r="{col}{r}" s="{_DATETIME_STYLE}"><v>{_serial(v)}</v></c>')
                elif isinstance(v, dt.date):
                    append(f'<c r="{col}{r}" s="{_DATE_STYLE}"><v>{(v - _EPOCH_DAY).days}</v></c>')
                elif isinstance(v, bool | int | float | str):  # subclasses (an IntEnum, a str enum...)
                    append(self._cell_of_subclass(col, r, v))
                else:
                    raise TypeError(f"cannot write a {kind.__name__} to a cell")
            append("</row>")
        return "".join(out).encode("utf-8")

    def _cell_of_subclass(self, col: str, r: str, v) -> str:
        if isinstance(v, str):
            text = _escape(str(v))
            return f'<c r="{col}{r}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>' if text else ""
        if isinstance(v, bool):
            return f'<c r="{col}{r}" t="b"><v>{int(v)}</v></c>'
        number = float(v) if isinstance(v, float) else int(v)
        return f'<c r="{col}{r}"><v>{number!r}</v></c>' if math.isfinite(number) else ""

    def write(self, xml: bytes) -> None:
        """Deflate sheet XML into the output (may run in a worker thread)."""
        if self._entry is None:
            raise RuntimeError("no sheet is open")
        self._entry.write(xml)

    async def awrite(self, xml: bytes) -> None:
        """`write` in a worker thread."""
        await asyncio.get_running_loop().run_in_executor(_POOL, self.write, xml)

    def close(self) -> None:
        """End the workbook: the zip's central directory. Every sheet must have been written."""
        if self._entry is not None:
            self.close_sheet()
        while self._next < len(self.sheets):  # an empty sheet for each one not written
            self.open_sheet()
            self.close_sheet()
        self._zip.close()

    def take(self) -> bytes:
        """The bytes produced since the last call."""
        return self._sink.take()

    def discard(self) -> None:
        """Give up an unfinished workbook (what it would still produce is thrown away)."""
        try:
            if self._entry is not None:
                self._entry.close()
            self._zip.close()
        finally:
            self._entry = None
            self._sink.buf.clear()
