"""An uploaded register file → normalised rows and per-row errors (pure; run it in an executor).

`parse_file(data, file_name, districts, today, max_rows)` reads an .xlsx (openpyxl, read-only,
values only) or a CSV (UTF-8 with or without BOM, else GB18030), finds the columns by their
headers (server/legacy/template.py), and checks every row. A whole-file problem (not a table,
no header, a required column missing, too many rows) raises `FileProblem`; a row's problems
are collected as {row, field, code, message} (row = the spreadsheet's row number) and the row
is left out. Messages never quote the row's values (they are personal data).

A good row becomes the register document's content (`_id` = the archive number, as
`server.records.validation.archive_no` makes it from a record: the normalised ID number) with
a `digest` of that content: importing the same row again is recognised as unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from server.errors import Invalid
from server.legacy.template import CE_STATUS, LABELS, REQUIRED, header_key
from server.publicquery import parse_number
from server.records.districts import Districts
from server.records.errors import FieldProblem
from server.records.names import normalize_name

MAX_TEXT = 150  # unit names, archive numbers, notes
MAX_NOTES = 20
MAX_EMPLOYERS = 30
MAX_CE_YEARS = 60
MIN_WORK_DATE = dt.date(1950, 1, 1)
MAX_CREDITS = 1000
MAX_COLUMNS = 100  # columns read from a sheet (the template has 9; one per CE year at most adds 60)
MAX_UNPACKED = 1 << 30  # bytes an .xlsx may unpack to (a 100,000-row register unpacks to ~60 MB)
_CERT_RE = re.compile(r"^[A-Za-z0-9-]{4,40}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_DATE_RES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_SPLIT = re.compile(r"[;；\n]+")
_CE_ITEM = re.compile(r"^((?:19|20)\d\d)年?\s*[:：]\s*(.+)$")


class FileProblem(Exception):
    """The file as a whole cannot be read as a register (maps to a 4xx)."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(code)
        self.code, self.message, self.status = code, message, status


class RowProblem(Exception):
    def __init__(self, field: str, code: str, message: str):
        super().__init__(code)
        self.field, self.code, self.message = field, code, message


@dataclass
class Parsed:
    """The outcome of reading a file: good rows (register documents) and the problems found."""

    rows: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    total: int = 0  # data rows read (blank rows not counted)
    error_rows: int = 0


def digest(content: dict) -> str:
    """A stable digest of a row's content (what `unchanged` compares)."""
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- reading the table ------------------------------------------------------------------------


def _cells_xlsx(data: bytes) -> Iterator[tuple[int, tuple]]:
    from openpyxl import load_workbook

    corrupt = FileProblem("corrupt_file", "文件已损坏或不是有效的 Excel 文件")
    try:
        unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except Exception as exc:
        raise corrupt from exc
    if unpacked > MAX_UNPACKED:  # a "zip bomb": openpyxl would unpack the shared strings whole
        raise FileProblem("file_too_large", "Excel 文件解压后过大，请删除无关的工作表或另存为 CSV", 413)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken archive or workbook: zipfile, XML and openpyxl's own errors alike
        raise corrupt from exc
    try:
        if not wb.worksheets:
            raise corrupt
        rows = enumerate(wb.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True), 1)
        while True:
            try:
                item = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a sheet whose XML breaks off
                raise corrupt from exc
            yield item
    finally:
        wb.close()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" (UTF-16, tab-separated)
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileProblem(
            "undecodable_file", "无法识别文件编码：CSV 文件请保存为 UTF-8 或 GB18030（GBK）编码"
        ) from None


def _cells_csv(data: bytes) -> Iterator[tuple[int, tuple]]:
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise FileProblem("undecodable_file", "文件编码不正确：UTF-8 文件中有无效字符") from None
    if "\x00" in text:
        raise FileProblem("unsupported_file_type", "请上传 .xlsx 或 .csv 文件", 415)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if first.count("\t") > first.count(",") else ",")
    try:
        for values in reader:
            yield reader.line_num, tuple(values)
    except csv.Error:
        raise FileProblem("corrupt_file", "CSV 文件格式不正确（引号未闭合等）") from None


def file_kind(data: bytes, file_name: str) -> str:
    """ "xlsx" or "csv" by content (the name only breaks no tie), else FileProblem (415)."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem("unsupported_file_type", "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后上传", 415)
    if data.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8")):
        raise FileProblem("unsupported_file_type", "请上传 .xlsx 或 .csv 文件", 415)
    return "csv"


def _blank(values: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


# -- one cell -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def _plain(value: Any, name: str, max_len: int = MAX_TEXT) -> str | None:
    text = _text(value)
    if not text:
        return None
    if _CONTROL.search(text) or len(text) > max_len:
        raise RowProblem(name, "invalid_text", f"{LABELS.get(name, name)}过长或含有不可见字符")
    return text


def parse_date(value: Any, name: str, today: dt.date) -> str | None:
    """An ISO date from a text or Excel date cell (None when empty), else RowProblem."""
    label = LABELS.get(name, name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = _text(value)
        for pattern in _DATE_RES:
            m = pattern.match(text)
            if m:
                try:
                    day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    raise RowProblem(name, "invalid_date", f"{label}不是有效日期") from None
                break
        else:
            raise RowProblem(name, "invalid_date", f"{label}格式不正确，应如 2001-03-01")
    if day > today:
        raise RowProblem(name, "future_date", f"{label}不能晚于今天")
    if day < MIN_WORK_DATE:
        raise RowProblem(name, "invalid_date", f"{label}不合理（早于1950年）")
    return day.isoformat()


def _employers(value: Any, today: dt.date) -> list[dict]:
    out = []
    for part in _SPLIT.split(_text(value)):
        if not part.strip():
            continue
        pieces = [p.strip() for p in re.split(r"[|｜]", part)]
        if len(pieces) > 3 or not pieces[0]:
            raise RowProblem(
                "past_employers", "invalid_employer", "曾任职单位格式不正确，应为 单位名称|起始日期|结束日期"
            )
        unit = _plain(pieces[0], "past_employers")
        start = parse_date(pieces[1], "past_employers", today) if len(pieces) > 1 else None
        end = parse_date(pieces[2], "past_employers", today) if len(pieces) > 2 else None
        if start and end and end < start:
            raise RowProblem("past_employers", "invalid_period", "曾任职单位的结束日期早于起始日期")
        out.append({"unit_name": unit, "from": start, "to": end})
    if len(out) > MAX_EMPLOYERS:
        raise RowProblem("past_employers", "too_many", f"曾任职单位最多{MAX_EMPLOYERS}个")
    return out


def _ce_value(year: int, raw: str, name: str) -> dict:
    raw = raw.strip()
    if raw in CE_STATUS:
        return {"year": year, "status": CE_STATUS[raw]}
    try:
        credits = float(raw)
    except ValueError:
        raise RowProblem(name, "invalid_ce", "继续教育应为 年度:学分 或 年度:合格/不合格/未参加") from None
    if not 0 <= credits <= MAX_CREDITS:
        raise RowProblem(name, "invalid_ce", "继续教育学分不合理")
    return {"year": year, "credits": int(credits) if credits.is_integer() else credits}


def _ce_years(value: Any, columns: dict[int, Any], today: dt.date) -> list[dict]:
    found: dict[int, dict] = {}
    for part in _SPLIT.split(_text(value)):
        if not part.strip():
            continue
        m = _CE_ITEM.match(part.strip())
        if not m:
            raise RowProblem("ce_years", "invalid_ce", "继续教育应为 年度:学分，多个年度用分号隔开，如 2019:90;2020:72")
        year = int(m.group(1))
        if year in found:
            raise RowProblem("ce_years", "invalid_ce", "继续教育中有重复的年度")
        found[year] = _ce_value(year, m.group(2), "ce_years")
    for year, cell in columns.items():
        text = _text(cell)
        if text:
            if year in found:
                raise RowProblem("ce_years", "invalid_ce", "继续教育中有重复的年度")
            found[year] = _ce_value(year, text, "ce_years")
    if any(y > today.year for y in found):
        raise RowProblem("ce_years", "invalid_ce", "继续教育年度不能晚于今年")
    if len(found) > MAX_CE_YEARS:
        raise RowProblem("ce_years", "too_many", "继续教育年度过多")
    return [found[y] for y in sorted(found)]


def _notes(value: Any) -> list[str]:
    notes = [_plain(p, "integrity_notes", 500) for p in _SPLIT.split(_text(value)) if p.strip()]
    if len(notes) > MAX_NOTES:
        raise RowProblem("integrity_notes", "too_many", f"诚信记录最多{MAX_NOTES}条")
    return [n for n in notes if n]


def _region(value: Any, districts: Districts, by_name: dict[str, str]) -> str:
    text = "".join(_text(value).split())
    if not text:
        raise RowProblem("region", "required", "请填写所在区")
    code = text if text in districts.codes else by_name.get(text)
    if code is None:
        raise RowProblem("region", "unknown_region", "所在区不是本市的区（填区代码或区名称）")
    return code


def _number(value: Any) -> tuple[str, dt.date | None]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise RowProblem(
            "id_number",
            "id_number_not_text",
            "证件号码被存成了数字（可能已丢失末几位），请将该列设为文本格式后重新填写",
        )
    text = _text(value)
    if not text:
        raise RowProblem("id_number", "required", "请填写证件号码")
    try:
        number = parse_number(text)
    except Invalid as exc:
        item = exc.fields[0] if exc.fields else {}
        raise RowProblem("id_number", "invalid_id_number", str(item.get("message") or "证件号码不正确")) from None
    born = None
    if len(number) == 18 and number[:17].isdigit():
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return number, born


def parse_row(
    cells: dict[str, Any], ce_columns: dict[int, Any], districts: Districts, by_name: dict[str, str], today: dt.date
) -> tuple[dict, list[RowProblem]]:
    """One row's register content (without `_id` and `digest`) and its problems."""
    problems: list[RowProblem] = []
    doc: dict[str, Any] = {}

    def take(key: str, fn) -> None:
        try:
            doc[key] = fn()
        except RowProblem as p:
            problems.append(p)

    def name() -> str:
        raw = _text(cells.get("name"))
        if not raw:
            raise RowProblem("name", "required", "请填写姓名")
        try:
            return normalize_name(raw)
        except FieldProblem as p:
            raise RowProblem("name", "invalid_name", p.message) from None

    def certificate() -> str | None:
        text = _plain(cells.get("old_certificate_no"), "old_certificate_no")
        if text is not None and not _CERT_RE.match(text.upper()):
            raise RowProblem(
                "old_certificate_no", "invalid_certificate_no", "原会计从业资格证书编号应为4至40位字母、数字或短横线"
            )
        return text.upper() if text else None

    take("name", name)
    take("id_number", lambda: _number(cells.get("id_number")))
    take("archive_no_old", lambda: _plain(cells.get("archive_no_old"), "archive_no_old", 60))
    take("old_certificate_no", certificate)
    take("first_work_date", lambda: parse_date(cells.get("first_work_date"), "first_work_date", today))
    take("region_code", lambda: _region(cells.get("region"), districts, by_name))
    take("past_employers", lambda: _employers(cells.get("past_employers"), today))
    take("ce_years", lambda: _ce_years(cells.get("ce_years"), ce_columns, today))
    take("integrity_notes", lambda: _notes(cells.get("integrity_notes")))
    if not problems:
        number, born = doc.pop("id_number")
        doc["_id"] = number
        if born and doc.get("first_work_date") and doc["first_work_date"] < born.isoformat():
            problems.append(RowProblem("first_work_date", "before_birth", "首次参加会计工作日期早于出生日期"))
    return doc, problems


def parse_file(data: bytes, file_name: str, districts: Districts, today: dt.date, max_rows: int) -> Parsed:
    """Every row of the file checked (see the module doc); FileProblem for the file as a whole."""
    if not data:
        raise FileProblem("empty_file", "文件为空", 400)
    kind = file_kind(data, file_name)
    cells = _cells_xlsx(data) if kind == "xlsx" else _cells_csv(data)
    by_name = {d["name"]: d["code"] for d in districts.districts}
    out = Parsed()
    columns: dict[int, str] | None = None
    first_seen: dict[str, int] = {}
    for number, values in cells:
        if _blank(values):
            continue
        if columns is None:
            columns = {i: k for i, v in enumerate(values) if (k := header_key(v)) is not None}
            missing = [LABELS[k] for k in REQUIRED if k not in columns.values()]
            if missing:
                raise FileProblem(
                    "missing_columns", f"第{number}行应为表头，缺少列：{'、'.join(missing)}（请使用下载的模板）"
                )
            continue
        out.total += 1
        if out.total > max_rows:
            raise FileProblem("too_many_rows", f"一次最多导入{max_rows}行，请分成几个文件导入", 413)
        row = {k: values[i] for i, k in columns.items() if i < len(values) and not k.startswith("ce:")}
        ce_columns = {int(k[3:]): values[i] for i, k in columns.items() if i < len(values) and k.startswith("ce:")}
        doc, problems = parse_row(row, ce_columns, districts, by_name, today)
        if not problems:
            first = first_seen.setdefault(doc["_id"], number)
            if first != number:
                problems.append(RowProblem("id_number", "duplicate_row", f"证件号码与第{first}行重复"))
        if problems:
            out.error_rows += 1
            out.errors.extend({"row": number, "field": p.field, "code": p.code, "message": p.message} for p in problems)
            continue
        doc["digest"] = digest({k: v for k, v in doc.items() if k != "_id"})
        doc["_row"] = number
        out.rows.append(doc)
    if columns is None:
        raise FileProblem("missing_columns", "文件中没有表头行（请使用下载的模板）")
    return out
