"""Convert any decoded mode to 8-bit sRGB."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

WHITE = (255, 255, 255)

_SRGB = ImageCms.createProfile("sRGB")


@lru_cache(maxsize=16)
def _transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached lcms transform from an embedded profile to sRGB, or None if not needed/usable."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if mode == "RGB" and "srgb" in (ImageCms.getProfileDescription(profile) or "").lower():
            return None
        # NOCACHE: lcms' one-pixel cache is not safe when threads share a transform.
        return ImageCms.buildTransform(
            profile, _SRGB, mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL, flags=ImageCms.Flags.NOCACHE
        )
    except Exception:  # a broken or exotic profile: fall back to the plain conversion
        return None


def apply_icc(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Map RGB or CMYK pixels described by `icc` to sRGB RGB; plain conversion otherwise."""
    if icc and img.mode in ("RGB", "CMYK"):
        transform = _transform(bytes(icc), img.mode)
        if transform is not None:
            try:
                return transform.apply(img)
            except Exception:
                pass
    return img if img.mode == "RGB" else img.convert("RGB")


def _high_bit_to_l(img: Image.Image) -> Image.Image:
    """Scale 16/32-bit grey or float pixels to 8-bit grey instead of clipping them."""
    arr = np.asarray(img)
    if img.mode == "F":
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scale = 255.0 / (hi - lo) if hi > lo else 1.0
        out = (np.nan_to_num(arr, nan=lo) - lo) * scale
    else:
        arr = arr.astype(np.int64)
        peak = 65535 if arr.max(initial=0) <= 65535 else int(arr.max())
        out = np.clip(arr, 0, None) * (255.0 / peak)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "L")


def _on_white(img: Image.Image) -> Image.Image:
    """Composite an image with alpha onto a white background."""
    if img.mode not in ("RGBA", "LA"):
        img = img.convert("RGBA")
    base = Image.new("RGB", img.size, WHITE)
    base.paste(img, (0, 0), img)  # uses the alpha band as mask, no full RGBA copy
    return base


def to_rgb(img: Image.Image, icc: bytes | None) -> tuple[Image.Image, bool]:
    """Return an RGB image and whether a non-trivial conversion happened.

    RGB/L pixels are returned without the ICC step (call apply_icc later on the small
    result, it is cheaper); CMYK goes through its profile here because it cannot be
    resized meaningfully as RGB first.
    """
    mode = img.mode
    if mode == "RGB":
        return img, False
    if mode == "CMYK":
        return apply_icc(img, icc), True
    if mode == "P":
        palette_alpha = img.palette is not None and img.palette.mode == "RGBA"
        has_alpha = "transparency" in img.info or palette_alpha
        return (_on_white(img) if has_alpha else img.convert("RGB")), True
    if mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        return _on_white(img), True
    if mode == "1":
        return img.convert("L").convert("RGB"), True
    if mode.startswith("I") or mode == "F":
        return _high_bit_to_l(img).convert("RGB"), True
    return img.convert("RGB"), mode != "L"
