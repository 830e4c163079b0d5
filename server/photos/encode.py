"""Encode the final photo as a metadata-free JPEG whose size lands in the allowed window."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

MIN_QUALITY = 10
MAX_QUALITY = 95


def size_window(min_kb: int, max_kb: int) -> tuple[int, int]:
    """Allowed byte range, valid whether the checker counts a KB as 1000 or 1024 bytes."""
    low, high = min_kb * 1024, max_kb * 1000
    if low > high:  # window too narrow for both readings: use the binary one
        low, high = min_kb * 1024, max_kb * 1024
    return low, high


def encode_jpeg(img: Image.Image, quality: int, dpi: int, subsampling: int = 2, optimize: bool = True) -> bytes:
    """Baseline JPEG with only a JFIF header (DPI); no EXIF, ICC, XMP or comment."""
    clean = img if img.mode == "RGB" else img.convert("RGB")
    clean.info = {}  # Pillow copies a comment from info when saving
    buf = io.BytesIO()
    clean.save(buf, "JPEG", quality=quality, dpi=(dpi, dpi), optimize=optimize, subsampling=subsampling)
    return buf.getvalue()


@dataclass(frozen=True)
class Encoded:
    """The chosen encoding; `fits` is False when no quality lands in the window."""

    jpeg: bytes
    quality: int
    fits: bool


def _highest_quality_under(img: Image.Image, dpi: int, high: int) -> int | None:
    """Binary search (fast, unoptimised Huffman tables) for the top quality <= high bytes."""
    lo, hi, found = MIN_QUALITY, MAX_QUALITY, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if len(encode_jpeg(img, mid, dpi, optimize=False)) <= high:
            found, lo = mid, mid + 1
        else:
            hi = mid - 1
    return found


def encode_within(img: Image.Image, dpi: int, min_kb: int, max_kb: int) -> Encoded:
    """Highest quality whose optimised JPEG is at most max_kb, then check it is >= min_kb."""
    low, high = size_window(min_kb, max_kb)
    quality = _highest_quality_under(img, dpi, high)
    if quality is None:
        return Encoded(encode_jpeg(img, MIN_QUALITY, dpi), MIN_QUALITY, False)
    data = encode_jpeg(img, quality, dpi)
    # Optimised tables are a few percent smaller: climb while the file still fits.
    while quality < MAX_QUALITY:
        bigger = encode_jpeg(img, quality + 1, dpi)
        if len(bigger) > high:
            break
        quality, data = quality + 1, bigger
    if len(data) < low:
        # Too small even at top quality (a very flat picture): keep full chroma detail.
        for extra in (MAX_QUALITY, 100):
            candidate = encode_jpeg(img, extra, dpi, subsampling=0)
            if low <= len(candidate) <= high:
                return Encoded(candidate, extra, True)
        return Encoded(data, quality, False)
    return Encoded(data, quality, True)
