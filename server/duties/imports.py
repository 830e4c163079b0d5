"""Providers' credit files (培训机构报送的继续教育学分): parse, preview, commit once, list, undo.

A file is an Excel workbook (.xlsx, first sheet) or a CSV (UTF-8, or GB18030 as Excel writes
Chinese CSVs) whose first row names the columns: 证件号码 (身份证号), 姓名, 年度, 学分, 科目类型
(专业科目 / 公需科目), 培训机构, 课程 (English names accepted too). Parsing runs in a worker thread.

Preview (nothing written): every row is checked — unknown ID number (no archive: seed 001, people
who have not completed collection cannot register continuing education), name not matching the
archive, bad year, bad credits, bad type, missing provider or course, the same row twice in the
file — and the answer lists each bad row with its field, code and a Chinese message.

Commit: a file with bad rows is refused whole (422 `import_has_errors`, nothing written) unless
`skip_invalid` is set, when only its valid rows are written. The file's SHA-256 is claimed first by
a unique-key insert (`ce_import_digests`): the same file again changes nothing and answers the
first import (`already_imported`). The import is kept in `ce_imports` {_id, digest, filename, by,
at, state (applying | done | undoing | undone), counts, archives, errors (first ones), undone_by,
undone_at}, written before any credit so that an undo finds every archive it touched. Each row
becomes an entry keyed by (year, type, provider, course) per archive: a row another import already
brought is not added again (`already_present`). Undo removes exactly the entries this import added
(by `import_id`), frees the digest, and recomputes the standings of its archives.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
import zipfile
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.db import utcnow
from server.duties.credits import (
    CREDITS_MAX,
    EARLIEST_YEAR,
    TEXT_MAX,
    CreditAudit,
    CreditStore,
    credit_type,
    fold,
    number_of,
    parse_credits,
    parse_year,
    row_key,
)
from server.duties.runner import StandingService
from server.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from server.lifecycle.store import Doc, LifecycleStore, oid
from server.masking import mask_id_number, mask_text
from server.pool import BoundedPool
from server.staff.model import Staff

log = logging.getLogger("kjcj.duties.imports")

IMPORTS = "ce_imports"
DIGESTS = "ce_import_digests"
MAX_ROWS = 20_000
ERRORS_SHOWN = 200
ERRORS_KEPT = 50
READS_AT_ONCE = 50
COLUMNS = {
    "id_number": ("证件号码", "身份证号", "身份证号码", "证件号", "档案号", "id_number"),
    "name": ("姓名", "name"),
    "year": ("年度", "年份", "学分年度", "year"),
    "credits": ("学分", "学时", "credits"),
    "type": ("科目类型", "类型", "科目", "type"),
    "provider": ("培训机构", "机构", "施教机构", "provider"),
    "course": ("课程", "课程名称", "course"),
}
HEADER_OF = {fold(word): col for col, words in COLUMNS.items() for word in words}
LABELS = {
    "id_number": "证件号码",
    "name": "姓名",
    "year": "年度",
    "credits": "学分",
    "type": "科目类型",
    "provider": "培训机构",
    "course": "课程",
}


class FileProblem(Exception):
    """The file as a whole cannot be read (not a table, no header, too many rows)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def read_table(data: bytes) -> list[list[Any]]:
    """The rows of the first sheet of an .xlsx, or of a CSV (runs in a worker thread)."""
    if data[:4] == b"PK\x03\x04":
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise FileProblem("Excel 文件无法读取，请另存为 .xlsx 后重新上传", "file_unreadable") from exc
        try:
            sheet = book.worksheets[0]
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append([_cell(v) for v in row])
                if len(rows) > MAX_ROWS + 1:
                    raise FileProblem(f"一个文件最多 {MAX_ROWS} 行，请拆分后上传", "too_many_rows")
            return rows
        finally:
            book.close()
    if b"\x00" in data[:4096]:
        raise FileProblem("只能上传 Excel（.xlsx）或 CSV 文件", "unsupported_file_type")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileProblem("CSV 文件的编码无法识别，请以 UTF-8 保存", "file_unreadable")
    rows = []
    for row in csv.reader(io.StringIO(text)):
        rows.append([_cell(v) for v in row])
        if len(rows) > MAX_ROWS + 1:
            raise FileProblem(f"一个文件最多 {MAX_ROWS} 行，请拆分后上传", "too_many_rows")
    return rows


def header_map(header: list[Any]) -> dict[str, int]:
    """{column: index} from the header row; FileProblem naming the missing columns."""
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        col = HEADER_OF.get(fold(str(cell))) if cell is not None else None
        if col and col not in found:
            found[col] = i
    missing = [LABELS[c] for c in COLUMNS if c not in found]
    if missing:
        raise FileProblem(f"第一行应为列名，缺少：{'、'.join(missing)}", "missing_columns")
    return found


def check_rows(rows: list[list[Any]], this_year: int) -> tuple[list[Doc], list[Doc]]:
    """(parsed rows, problems) of the data rows, without the archives (pure)."""
    if not rows:
        raise FileProblem("文件是空的", "empty_file")
    columns = header_map(rows[0])
    parsed: list[Doc] = []
    problems: list[Doc] = []
    seen: dict[tuple, int] = {}
    for n, raw in enumerate(rows[1:], start=2):
        if not any(v is not None for v in raw):
            continue

        def get(col: str, raw: list[Any] = raw) -> Any:
            i = columns[col]
            return raw[i] if i < len(raw) else None

        row_problems: list[Doc] = []

        def bad(field: str, code: str, message: str, row_problems: list[Doc] = row_problems, n: int = n) -> None:
            row_problems.append({"row": n, "field": field, "code": code, "message": message})

        raw_id = get("id_number")
        number = number_of(str(raw_id)) if raw_id is not None else None
        if number is None:
            bad("id_number", "bad_id_number", "证件号码为空或格式不正确")
        name = get("name")
        if not isinstance(name, str) or not name.strip():
            bad("name", "name_missing", "姓名为空")
        year = parse_year(get("year"), this_year)
        if year is None:
            bad("year", "bad_year", f"年度应为 {EARLIEST_YEAR} 至 {this_year} 年之间的年份")
        credits = parse_credits(get("credits"))
        if credits is None:
            bad("credits", "bad_credits", f"学分应为大于0、不超过{CREDITS_MAX}的数字（最多一位小数）")
        ctype = credit_type(get("type"))
        if ctype is None:
            bad("type", "bad_type", "科目类型应为“专业科目”或“公需科目”")
        texts = {}
        for col in ("provider", "course"):
            value = get(col)
            text = " ".join(str(value).split()) if value is not None else ""
            if not text or len(text) > TEXT_MAX:
                bad(col, f"bad_{col}", f"{LABELS[col]}不能为空，且不超过{TEXT_MAX}字")
            texts[col] = text
        row = {
            "row": n,
            "archive_no": number,
            "name": name.strip() if isinstance(name, str) else "",
            "year": year,
            "credits": credits,
            "type": ctype,
            **texts,
        }
        if not row_problems and number and year and ctype:
            key = (number, row_key(year, ctype, texts["provider"], texts["course"]))
            if key in seen:
                bad("", "duplicate_in_file", f"与第 {seen[key]} 行重复（同一人、年度、科目类型、机构和课程）")
            else:
                seen[key] = n
                row["key"] = key[1]
        parsed.append(row)
        problems.extend(row_problems)
    if len(parsed) > MAX_ROWS:
        raise FileProblem(f"一个文件最多 {MAX_ROWS} 行，请拆分后上传", "too_many_rows")
    return parsed, problems


class CreditImports:
    """Preview, commit, list and undo of providers' files (city administrators only)."""

    def __init__(self, services):
        self.services = services
        self.imports = services.db[IMPORTS]
        self.digests = services.db[DIGESTS]
        self.store = services.get(CreditStore)
        self.lifecycle = services.get(LifecycleStore)
        self.pool = BoundedPool(1, 2, "ce-import", "正在处理其他学分文件，请稍后重试", "import_busy", retry_after=10)

    async def close(self) -> None:
        self.pool.close()

    @staticmethod
    def _only_city(staff: Staff) -> None:
        if not staff.is_city_admin:
            raise Forbidden("学分文件由市级管理员导入", "ce_import_city_admin_only")

    async def _check(self, data: bytes) -> tuple[list[Doc], list[Doc], dict[str, Doc]]:
        """(rows, problems, {archive number: archive}) of a file: the file, then the archives."""
        if not data:
            raise BadRequest("上传的文件为空，请重新选择文件", "empty_file")
        try:
            table = await self.pool.run(read_table, data)
            rows, problems = check_rows(table, utcnow().year)
        except FileProblem as exc:
            raise Invalid(
                [{"field": "file", "code": exc.code, "message": exc.message}], exc.message, exc.code
            ) from None
        numbers = list(dict.fromkeys(r["archive_no"] for r in rows if r.get("key")))
        archives: dict[str, Doc] = {}
        for at in range(0, len(numbers), READS_AT_ONCE):
            batch = numbers[at : at + READS_AT_ONCE]
            found = await asyncio.gather(
                *[
                    self.lifecycle.archives.find_one(
                        {"_id": n}, {"data.profile": 1, "region_code": 1, "transferred_out": 1}
                    )
                    for n in batch
                ]
            )
            archives.update({n: a for n, a in zip(batch, found, strict=True) if a is not None})
        for row in rows:
            if not row.get("key"):
                continue
            archive = archives.get(row["archive_no"])
            problem = None
            if archive is None:
                problem = (
                    "id_number",
                    "no_archive",
                    "没有该证件号码的会计人员档案（未完成信息采集的人员不能登记继续教育）",
                )
            elif archive.get("transferred_out"):
                problem = ("id_number", "transferred_out", "该人员的档案已调出，不能登记继续教育")
            elif fold(((archive.get("data") or {}).get("profile") or {}).get("name")) != fold(row["name"]):
                problem = ("name", "name_mismatch", "姓名与会计人员档案不一致")
            if problem:
                problems.append({"row": row["row"], "field": problem[0], "code": problem[1], "message": problem[2]})
                row.pop("key")
        by_row = {r["row"]: r for r in rows}
        for p in problems:  # staff see which person a bad row names, masked
            r = by_row.get(p["row"]) or {}
            p["id_number"] = mask_id_number(r.get("archive_no"))
            p["name"] = mask_text(r.get("name") or "")
        problems.sort(key=lambda p: p["row"])
        return rows, problems, archives

    @staticmethod
    def _summary(rows: list[Doc], problems: list[Doc]) -> Doc:
        valid = [r for r in rows if r.get("key")]
        return {
            "rows": len(rows),
            "valid": len(valid),
            "invalid": len({p["row"] for p in problems}),
            "people": len({r["archive_no"] for r in valid}),
            "credits": round(sum(float(r["credits"]) for r in valid), 1),
            "years": sorted({r["year"] for r in valid}),
        }

    async def preview(self, staff: Staff, data: bytes, filename: str) -> Doc:
        """What a commit of this file would do; nothing is written."""
        self._only_city(staff)
        rows, problems, _ = await self._check(data)
        digest = hashlib.sha256(data).hexdigest()
        claim = await self.digests.find_one({"_id": digest})
        before = await self.imports.find_one({"_id": claim["import_id"]}, {"archives": 0}) if claim else None
        return {
            "digest": digest,
            "filename": filename,
            **self._summary(rows, problems),
            "errors": problems[:ERRORS_SHOWN],
            "error_count": len(problems),
            "already_imported": self.view(before) if before else None,
        }

    async def commit(self, staff: Staff, data: bytes, filename: str, skip_invalid: bool) -> tuple[Doc, bool]:
        """Import the file once: (the import, True when this call created it)."""
        self._only_city(staff)
        rows, problems, archives = await self._check(data)
        digest = hashlib.sha256(data).hexdigest()
        claim = await self.digests.find_one({"_id": digest})
        if claim is not None:
            before = await self.imports.find_one({"_id": claim["import_id"]}, {"archives": 0})
            if before is not None:
                return self.view(before) | {"already_imported": True}, False
        if problems and not skip_invalid:
            raise Invalid(
                [
                    {"field": f"row {p['row']}", "code": p["code"], "message": p["message"]}
                    for p in problems[:ERRORS_SHOWN]
                ],
                f"文件中有 {len({p['row'] for p in problems})} 行有误，未导入任何学分；请改正后重新导入，或选择只导入正确的行",
                "import_has_errors",
            )
        valid = [r for r in rows if r.get("key")]
        if not valid:
            raise Invalid(
                [{"field": "file", "code": "no_valid_rows", "message": "文件中没有可以导入的行"}], None, "no_valid_rows"
            )
        import_id = ObjectId()
        try:
            await self.digests.insert_one({"_id": digest, "import_id": import_id, "at": utcnow()})
        except DuplicateKeyError:  # the same file committed at the same moment elsewhere
            claim = await self.digests.find_one({"_id": digest}) or {}
            before = await self.imports.find_one({"_id": claim.get("import_id")}, {"archives": 0})
            if before is None:
                raise Conflict("同一文件正在导入，请稍后刷新查看", "import_in_progress") from None
            return self.view(before) | {"already_imported": True}, False
        now = utcnow()
        by_archive: dict[str, list[Doc]] = {}
        for r in valid:
            by_archive.setdefault(r["archive_no"], []).append(r)
        summary = self._summary(rows, problems)
        doc: Doc = {
            "_id": import_id,
            "digest": digest,
            "filename": (filename or "")[:120],
            "by": staff.username,
            "at": now,
            "state": "applying",
            "counts": {**summary, "added": 0, "already_present": 0},
            "archives": list(by_archive),
            "errors": problems[:ERRORS_KEPT],
        }
        await self.imports.insert_one(doc)
        added = 0

        async def one(number: str) -> int:
            entries = [
                {
                    "key": r["key"],
                    "year": r["year"],
                    "credits": r["credits"],
                    "type": r["type"],
                    "source": "import",
                    "provider": r["provider"],
                    "course": r["course"],
                    "import_id": import_id,
                    "by": staff.username,
                    "at": now,
                }
                for r in by_archive[number]
            ]
            return await self.store.add(number, entries)

        numbers = list(by_archive)
        for at in range(0, len(numbers), READS_AT_ONCE):
            added += sum(await asyncio.gather(*[one(n) for n in numbers[at : at + READS_AT_ONCE]]))
        counts = {**summary, "added": added, "already_present": len(valid) - added}
        await self.imports.update_one(
            {"_id": import_id}, {"$set": {"state": "done", "counts": counts, "done_at": utcnow()}}
        )
        await self.services.get(CreditAudit).write(
            staff,
            "ce_import",
            None,
            {"summary": f"导入学分文件 {doc['filename']}", "import_id": str(import_id), **counts},
        )
        log.info("credit import %s by %s: %d rows added", import_id, staff.username, added)
        await self.services.get(StandingService).recompute(numbers)
        return self.view({**doc, "state": "done", "counts": counts}), True

    async def list(self, staff: Staff, page: int = 1, page_size: int = 20) -> Doc:
        """Every import, newest first (a small collection: one document per file)."""
        docs = [d async for d in self.imports.find({}, {"archives": 0, "errors": 0})]
        docs.sort(key=lambda d: d.get("at") or utcnow(), reverse=True)
        start = (page - 1) * page_size
        return {"items": [self.view(d) for d in docs[start : start + page_size]], "total": len(docs), "page": page}

    async def get(self, staff: Staff, import_id: str) -> Doc:
        doc = await self.imports.find_one({"_id": oid(import_id)}, {"archives": 0}) if oid(import_id) else None
        if doc is None:
            raise NotFound("没有这次导入", "import_not_found")
        return self.view(doc) | {"errors": doc.get("errors") or []}

    async def undo(self, staff: Staff, import_id: str) -> Doc:
        """Remove exactly this import's credits and recompute the standings it touched."""
        self._only_city(staff)
        key = oid(import_id)
        doc = await self.imports.find_one({"_id": key}) if key else None
        if doc is None:
            raise NotFound("没有这次导入", "import_not_found")
        if doc.get("state") == "undone":
            raise Conflict("这次导入已经撤销", "import_undone")
        taken = await self.services.atomic.update(
            self.imports,
            {"_id": key, "state": {"$in": ["done", "applying", "undoing"]}},
            {"$set": {"state": "undoing", "undone_by": staff.username}},
        )
        if taken is None:
            raise Conflict("这次导入已经撤销", "import_undone")
        numbers = list(doc.get("archives") or [])
        removed = 0
        for at in range(0, len(numbers), READS_AT_ONCE):
            batch = numbers[at : at + READS_AT_ONCE]
            removed += sum(
                await asyncio.gather(*[self.store.remove(n, lambda e: e.get("import_id") == key) for n in batch])
            )
        now = utcnow()
        await self.imports.update_one(
            {"_id": key}, {"$set": {"state": "undone", "undone_at": now, "counts.removed": removed}}
        )
        claim = await self.digests.find_one({"_id": doc["digest"]})
        if claim is not None and claim.get("import_id") == key:
            await self.digests.delete_one({"_id": doc["digest"]})  # the same file may be imported again
        await self.services.get(CreditAudit).write(
            staff,
            "ce_import_undone",
            None,
            {"summary": f"撤销学分导入 {doc.get('filename') or ''}", "import_id": str(key), "removed": removed},
        )
        await self.services.get(StandingService).recompute(numbers)
        return self.view((await self.imports.find_one({"_id": key}, {"archives": 0})) or doc)

    @staticmethod
    def view(doc: Doc) -> Doc:
        return {
            "id": str(doc["_id"]),
            "digest": doc.get("digest"),
            "filename": doc.get("filename") or "",
            "by": doc.get("by"),
            "at": doc.get("at"),
            "state": doc.get("state"),
            "state_label": {"applying": "导入中", "done": "已导入", "undoing": "撤销中", "undone": "已撤销"}.get(
                doc.get("state") or "", ""
            ),
            "counts": doc.get("counts") or {},
            "undone_by": doc.get("undone_by"),
            "undone_at": doc.get("undone_at"),
        }
