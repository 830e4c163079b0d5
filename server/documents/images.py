"""Decode an uploaded JPEG/PNG within a memory budget and write a fresh copy without any metadata.

Runs in a worker thread (never on the IOLoop). The new file keeps the pixels only:
EXIF (GPS, camera, orientation applied first), XMP, ICC, comments and PNG text
chunks are dropped because nothing but the pixels is handed to the encoder.

Memory is planned from the header before a single pixel is decoded:

- the size comes from the header (PNG IHDR, JPEG SOF) and is checked before Pillow
  even opens the file;
- a JPEG is decoded reduced by libjpeg (1/2, 1/4, 1/8: `Image.draft`) until it fits
  `DECODE_MAX_PIXELS` and the job's memory fits `budget.JOB_BYTES`; a multi-scan JPEG
  (progressive or not) also needs libjpeg's full-size coefficient buffer, counted too;
- a PNG cannot be decoded reduced (zlib rows), so one larger than `DECODE_MAX_PIXELS`
  is refused: 25 MP is three times a 300 dpi A4 scan (8.7 MP) and twice a 12 MP phone
  photo; a phone's 48-108 MP photos are JPEGs and are decoded at 1/2 or 1/4;
- the job then holds its estimate of the process-wide budget (`budget.BUDGET`) while it runs.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from server.documents.budget import BUDGET, JOB_BYTES, MB
from server.documents.sniff import JPEG, PNG, file_problem
from server.errors import Invalid

DECODE_MAX_PIXELS = 25_000_000  # pixels decoded at most (a JPEG after its reduced decoding)
JPEG_MAX_PIXELS = 89_478_485  # a JPEG's declared size (Pillow's bomb threshold); decoded at 1/2..1/8
MAX_PIXELS = DECODE_MAX_PIXELS  # the cap a PNG (or an unreducible JPEG) meets as declared
JPEG_QUALITY = 90

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_KEEP_MODES = {JPEG: ("L", "RGB"), PNG: ("1", "L", "LA", "P", "RGB", "RGBA")}
_FALLBACK_MODE = {JPEG: "RGB", PNG: "RGBA"}
_HIGH_BYTE = [min(255, v >> 8) for v in range(65536)]


def corrupt(message: str = "图片文件已损坏或不完整，请重新拍摄或选择原图上传") -> Invalid:
    """The 422 for an image that cannot be decoded."""
    return file_problem("file_corrupt", message)


def too_many_pixels() -> Invalid:
    """The 422 for an image too large to decode within the limits."""
    return file_problem(
        "image_too_many_pixels",
        f"图片像素过多（最多约 {DECODE_MAX_PIXELS // 10_000} 万像素），请缩小或改用 JPG 格式后再上传",
    )


@dataclass(frozen=True)
class Header:
    """What the file's header says: size, and for a JPEG its sampling and scan layout."""

    width: int
    height: int
    sampling: tuple[tuple[int, int], ...] = ()  # JPEG: (h, v) sampling factors per component
    multi_scan: bool = False  # JPEG: libjpeg keeps every DCT coefficient of the image

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def coefficient_bytes(self) -> int:
        """libjpeg's whole-image coefficient buffer (64 x int16 per 8x8 block), 0 for one scan."""
        if not self.multi_scan or not self.sampling:
            return 0
        hmax = max(h for h, _ in self.sampling)
        vmax = max(v for _, v in self.sampling)
        total = 0
        for h, v in self.sampling:
            blocks_w = math.ceil(math.ceil(self.width * h / hmax) / 8)
            blocks_h = math.ceil(math.ceil(self.height * v / vmax) / 8)
            total += blocks_w * blocks_h * 128
        return total


def png_header(data: bytes) -> Header | None:
    """Width and height from the IHDR chunk, or None when it is not where the format puts it."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return Header(int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))


def jpeg_header(data: bytes) -> Header | None:
    """Size, sampling factors and scan layout from the markers, or None when they cannot be read."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:  # stray bytes between segments: libjpeg skips them too
            i = data.find(b"\xff", i)
            if i < 0 or i + 4 > n:
                return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            i += 2
            continue
        if marker in (0xDA, 0xD9):  # pixels or the end before any frame header
            return None
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _SOF:
            seg = data[i + 4 : i + 2 + length]
            if len(seg) < 6:
                return None
            height, width, count = int.from_bytes(seg[1:3], "big"), int.from_bytes(seg[3:5], "big"), seg[5]
            comps = seg[6 : 6 + 3 * count]
            if len(comps) < 3 * count:
                return None
            sampling = tuple((max(1, comps[k + 1] >> 4), max(1, comps[k + 1] & 0x0F)) for k in range(0, len(comps), 3))
            first_scan = data.find(b"\xff\xda", i + 2 + length)
            # SOS cannot occur inside entropy-coded data (0xFF is stuffed), so a second one is a second scan.
            multi = marker in _PROGRESSIVE_SOF or (first_scan >= 0 and data.find(b"\xff\xda", first_scan + 2) >= 0)
            return Header(width, height, sampling, multi)
        if length < 2:
            return None
        i += 2 + length
    return None


def _bytes_per_pixel(mode: str) -> int:
    """Pillow's in-memory size of one pixel (RGB and LA are stored in 4 bytes)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


@dataclass(frozen=True)
class Plan:
    """How one image is decoded: the reduction (JPEG), what happens after, and the bytes it needs."""

    scale: int
    rotate: int  # EXIF orientation 2-8, else 0
    target_mode: str | None  # None: the decoded mode is kept
    peak_bytes: int


def _plan(img: Image.Image, header: Header, content_type: str, data_len: int, scale: int) -> Plan:
    """The memory one decode at 1/`scale` needs at its peak."""
    width, height = -(-header.width // scale), -(-header.height // scale)
    pixels = width * height
    mode = img.mode
    target: str | None = None
    if content_type == PNG and mode == "P" and "transparency" in img.info:
        target = "RGBA"
    elif content_type == PNG and mode.startswith("I"):
        target = "L"  # 16-bit grey: its top 8 bits (a plain conversion would clip it all to white)
    elif mode not in _KEEP_MODES[content_type]:
        target = _FALLBACK_MODE[content_type]
    rotate = _orientation(img, content_type)
    decoded = pixels * _bytes_per_pixel(mode)
    converted = pixels * _bytes_per_pixel(target) if target else 0
    if target == "L":
        converted += pixels * 4  # through a 32-bit "I" copy
    after = max(decoded if rotate else 0, converted)  # a transposed or converted copy, never both at once
    out_pixel_bytes = pixels * _bytes_per_pixel(target or mode)
    if content_type == JPEG:
        encoded = pixels // 2  # quality 90: under half a byte a pixel for a scan or a photo
    else:
        encoded = min(out_pixel_bytes, 2 * data_len * max(1, out_pixel_bytes // max(1, decoded)))
    peak = header.coefficient_bytes() + decoded + after + 2 * encoded + 4 * MB
    return Plan(scale, rotate, target, peak)


def _orientation(img: Image.Image, content_type: str) -> int:
    """The EXIF orientation read with the header (a PNG's eXIf after its pixels is ignored)."""
    if content_type == PNG and "exif" not in img.info:
        return 0  # getexif() would decode the whole PNG to look for a late eXIf chunk
    try:
        value = img.getexif().get(0x0112, 0)
    except Exception:  # a broken EXIF block: the pixels are still fine
        return 0
    return value if value in _TRANSPOSE else 0


def plan_decode(img: Image.Image, header: Header, content_type: str, data_len: int) -> Plan:
    """The least reduced decode that fits the pixel cap and one job's memory, or 422."""
    scales = (1, 2, 4, 8) if content_type == JPEG else (1,)
    for scale in scales:
        if -(-header.width // scale) * -(-header.height // scale) > DECODE_MAX_PIXELS:
            continue
        plan = _plan(img, header, content_type, data_len, scale)
        if plan.peak_bytes <= JOB_BYTES:
            return plan
    raise too_many_pixels()


def _read_header(data: bytes, content_type: str) -> Header:
    header = png_header(data) if content_type == PNG else jpeg_header(data)
    if header is None or header.width < 1 or header.height < 1:
        raise corrupt()
    limit = JPEG_MAX_PIXELS if content_type == JPEG else DECODE_MAX_PIXELS
    if header.pixels > limit:
        raise too_many_pixels()
    return header


def reencode(data: bytes, content_type: str) -> bytes:
    """The image re-encoded in its own format with every metadata block stripped."""
    if content_type not in _KEEP_MODES:
        raise ValueError(f"not an image type: {content_type}")
    header = _read_header(data, content_type)
    try:
        img: Image.Image = Image.open(io.BytesIO(data), formats=["JPEG" if content_type == JPEG else "PNG"])
    except Image.DecompressionBombError:
        raise too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise corrupt() from None
    if img.size != (header.width, header.height):
        raise corrupt()
    plan = plan_decode(img, header, content_type, len(data))
    with BUDGET.hold(plan.peak_bytes):
        try:
            return _decode_and_encode(img, plan, content_type)
        finally:
            img.close()


def _decode_and_encode(img: Image.Image, plan: Plan, content_type: str) -> bytes:
    try:
        if plan.scale > 1:
            img.draft(img.mode, (max(1, img.width // plan.scale), max(1, img.height // plan.scale)))
        img.load()
    except Image.DecompressionBombError:
        raise too_many_pixels() from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise corrupt() from None
    if plan.rotate:
        img = _replace(img, img.transpose(_TRANSPOSE[plan.rotate]))
    if plan.target_mode == "L" and img.mode.startswith("I"):
        img = _replace(img, _grey16_to_l(img))
    elif plan.target_mode:
        img = _replace(img, img.convert(plan.target_mode))
    out = io.BytesIO()
    _bare_save(img, out, content_type)
    return out.getvalue()


def _replace(old: Image.Image, new: Image.Image) -> Image.Image:
    """`new`, with `old`'s pixels freed now (the caller still holds the opened image)."""
    old.close()
    return new


def _grey16_to_l(img: Image.Image) -> Image.Image:
    """8-bit grey from 16-bit grey ("I;16", "I;16B", "I"): the high byte of each sample."""
    if img.mode != "I":
        img = img.convert("I")
    return img.point(_HIGH_BYTE, "L")


def _bare_save(img: Image.Image, out: io.BytesIO, content_type: str) -> None:
    """Encode the pixels (and palette) only: no info, EXIF, ICC, text or transparency chunk."""
    img.info = {}
    if content_type == JPEG:
        img.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        img.save(out, "PNG")
