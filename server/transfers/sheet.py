"""The transfer sheet (会计人员调转信息表) as a PDF: A4 portrait, a CJK TrueType font embedded as a subset.

`render_sheet(sheet, font_paths)` is pure and synchronous (the same sheet gives the same bytes: the
creation date is the issue date); callers run it in an executor. Most of its 0.4-0.6 s is fontTools
parsing the font (BabelStone Han, 51 MB, every CJK extension, so rare name characters beyond the BMP
print) and subsetting it on output. The font is parsed once per document: fpdf2's output subsets the
parsed font in place, so it cannot serve a second document; sharing only fpdf2's derived tables
(cmap, widths) across documents saved about 0.1 s but means building its private `TTFFont` by hand.

Layout: the title; a header block (number, verification code, date, name, archive number, from, to,
reason) with the ID photo at its top right; each section of the archive as a two-column table
(label | value) whose values wrap by character and whose rows split across pages only when taller
than a page; on every page a footer with the verification sentence and "第 N 页 共 M 页".
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, TextMode, WrapMode

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
TITLE = "会计人员调转信息表"
FONT = "han"

# Layout in millimetres (A4 is 210 x 297).
MARGIN = 15.0
TOP = 14.0
BOTTOM = 24.0  # below this line only the footer: the verification sentence (two lines) and the page number
LINE = 5.6  # line height of table text
PAD_X = 1.6  # cell padding, left and right
PAD_Y = 1.2  # cell padding, top and bottom
LABEL_WIDTH = 40.0
PHOTO_WIDTH, PHOTO_HEIGHT = 25.0, 35.0  # one-inch ID photo
PHOTO_GAP = 4.0
TEXT_PT = 10.0
TITLE_PT = 18.0
SMALL_PT = 8.0
LABEL_FILL = (242, 242, 242)
HEADING_FILL = (222, 228, 236)
MIN_SPLIT_LINES = 3  # a row taller than a page starts on the current page only with this many lines of room
HANGING = set("，。、；：！？）》」』】〕”’,.;:!?)")  # never start a line: one hangs at the end of the line before


# fontTools holds the 51 MB font about twice while parsing and subsetting it: +110 MB per render
# (measured), and two at once in the executor's threads peaked at +290 MB. So one at a time.
_ONE_AT_A_TIME = threading.Lock()


class SheetFontMissing(RuntimeError):
    """None of the configured font files exists, so the sheet cannot be rendered."""


def font_available(font_paths: Iterable[Path]) -> Path | None:
    """The first of `font_paths` that is an existing file, or None."""
    for path in font_paths:
        if Path(path).is_file():
            return Path(path)
    return None


def render_sheet(sheet: Mapping[str, Any], font_paths: list[Path]) -> bytes:
    """The transfer sheet `sheet` as PDF bytes (see the module docstring for the layout).

    `sheet`: number, code, issued_at (datetime, UTC), from_office, to_region, reason_label, name,
    archive_no, verify_path, sections ([{label, fields: [{label, display}]}]) and optional photo (JPEG).
    """
    font = font_available(font_paths)
    if font is None:
        tried = ", ".join(str(p) for p in font_paths) or "(none)"
        raise SheetFontMissing(
            f"no font file for the transfer sheet PDF (tried {tried}); run `make fonts` or set PDF_FONTS"
        )
    with _ONE_AT_A_TIME:
        return _render(sheet, font)


def _render(sheet: Mapping[str, Any], font: Path) -> bytes:
    """render_sheet's work, with the font file chosen."""
    issued = _china_time(sheet["issued_at"])
    notice = f"本表由调出地财政局出具。调入地可凭编号和验证码在 {sheet['verify_path']} 核验真伪。"
    pdf = _SheetPDF(number=_text(sheet["number"]), notice=notice)
    pdf.add_font(FONT, fname=str(font))
    pdf.set_title(f"{TITLE} {_text(sheet['number'])}")
    pdf.set_author(_text(sheet["from_office"]))
    pdf.set_creator("会计人员信息采集")
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(issued)
    pdf.add_page()

    pdf.set_font(FONT, size=TITLE_PT)
    with pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=0.3):  # the font has no bold: stroke it too
        pdf.cell(0, 10, TITLE, align="C")
    pdf.set_xy(MARGIN, pdf.get_y() + 14)

    pdf.set_font(FONT, size=TEXT_PT)
    header = [
        ("调转信息表编号", sheet["number"]),
        ("验证码", sheet["code"]),
        ("出具日期", f"{issued.year}年{issued.month:02d}月{issued.day:02d}日"),
        ("姓名", sheet["name"]),
        ("档案号", sheet["archive_no"]),
        ("调出地", sheet["from_office"]),
        ("调入地", sheet["to_region"]),
        ("调转原因", sheet["reason_label"]),
    ]
    width = pdf.epw
    top = pdf.get_y()
    photo = sheet.get("photo")
    if photo:
        width -= PHOTO_WIDTH + PHOTO_GAP
        x = MARGIN + width + PHOTO_GAP
        pdf.image(io.BytesIO(photo), x=x, y=top, w=PHOTO_WIDTH, h=PHOTO_HEIGHT, keep_aspect_ratio=True)
        pdf.rect(x, top, PHOTO_WIDTH, PHOTO_HEIGHT)
    for label, value in header:
        _row(pdf, label, _text(value), width)
    pdf.set_y(max(pdf.get_y(), top + (PHOTO_HEIGHT if photo else 0)) + 5)

    for section in sheet["sections"]:
        _section(pdf, _text(section["label"]), section["fields"])
    return bytes(pdf.output())


class _SheetPDF(FPDF):
    """A4 portrait with the sheet's running header (after page 1) and footer (every page)."""

    def __init__(self, number: str, notice: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.number = number
        self.notice = notice
        self.section = ""  # the section being drawn: its heading is repeated on a new page
        self.set_margins(MARGIN, TOP, MARGIN)
        self.set_auto_page_break(False, margin=BOTTOM)  # the rows break pages themselves (_row)
        self.c_margin = PAD_X

    @property
    def limit(self) -> float:
        """The lowest y the body may reach."""
        return self.h - BOTTOM

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font(FONT, size=SMALL_PT)
            self.set_text_color(90)
            self.set_xy(MARGIN, 8)
            self.cell(0, 4, f"{TITLE}  编号 {self.number}", align="R")
            self.set_text_color(0)
            self.set_xy(MARGIN, TOP)

    def footer(self) -> None:
        self.set_font(FONT, size=SMALL_PT)
        self.set_text_color(60)
        self.set_draw_color(160)
        self.line(MARGIN, self.h - BOTTOM + 3, self.w - MARGIN, self.h - BOTTOM + 3)
        self.set_draw_color(0)
        self.set_xy(MARGIN, self.h - BOTTOM + 4.5)
        self.multi_cell(0, 4, self.notice, align="L")  # by word: a path too long for the line goes to the next whole
        self.set_xy(MARGIN, self.h - 9)
        self.cell(0, 4, f"第 {self.page_no()} 页 共 {{nb}} 页", align="C")
        self.set_text_color(0)

    def new_page(self) -> None:
        """Next page; inside a section, its heading again, marked as continued."""
        self.add_page()
        self.set_font(FONT, size=TEXT_PT)
        if self.section:
            _heading(self, f"{self.section}（续）")


def _section(pdf: _SheetPDF, label: str, fields: Sequence[Mapping[str, Any]]) -> None:
    """A section heading and its fields as label | value rows; the heading never ends a page."""
    pdf.section = ""
    first = 1  # lines of the first row _row would draw right below the heading
    if fields:
        first = _row_lines(pdf, _text(fields[0]["label"]), _text(fields[0].get("display")), pdf.epw)
        if first > _lines_per_page(pdf):
            first = MIN_SPLIT_LINES  # a row taller than a page starts wherever that many lines fit
    if pdf.get_y() + (LINE + 2 * PAD_Y) + (first * LINE + 2 * PAD_Y) > pdf.limit:
        pdf.new_page()
    _heading(pdf, label)
    pdf.section = label
    for field in fields:
        _row(pdf, _text(field["label"]), _text(field.get("display")), pdf.epw)
    pdf.section = ""
    pdf.set_y(pdf.get_y() + 3)


def _heading(pdf: FPDF, label: str) -> None:
    """A full-width shaded bar with the section's name."""
    y = pdf.get_y()
    height = LINE + 2 * PAD_Y
    pdf.set_fill_color(*HEADING_FILL)
    pdf.rect(MARGIN, y, pdf.epw, height, style="DF")
    pdf.set_xy(MARGIN, y + PAD_Y)
    with pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=0.15):
        pdf.cell(pdf.epw, LINE, label)
    pdf.set_xy(MARGIN, y + height)


def _row_lines(pdf: FPDF, label: str, value: str, width: float) -> int:
    """How many lines a label | value row `width` wide takes."""
    return max(len(_wrap(pdf, label, LABEL_WIDTH)), len(_wrap(pdf, value, width - LABEL_WIDTH)))


def _lines_per_page(pdf: _SheetPDF) -> int:
    """Lines of a row that starts a page, below a continued section's heading."""
    return int((pdf.limit - pdf.t_margin - (LINE + 2 * PAD_Y) - 2 * PAD_Y) // LINE)


def _row(pdf: _SheetPDF, label: str, value: str, width: float) -> None:
    """One label | value row at the left margin, `width` wide, breaking pages as needed.

    A row that fits on a page is never split: it moves to the next page whole. A taller one fills
    the rest of this page and goes on, with the label marked （续）, on the next.
    """
    labels = _wrap(pdf, label, LABEL_WIDTH)
    values = _wrap(pdf, value, width - LABEL_WIDTH)
    per_page = _lines_per_page(pdf)
    while True:
        lines = max(len(labels), len(values))
        room = int((pdf.limit - pdf.get_y() - 2 * PAD_Y) // LINE)
        if lines <= room:
            _draw_row(pdf, labels, values, width)
            return
        if lines <= per_page or room < MIN_SPLIT_LINES:
            pdf.new_page()
            continue
        _draw_row(pdf, labels[:room], values[:room], width)
        labels, values = labels[room:], values[room:]
        if not labels:
            labels = _wrap(pdf, f"{label}（续）", LABEL_WIDTH)
        if not values:
            values = [""]
        pdf.new_page()


def _draw_row(pdf: FPDF, labels: list[str], values: list[str], width: float) -> None:
    """Draw the lines of one row (they fit) and move below it."""
    y = pdf.get_y()
    height = max(len(labels), len(values)) * LINE + 2 * PAD_Y
    pdf.set_fill_color(*LABEL_FILL)
    pdf.rect(MARGIN, y, LABEL_WIDTH, height, style="DF")
    pdf.rect(MARGIN + LABEL_WIDTH, y, width - LABEL_WIDTH, height)
    for x, w, lines in ((MARGIN, LABEL_WIDTH, labels), (MARGIN + LABEL_WIDTH, width - LABEL_WIDTH, values)):
        for i, line in enumerate(lines):
            pdf.set_xy(x, y + PAD_Y + i * LINE)
            pdf.cell(w, LINE, line)
    pdf.set_xy(MARGIN, y + height)


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """`text` broken into the lines a cell `width` wide holds.

    By character, as Chinese has no spaces; a closing punctuation mark that would start a line hangs
    at the end of the line before instead (its ink fits in the cell's padding), as Chinese
    typesetting does.
    """
    lines = pdf.multi_cell(width, LINE, text, dry_run=True, output=MethodReturnValue.LINES, wrapmode=WrapMode.CHAR)
    assert isinstance(lines, list)
    out: list[str] = []
    for line in (str(line) for line in lines):
        if out and line[:1] in HANGING:
            out[-1] += line[0]
            if len(line) == 1:
                continue
            line = line[1:]
        out.append(line)
    return out or [""]


def _text(value: Any) -> str:
    """A printable value: None as empty, Windows line ends as plain ones."""
    return "" if value is None else str(value).replace("\r\n", "\n").replace("\r", "\n")


def _china_time(value: dt.datetime) -> dt.datetime:
    """`value` (UTC; naive means UTC, as PyMongo returns it without tz_aware) in Beijing time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA)
