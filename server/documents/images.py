"""Decode an uploaded JPEG/PNG fully and write a fresh copy without any metadata.

Runs in a worker thread (never on the IOLoop). The new file keeps the pixels only:
EXIF (GPS, camera, orientation applied first), XMP, ICC, comments and PNG text
chunks are dropped because the image is re-encoded from a bare copy.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from server.documents.sniff import JPEG, PNG, file_problem
from server.errors import Invalid

MAX_PIXELS = 60_000_000  # refuse decompression bombs before decoding
MAX_SIDE = 6000  # larger scans are scaled down; plenty for a legible document
JPEG_QUALITY = 90


def corrupt(message: str = "图片文件已损坏或不完整，请重新拍摄或选择原图上传") -> Invalid:
    """The 422 for an image that cannot be decoded."""
    return file_problem("file_corrupt", message)


def reencode(data: bytes, content_type: str) -> bytes:
    """The image re-encoded in its own format with every metadata block stripped."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise Image.DecompressionBombError("too many pixels")
            img.load()
            img = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise file_problem("image_too_many_pixels", "图片像素过多，请缩小或压缩后再上传") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise corrupt() from None
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if content_type == JPEG:
        bare = _bare(img, ("L", "RGB"), "RGB")
        bare.save(out, "JPEG", quality=JPEG_QUALITY)
    elif content_type == PNG:
        if img.mode == "P" and "transparency" in img.info:
            img = img.convert("RGBA")
        bare = _bare(img, ("1", "L", "LA", "P", "RGB", "RGBA"), "RGBA")
        bare.save(out, "PNG")
    else:
        raise ValueError(f"not an image type: {content_type}")
    return out.getvalue()


def _bare(img: Image.Image, modes: tuple[str, ...], fallback: str) -> Image.Image:
    """A copy with only pixels (and palette): no info, EXIF, ICC or text."""
    if img.mode not in modes:
        img = img.convert(fallback)
    bare = Image.new(img.mode, img.size)
    if img.mode == "P":
        bare.putpalette(img.getpalette() or [])
    bare.paste(img)
    return bare
