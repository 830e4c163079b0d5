"""Checks of an uploaded PDF (no rendering): real, complete, readable, inert.

Runs in a worker thread. A file only containing `%PDF-` is not enough:

- the header must be the file's first byte (an HTML page, a GIF or anything else with a
  PDF header inside is a polyglot a browser may read as the other format), and only
  whitespace may follow the last `%%EOF` (no archive or page appended to a real PDF);
- it must carry a trailer (`startxref`, `%%EOF`) and parse with pypdf, object streams
  included, with at least one page; it must not be encrypted (reviewers could not open it);
- no object the cross-reference table lists (those inside compressed `/ObjStm` object
  streams included, whose decoded text is also scanned for orphans), and no name in the
  raw bytes, may declare active content: JavaScript, launch, URI, remote go-to, form
  submission or import actions, embedded files and file attachments, XFA forms, rich
  media, movies and sounds. Such a file is refused, never rewritten: what is stored is
  byte for byte what the person sent (served to them with `Content-Security-Policy: sandbox`).

Links to web addresses are refused too, even on a click (Word turns every URL and e-mail
address into one): the message says to print to PDF or take a photo instead.

Not done: rendering each page to an image (would need a PDF renderer such as pdfium or
poppler at run time) and objects hidden where no cross-reference entry points (a viewer
repairing a broken file might find them; the raw-byte name scan catches uncompressed ones).
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from pypdf import PdfReader, apply_configuration
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

from server.documents.budget import BUDGET, JOB_BYTES, MB
from server.documents.sniff import file_problem
from server.errors import Invalid

# pypdf logs every repair of a sloppy file; the outcome is our answer, not its log lines.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_HEADER_RE = re.compile(rb"%PDF-[12]\.[0-9]")
_STARTXREF_RE = re.compile(rb"startxref\s+(\d+)\s*\Z")
_NAME_RE = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_AFTER_EOF_OK = b" \t\r\n\f\x00"

MAX_OBJECTS = 20_000  # a scan or an exported letter has hundreds; pypdf takes ~60 us an object (1.2 s at most)
_LIMITS: dict[str, Any] = {  # pypdf's limits, lowered to what a document upload can need
    "maximum_declared_stream_length": 32 * MB,
    "zlib_maximum_output_length": 32 * MB,
    "lzw_maximum_output_length": 32 * MB,
    "run_length_maximum_output_length": 32 * MB,
    "array_based_stream_maximum_output_length": 32 * MB,
    "stream_decoding_work_maximum_length": 64 * MB,
}

SCRIPT, LINK, ATTACHMENT, MEDIA = "script", "link", "attachment", "media"
# Action types (/S) refused, by what they do.
_ACTIONS = {
    "JavaScript": SCRIPT,
    "Rendition": SCRIPT,  # may carry /JS
    "RichMediaExecute": SCRIPT,
    "Launch": LINK,
    "URI": LINK,
    "GoToR": LINK,
    "GoToE": LINK,
    "SubmitForm": LINK,
    "ImportData": LINK,
    "Movie": MEDIA,
    "Sound": MEDIA,
}
# Dictionary keys refused wherever they occur.
_KEYS = {
    "JS": SCRIPT,
    "JavaScript": SCRIPT,  # the names tree of document scripts
    "XFA": SCRIPT,  # XML forms carry their own scripts
    "RichMediaContent": MEDIA,
    "RichMediaSettings": MEDIA,
    "EmbeddedFiles": ATTACHMENT,
    "EF": ATTACHMENT,  # a file specification with the file inside
}
# /Type or /Subtype values refused (annotation kinds and embedded file streams).
_TYPES = {
    "EmbeddedFile": ATTACHMENT,
    "FileAttachment": ATTACHMENT,
    "RichMedia": MEDIA,
    "Movie": MEDIA,
    "Sound": MEDIA,
    "Screen": MEDIA,
    "3D": SCRIPT,  # 3D annotations run their own JavaScript
}
# Names refused in the raw bytes (and in decoded object streams): unambiguous in any position.
_RAW = {
    b"JavaScript": SCRIPT,
    b"JS": SCRIPT,
    b"XFA": SCRIPT,
    b"RichMedia": MEDIA,
    b"Launch": LINK,
    b"URI": LINK,
    b"GoToR": LINK,
    b"GoToE": LINK,
    b"SubmitForm": LINK,
    b"ImportData": LINK,
    b"EmbeddedFile": ATTACHMENT,
    b"EmbeddedFiles": ATTACHMENT,
    b"FileAttachment": ATTACHMENT,
}
_WHAT = {
    SCRIPT: "脚本或动态表单",
    LINK: "网址链接或打开其他文件、程序的操作",
    ATTACHMENT: "附件",
    MEDIA: "音视频等多媒体内容",
}


def active_content(kind: str) -> Invalid:
    """The 422 for a PDF with active content of `kind`."""
    return file_problem(
        "pdf_active_content", f"PDF 文件含有{_WHAT[kind]}，请用“打印为 PDF”另存为普通 PDF 后上传，或拍照上传"
    )


def _names(data: bytes) -> set[bytes]:
    """Every PDF name in the raw bytes, with #xx escapes decoded."""
    out = set()
    for m in _NAME_RE.finditer(data):
        name = m.group(1)
        if b"#" in name:
            name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda h: bytes([int(h.group(1), 16)]), name)
        out.add(name)
    return out


def _raw_kind(names: set[bytes]) -> str | None:
    """The kind of active content a set of raw names declares, or None."""
    return next((_RAW[name] for name in names if name in _RAW), None)


def corrupt() -> Invalid:
    """The 422 for a PDF pypdf cannot read."""
    return file_problem("file_corrupt", "PDF 文件已损坏，无法读取，请重新导出后上传")


def encrypted() -> Invalid:
    """The 422 for an encrypted PDF."""
    return file_problem("pdf_encrypted", "PDF 文件已加密或设置了密码，请去除密码后再上传")


def check_pdf(data: bytes) -> None:
    """Raise a 422 (file_problem) unless `data` is a complete, unencrypted, inert PDF."""
    if not data.startswith(b"%PDF-"):
        raise file_problem(
            "pdf_content_before_header", "PDF 文件开头有其他内容，可能不是真正的 PDF，请重新导出或拍照上传"
        )
    if not _HEADER_RE.match(data):
        raise file_problem("file_corrupt", "PDF 文件头不正确，文件可能已损坏，请重新导出后上传")
    eof = data.rfind(b"%%EOF")
    xref = _STARTXREF_RE.search(data, max(0, eof - 1024), eof) if eof >= 0 else None
    if xref is None or int(xref.group(1)) >= len(data) or (b" obj" not in data and b"\nobj" not in data):
        raise file_problem("file_corrupt", "PDF 文件不完整或已损坏，请重新导出后上传")
    if data[eof + 5 :].strip(_AFTER_EOF_OK):
        raise file_problem("file_corrupt", "PDF 文件结尾之后还有其他内容，请重新导出后上传")
    names = _names(data)
    if b"Encrypt" in names:
        raise encrypted()
    kind = _raw_kind(names)
    if kind:
        raise active_content(kind)
    with BUDGET.hold(min(JOB_BYTES, 16 * MB + 4 * len(data))), apply_configuration(None, **_LIMITS):
        try:
            kind = _parse_and_walk(data)
        except Invalid:
            raise
        except Exception as exc:  # pypdf's errors, and the ValueError/KeyError/zlib.error... of broken files
            raise corrupt() from exc
    if kind:
        raise active_content(kind)


def _parse_and_walk(data: bytes) -> str | None:
    """Parse with pypdf and inspect every listed object: the kind of active content found, or None."""
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise encrypted()
    refs = [(num, gen) for gen, table in reader.xref.items() for num in table]
    refs += [(num, 0) for num in reader.xref_objStm]
    if len(refs) > MAX_OBJECTS:
        raise file_problem("pdf_too_complex", "PDF 文件结构过于复杂，请用“打印为 PDF”另存后上传，或拍照上传")
    kind = _inspect(reader.trailer)
    for num, gen in refs:
        if kind:
            return kind
        kind = _inspect(reader.get_object(IndirectObject(num, gen, reader)))
    if not kind and len(reader.pages) < 1:
        raise file_problem("file_corrupt", "PDF 文件没有页面，请重新导出后上传")
    return kind


def _name(value) -> str | None:
    """A name's text without the slash (through one reference), else None."""
    if isinstance(value, IndirectObject):
        value = value.get_object()
    return str(value)[1:] if isinstance(value, NameObject) else None


def _inspect(obj) -> str | None:
    """The kind of active content declared in one object (references are inspected on their own), or None."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, DictionaryObject):
            for key, value in item.items():
                key_name = str(key)[1:]
                if key_name in _KEYS:
                    return _KEYS[key_name]
                if key_name == "S" and _name(value) in _ACTIONS:
                    return _ACTIONS[_name(value) or ""]
                if key_name in ("Type", "Subtype") and _name(value) in _TYPES:
                    return _TYPES[_name(value) or ""]
                if isinstance(value, (DictionaryObject, ArrayObject)):
                    stack.append(value)
            if isinstance(item, StreamObject) and _name(item.get("/Type")) == "ObjStm":
                # Objects packed in the stream but listed nowhere are still scanned, as names.
                kind = _raw_kind(_names(item.get_data()))
                if kind:
                    return kind
        elif isinstance(item, ArrayObject):
            stack.extend(v for v in item if isinstance(v, (DictionaryObject, ArrayObject)))
    return None
