"""Recognise the real file type from its bytes and read JPEG/PNG sizes from the header."""

from __future__ import annotations

import struct

from .errors import PhotoRejected
from .spec import PhotoSpec

ACCEPTED_HINT = "请上传 JPG、PNG 或 HEIC 格式的照片。"

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}

# Start-of-frame markers carry the image size; DHT (C4), JPG (C8) and DAC (CC) do not.
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE_MARKERS = {0x01, 0xD8, *range(0xD0, 0xD8)}


def corrupt() -> PhotoRejected:
    """The refusal for a damaged or incomplete file."""
    return PhotoRejected("corrupt_image", "照片文件已损坏或不完整，请重新拍摄或重新上传原图。")


def _other_type(data: bytes) -> str | None:
    """Name of a recognisable but refused format, for a clearer message."""
    lowered = data[:512].lstrip().lower()
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return " GIF 动图"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return " WebP 图片"
    if data[:5] == b"%PDF-":
        return " PDF 文档"
    if lowered.startswith(b"<svg") or (lowered.startswith(b"<?xml") and b"<svg" in lowered):
        return " SVG 矢量图"
    if data[:2] == b"BM":
        return " BMP 图片"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return " TIFF 图片"
    if data[:2] == b"MZ" or data[:4] == b"\x7fELF":
        return "可执行程序"
    if data[:4] == b"PK\x03\x04":
        return "压缩包或 Office 文档"
    if data[4:8] == b"ftyp" and b"avif" in data[8:32]:
        return " AVIF 图片"
    return None


def _is_heif(data: bytes) -> bool:
    """True for an ISO-BMFF file whose brands say HEIF/HEIC and not only AVIF."""
    if data[4:8] != b"ftyp" or len(data) < 16:
        return False
    box_size = struct.unpack(">I", data[:4])[0]
    brands_end = min(max(box_size, 16), 64, len(data))
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, brands_end - 3, 4)}
    if not brands & _HEIF_BRANDS:
        return False
    # A plain "mif1" container holding AV1 is AVIF, which we cannot decode.
    return bool(brands & _HEVC_BRANDS) or b"avif" not in brands


def sniff(data: bytes, spec: PhotoSpec) -> str:
    """Return "jpeg", "png" or "heic", or raise PhotoRejected for anything else."""
    if not data:
        raise PhotoRejected("empty_file", "文件是空的，请重新选择照片。")
    if len(data) > spec.max_bytes:
        limit_mb = spec.max_bytes / (1024 * 1024)
        raise PhotoRejected("file_too_large", f"文件超过 {limit_mb:g} MB，请上传原图或压缩后重试。")
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if _is_heif(data):
        return "heic"
    other = _other_type(data)
    if other:
        raise PhotoRejected("unsupported_file_type", f"这是{other}，{ACCEPTED_HINT}")
    raise PhotoRejected("unsupported_file_type", f"无法识别的文件类型，{ACCEPTED_HINT}")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG IHDR chunk."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise corrupt()
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the first JPEG start-of-frame marker (stored orientation)."""
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF:
            raise corrupt()
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            break
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            break
        if pos + 2 > end:
            break
        length = struct.unpack(">H", data[pos : pos + 2])[0]
        if length < 2:
            break
        if marker in _SOF_MARKERS:
            if pos + 7 > end:
                break
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            return width, height
        pos += length
    raise corrupt()
