"""The real type of an uploaded file, from its bytes only (the name and header are ignored)."""

from __future__ import annotations

from server.errors import Invalid, UnsupportedMedia

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
EXTENSIONS = {JPEG: "jpg", PNG: "png", PDF: "pdf"}
ACCEPTED = "仅支持 JPG、PNG 图片或 PDF 文件"


def file_problem(code: str, message: str) -> Invalid:
    """The 422 for a file of an accepted type that cannot be used (corrupt, too many pixels, active PDF...)."""
    return Invalid([{"field": "file", "code": code, "message": message}], message, code)


# Recognisable refused formats, for a clearer message.
_OTHERS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"MZ", "可执行程序"),
    (0, b"\x7fELF", "可执行程序"),
    (0, b"\xca\xfe\xba\xbe", "可执行程序"),
    (0, b"\xcf\xfa\xed\xfe", "可执行程序"),
    (0, b"#!", "脚本文件"),
    (0, b"PK\x03\x04", "压缩包或 Office 文档"),
    (0, b"Rar!", "压缩包"),
    (0, b"7z\xbc\xaf", "压缩包"),
    (0, b"\x1f\x8b", "压缩包"),
    (0, b"\xd0\xcf\x11\xe0", "Office 文档"),
    (0, b"GIF8", "GIF 图片"),
    (0, b"BM", "BMP 图片"),
    (0, b"II*\x00", "TIFF 图片"),
    (0, b"MM\x00*", "TIFF 图片"),
    (8, b"WEBP", "WebP 图片"),
    (4, b"ftyp", "HEIC/视频文件"),
)


def sniff(data: bytes) -> str | None:
    """`image/jpeg`, `image/png` or `application/pdf` when the bytes say so, else None.

    A PDF header a little after the start is still called a PDF (the PDF checks then refuse
    it), unless the start is recognisably another format: an HTML page or a GIF with
    `%PDF-` inside is that page or that GIF.
    """
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if data.startswith(b"%PDF-") or (b"%PDF-" in data[:1024] and describe(data) is None):
        return PDF
    return None


def describe(data: bytes) -> str | None:
    """A Chinese name for a recognisable refused format, or None."""
    for offset, magic, name in _OTHERS:
        if data[offset : offset + len(magic)] == magic:
            return name
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<html", b"<!doctype")):
        return "网页或 SVG 文件"
    return None


def require_type(data: bytes) -> str:
    """The accepted type of the bytes, or UnsupportedMedia naming what was sent."""
    kind = sniff(data)
    if kind:
        return kind
    other = describe(data)
    message = f"文件实际为{other}，{ACCEPTED}" if other else f"无法识别的文件格式，{ACCEPTED}"
    raise UnsupportedMedia(message, "unsupported_file_type", accepted=sorted(EXTENSIONS.values()))
