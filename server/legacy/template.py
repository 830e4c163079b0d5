"""The register import file: its columns, their formats, and the downloadable template (pure).

One header row, then one person per row. Columns are found by their header (any order; the
label, traditional or simplified, spaces ignored, or the English key); unknown columns are
ignored. Required: 姓名, 证件号码, 所在区.

| header                     | key                 | format                                                    |
|----------------------------|---------------------|-----------------------------------------------------------|
| 原档案编号                 | archive_no_old      | text, optional                                            |
| 姓名                       | name                | required                                                  |
| 证件号码                   | id_number           | required; 18-character ID / residence permit, or passport |
| 原会计从业资格证书编号     | old_certificate_no  | letters, digits, hyphens; optional                        |
| 首次参加会计工作日期       | first_work_date     | 2001-03-01 (also 2001/3/1, 2001.3.1, 20010301, 2001年3月1日, an Excel date) |
| 所在区                     | region              | district code (350203) or name (思明区)                   |
| 曾任职单位                 | past_employers      | entries separated by ；or ;, each 单位名称|起始日期|结束日期 (dates optional) |
| 继续教育                   | ce_years            | 2019:90;2020:72 (year:credits) or 2019:合格 (合格 / 不合格 / 未参加) |
| 继续教育2019, 2019年学分…  | ce_years            | one column per year instead: credits or 合格 / 不合格 / 未参加 |
| 诚信记录                   | integrity_notes     | notes separated by ；or ; or line breaks                  |

A CSV file may be UTF-8 (with or without BOM) or GB18030 (GBK, as Excel saves "CSV" in China).
"""

from __future__ import annotations

import csv
import io
import re

from faq.normalize import to_simplified

COLUMNS: tuple[tuple[str, str, bool], ...] = (  # (key, header, required)
    ("archive_no_old", "原档案编号", False),
    ("name", "姓名", True),
    ("id_number", "证件号码", True),
    ("old_certificate_no", "原会计从业资格证书编号", False),
    ("first_work_date", "首次参加会计工作日期", False),
    ("region", "所在区", True),
    ("past_employers", "曾任职单位", False),
    ("ce_years", "继续教育", False),
    ("integrity_notes", "诚信记录", False),
)
LABELS = {key: label for key, label, _ in COLUMNS}
REQUIRED = tuple(key for key, _, required in COLUMNS if required)
ALIASES = {  # other headers old registers use
    "档案编号": "archive_no_old",
    "身份证号码": "id_number",
    "身份证号": "id_number",
    "会计从业资格证书编号": "old_certificate_no",
    "会计证号": "old_certificate_no",
    "参加工作日期": "first_work_date",
    "首次从事会计工作日期": "first_work_date",
    "区": "region",
    "管理机关所在区": "region",
    "工作单位": "past_employers",
    "继续教育情况": "ce_years",
    "诚信信息": "integrity_notes",
}
CE_STATUS = {"合格": "passed", "不合格": "failed", "未参加": "absent"}
CE_STATUS_LABELS = {v: k for k, v in CE_STATUS.items()}
_YEAR_COLUMN = re.compile(r"^(?:继续教育)?((?:19|20)\d\d)年?(?:继续教育)?(?:学分)?$")

EXAMPLE_ROWS = (
    (
        "XM2009-000123",
        "张三",
        "350203199005170019",
        "350200090001234",
        "2012-08-01",
        "思明区",
        "厦门某某有限公司|2012-08-01|2016-06-30；厦门某某会计师事务所|2016-07-01|2020-12-31",
        "2019:90;2020:90;2021:合格",
        "",
    ),
)


def header_key(text: object) -> str | None:
    """The key of a header cell (`ce:<year>` for a per-year credits column), or None."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    folded = to_simplified("".join(text.split())).replace("（", "(").split("(")[0]
    if not folded:
        return None
    if folded.lower() in LABELS:
        return folded.lower()
    for key, label in LABELS.items():
        if folded == label:
            return key
    if folded in ALIASES:
        return ALIASES[folded]
    year = _YEAR_COLUMN.match(folded)
    return f"ce:{year.group(1)}" if year else None


def template_csv() -> bytes:
    """The template as a UTF-8 CSV with BOM (Excel opens it with the right characters)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label, _ in COLUMNS])
    writer.writerows(EXAMPLE_ROWS)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The template as .xlsx: the header row, one example row, the 证件号码 column as text,
    and a second sheet explaining each column (call it in an executor: openpyxl)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "原会计档案"
    ws.append([label for _, label, _ in COLUMNS])
    for row in EXAMPLE_ROWS:
        ws.append(list(row))
    for letter, (key, _, _) in zip("ABCDEFGHI", COLUMNS):
        ws.column_dimensions[letter].width = 22 if key not in ("past_employers", "ce_years") else 48
        if key in ("id_number", "archive_no_old", "old_certificate_no"):
            for cell in ws[letter]:
                cell.number_format = "@"  # text: an 18-digit number must not become a float
    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "填写格式"])
    for key, label, required in COLUMNS:
        notes.append([label, "必填" if required else "选填", FORMATS[key]])
    notes.column_dimensions["A"].width = 26
    notes.column_dimensions["C"].width = 90
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FORMATS = {
    "archive_no_old": "原系统的档案编号",
    "name": "与证件一致的姓名",
    "id_number": "18位身份证号码或港澳台居民居住证号码，或护照号码；请设为文本格式，避免被 Excel 改为科学计数",
    "old_certificate_no": "原会计从业资格证书编号（字母、数字、短横线）",
    "first_work_date": "如 2001-03-01（也可写 2001/3/1、2001.3.1、20010301、2001年3月1日）",
    "region": "区代码（如 350203）或区名称（如 思明区）",
    "past_employers": "多个单位用分号隔开，每个写 单位名称|起始日期|结束日期（日期可不填），如 某公司|2001-03-01|2008-06-30；某事务所|2008-07-01|2015-12-31",
    "ce_years": "年度:学分，用分号隔开，如 2019:90;2020:72；或 年度:合格/不合格/未参加。也可每年一列，列名如 继续教育2019",
    "integrity_notes": "多条用分号或换行隔开；没有则不填",
}
