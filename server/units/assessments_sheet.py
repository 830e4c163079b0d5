"""The annual-assessment sheet (年度考评表), pure: read an uploaded .xlsx, check its rows, write the template.

`read_sheet(data, max_rows)` and `template(year, people)` are CPU work on bytes (openpyxl): the
service runs them in its bounded worker pool, never on the IOLoop. `check_rows` compares the
parsed rows with the unit's confirmed people and the results already recorded, and says for each
row what confirming would do: "new", "changed", "unchanged" or "error" (with its errors).

Columns (found by their header, in any order; traditional characters accepted):
证件号码 | 姓名 | 考评年度 | 考评结果 (合格 / 基本合格 / 不合格) | 评语 (optional) | 人员编号 (optional).
The template names each person by 人员编号 (the id the unit's lists use) and shows the ID number
masked, as every list does; a row typed by the unit names the person by the full ID number.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from faq.normalize import to_simplified
from server.masking import mask_id_number
from server.units.assessments_rules import COMMENT_MAX, RESULTS, parse_year, result_code, year_problem

HEADERS = {
    "id_number": "证件号码",
    "name": "姓名",
    "year": "考评年度",
    "result": "考评结果",
    "comment": "评语",
    "record_id": "人员编号",
}
REQUIRED = ("id_number", "name", "year", "result")
TEMPLATE_COLUMNS = ("id_number", "name", "year", "result", "comment", "record_id")
ALIASES = {"身份证号码": "id_number", "身份证号": "id_number", "证件号": "id_number", "年度": "year", "结果": "result"}
MAX_COLUMNS = 20
MAX_UNZIPPED = 64 * 1024 * 1024  # declared uncompressed size of the whole .xlsx (a zip bomb is refused unread)
HEADER_SEARCH_ROWS = 5  # the header row is among the first rows (a title row may precede it)


class SheetProblem(ValueError):
    """The file as a whole cannot be read as an assessment sheet: `code` and a Chinese message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Row:
    """One data row as read: `row` is its number in Excel (1-based)."""

    row: int
    id_number: str
    name: str
    year: Any
    result: Any
    comment: Any
    id_not_text: bool = False
    record_id: str = ""


@dataclass
class Checked:
    """One row after checking: what confirming would do with it."""

    row: int
    id_number: str
    name: str
    year: int | None
    result: str | None
    comment: str
    status: str = "new"  # new | changed | unchanged | error
    record_id: str | None = None
    errors: list[dict] = field(default_factory=list)

    def view(self) -> dict:
        """The row as the unit sees it in a preview (the ID number masked)."""
        return {
            "row": self.row,
            "id_number": mask_id_number(self.id_number) if self.id_number else "",
            "name": self.name,
            "year": self.year,
            "result": self.result,
            "result_label": RESULTS.get(self.result or "", ""),
            "comment": self.comment,
            "status": self.status,
            "errors": self.errors,
        }


def _header_key(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = to_simplified("".join(value.split())).split("(")[0].split("（")[0]
    for key, label in HEADERS.items():
        if text == label:
            return key
    return ALIASES.get(text)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_sheet(data: bytes, max_rows: int) -> list[Row]:
    """The data rows of the first sheet; SheetProblem when it is not a readable assessment sheet."""
    from openpyxl import load_workbook  # imported in the worker thread

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                raise SheetProblem("sheet_too_large", "表格内容过大，请分成几个文件上传")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except SheetProblem:
        raise
    except Exception:  # not a zip, not a workbook, a broken part: the file is unusable either way
        raise SheetProblem("sheet_unreadable", "无法读取该文件，请上传 Excel（.xlsx）格式的考评表") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise SheetProblem("sheet_empty", "表格中没有工作表")
        columns: dict[str, int] | None = None
        rows: list[Row] = []
        for n, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), 1):
            if columns is None:
                found = {k: i for i, v in enumerate(values) if (k := _header_key(v))}
                if all(k in found for k in REQUIRED):
                    columns = found
                elif n >= HEADER_SEARCH_ROWS:
                    break
                continue
            cells = {k: (values[i] if i < len(values) else None) for k, i in columns.items()}
            if all(v is None or _text(v) == "" for v in cells.values()):
                continue  # blank rows are skipped
            if len(rows) >= max_rows:
                raise SheetProblem("sheet_too_many_rows", f"一次最多上传 {max_rows} 行，请分成几个文件上传")
            raw_id = cells.get("id_number")
            rows.append(
                Row(
                    row=n,
                    id_number="".join(_text(raw_id).split()).upper(),
                    name="".join(_text(cells.get("name")).split()),
                    year=cells.get("year"),
                    result=cells.get("result"),
                    comment=cells.get("comment"),
                    id_not_text=isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool),
                    record_id=_text(cells.get("record_id")).lower(),
                )
            )
        if columns is None:
            labels = "、".join(HEADERS[k] for k in REQUIRED)
            raise SheetProblem("sheet_headers_missing", f"没有找到表头，第一行应包含：{labels}")
        return rows
    finally:
        book.close()


def _problem(field_name: str, code: str, message: str) -> dict:
    return {"field": field_name, "code": code, "message": message}


def check_rows(
    rows: Sequence[Row],
    people: Mapping[str, Mapping[str, Any]],
    resolved: Mapping[str, str],
    recorded: Mapping[tuple[int, str], Mapping[str, Any]],
    today: dt.date,
    first_year: int,
) -> list[Checked]:
    """Each row checked against the unit's people and the results already recorded.

    `people`: {record id: {name, masked (ID number), confirmed}} of everyone naming the unit;
    `resolved`: {full ID number: record id} of the numbers found registered;
    `recorded`: {(year, record id): {result, comment}} of this unit's results already stored.
    Errors: id_number_missing, id_number_not_text, id_number_masked, id_number_mismatch,
    unknown_person, not_confirmed, name_missing, name_mismatch, year_invalid, result_invalid,
    comment_too_long, duplicate_row (the same person and year twice: every such row is an error,
    none is written).
    """
    out: list[Checked] = []
    seen: dict[tuple[int, str], list[Checked]] = {}
    for raw in rows:
        errors: list[dict] = []
        rid: str | None = None
        if raw.record_id:
            rid = raw.record_id if raw.record_id in people else None
            if rid is None:
                errors.append(_problem("record_id", "unknown_person", "本单位没有该人员编号的会计人员"))
            elif raw.id_number and not _same_number(raw.id_number, str(people[rid].get("masked") or "")):
                errors.append(_problem("id_number", "id_number_mismatch", "证件号码与人员编号不一致"))
        elif not raw.id_number:
            errors.append(_problem("id_number", "id_number_missing", "请填写证件号码"))
        elif raw.id_not_text:
            errors.append(
                _problem(
                    "id_number", "id_number_not_text", "证件号码被 Excel 当成了数字，请将该列设为文本格式后重新填写"
                )
            )
        elif "*" in raw.id_number:
            errors.append(_problem("id_number", "id_number_masked", "请填写完整的证件号码（或保留模板中的人员编号）"))
        else:
            rid = resolved.get(raw.id_number)
            if rid not in people:
                rid = None
                errors.append(_problem("id_number", "unknown_person", "本单位没有该证件号码的会计人员"))
        person = people.get(rid) if rid else None
        if person is not None:
            if not person.get("confirmed"):
                errors.append(_problem("id_number", "not_confirmed", "该人员尚未经本单位确认在职，不能登记考评"))
            elif not raw.name:
                errors.append(_problem("name", "name_missing", "请填写姓名"))
            elif to_simplified(raw.name) != to_simplified(str(person.get("name") or "")):
                errors.append(_problem("name", "name_mismatch", "姓名与该证件号码的会计人员不一致"))
        year = parse_year(raw.year)
        bad_year = year_problem(year, today, first_year) if year is not None else "考评年度应为四位数字年份"
        if bad_year:
            errors.append(_problem("year", "year_invalid", bad_year))
        result = result_code(raw.result)
        if result is None:
            errors.append(_problem("result", "result_invalid", "考评结果应为：" + " / ".join(RESULTS.values())))
        comment = _text(raw.comment)
        if len(comment) > COMMENT_MAX:
            errors.append(_problem("comment", "comment_too_long", f"评语不能超过 {COMMENT_MAX} 个字"))
        checked = Checked(
            row=raw.row,
            id_number=raw.id_number if "*" not in raw.id_number else "",
            name=raw.name,
            year=year if not bad_year else None,
            result=result,
            comment=comment,
            record_id=rid,
            errors=errors,
        )
        if rid and checked.year is not None:
            seen.setdefault((checked.year, rid), []).append(checked)
        out.append(checked)
    for group in seen.values():
        if len(group) > 1:
            rows_text = "、".join(str(c.row) for c in group)
            for c in group:
                c.errors.append(
                    _problem("id_number", "duplicate_row", f"同一人员同一年度出现多次（第 {rows_text} 行）")
                )
    for c in out:
        if c.errors:
            c.status = "error"
            continue
        assert c.year is not None and c.record_id is not None
        before = recorded.get((c.year, c.record_id))
        if before is None:
            c.status = "new"
        elif before.get("result") == c.result and (before.get("comment") or "") == c.comment:
            c.status = "unchanged"
        else:
            c.status = "changed"
    return out


def _same_number(sheet: str, masked: str) -> bool:
    """The sheet's ID number (full or masked like the template's) agrees with the person's masked one."""
    return (sheet if "*" in sheet else mask_id_number(sheet)) == masked


def template(year: int, people: Sequence[Mapping[str, Any]]) -> bytes:
    """The sheet to fill in: one row per confirmed person (ID number masked as in every list, name, the
    year, the result already recorded if any, 人员编号), a drop-down of the results."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = f"{year}年度考评"
    sheet.append([HEADERS[k] for k in TEMPLATE_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for person in people:
        sheet.append(
            [
                person.get("id_number") or "",
                person.get("name") or "",
                year,
                RESULTS.get(person.get("result") or "", ""),
                person.get("comment") or "",
                person.get("record_id") or "",
            ]
        )
    last = max(2, len(people) + 1)
    for row in sheet.iter_rows(min_row=2, max_row=last, max_col=1):
        row[0].number_format = "@"  # 18-digit ID numbers stay text (a number would lose digits)
    choices = DataValidation(type="list", formula1='"' + ",".join(RESULTS.values()) + '"', allow_blank=True)
    choices.error = "请选择：" + " / ".join(RESULTS.values())
    sheet.add_data_validation(choices)
    choices.add(f"D2:D{last + 1000}")
    for col, width in zip("ABCDEF", (24, 12, 10, 12, 40, 28), strict=True):
        sheet.column_dimensions[col].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
