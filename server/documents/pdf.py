"""Structural checks of an uploaded PDF (no rendering): real, complete, readable, inert.

A file only starting with `%PDF-` is not enough: it must carry a trailer (`startxref`
and `%%EOF`) and objects, must not be encrypted (reviewers could not open it) and
must not declare active content (JavaScript, launch actions, embedded files). Names
hidden inside compressed object streams are not inspected.
"""

from __future__ import annotations

import re

from server.documents.sniff import file_problem

_HEADER_RE = re.compile(rb"%PDF-[12]\.[0-9]")
_STARTXREF_RE = re.compile(rb"startxref\s+(\d+)\s+%%EOF")
_NAME_RE = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_ACTIVE = {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia"}


def _names(data: bytes) -> set[bytes]:
    """Every PDF name in the raw bytes, with #xx escapes decoded."""
    out = set()
    for m in _NAME_RE.finditer(data):
        name = m.group(1)
        if b"#" in name:
            name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda h: bytes([int(h.group(1), 16)]), name)
        out.add(name)
    return out


def check_pdf(data: bytes) -> None:
    """Raise a 422 (file_problem) unless `data` looks like a complete, unencrypted, inert PDF."""
    start = data.find(b"%PDF-", 0, 1024)
    if start < 0 or not _HEADER_RE.match(data, start):
        raise file_problem("file_corrupt", "PDF 文件头不正确，文件可能已损坏，请重新导出后上传")
    tail = data[-2048:]
    xref = _STARTXREF_RE.search(tail)
    if xref is None or int(xref.group(1)) >= len(data) or (b" obj" not in data and b"\nobj" not in data):
        raise file_problem("file_corrupt", "PDF 文件不完整或已损坏，请重新导出后上传")
    names = _names(data)
    if b"Encrypt" in names:
        raise file_problem("pdf_encrypted", "PDF 文件已加密或设置了密码，请去除密码后再上传")
    if names & _ACTIVE:
        raise file_problem("pdf_active_content", "PDF 文件含有脚本或附件，请另存为普通 PDF 或拍照上传")
