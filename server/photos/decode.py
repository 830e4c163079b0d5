"""Open an upload header-first, refuse oversized images, then decode at a reduced scale."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from .color import to_rgb
from .errors import PhotoRejected
from .sniff import corrupt, jpeg_size, png_size
from .spec import PhotoSpec

MAX_SIDE = 30_000  # no phone or camera produces a longer side
MAX_ASPECT = 10  # longer side / shorter side

# Orientation values that swap width and height.
_SWAPS_AXES = {5, 6, 7, 8}

# Info keys that are decoding details rather than personal or descriptive metadata.
_TECHNICAL_KEYS = {
    "dpi",
    "gamma",
    "transparency",
    "interlace",
    "aspect",
    "srgb",
    "chromaticity",
    "jfif",
    "jfif_version",
    "jfif_unit",
    "jfif_density",
    "progressive",
    "progression",
    "adobe",
    "adobe_transform",
    "original_orientation",
    "bit_depth",
    "primary",
    "thumbnails",
    "depth_images",
    "heif",
    "nclx_profile",
    "chroma",
    "metadata",
    "aux",
    "tiling",
    "pixel_aspect_ratio",
    "mp",
    "mpoffset",
    "huffman_dc",
    "huffman_ac",
    "quantization",
    "icc_profile_name",
    "exif",
    "icc_profile",
    "xmp",
    "XML:com.adobe.xmp",
    "comment",
}


def _metadata_labels(img: Image.Image) -> tuple[str, ...]:
    """Names of the metadata blocks present in a freshly opened image."""
    info = img.info
    labels: list[str] = []
    exif = info.get("exif") or info.get("Raw profile type exif")
    if exif:
        labels.append("exif")
        try:
            if img.getexif().get_ifd(0x8825):
                labels.append("gps")
        except Exception:
            pass
    if info.get("icc_profile"):
        labels.append("icc")
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        labels.append("xmp")
    if info.get("comment"):
        labels.append("comment")
    if any(k not in _TECHNICAL_KEYS and k != "Raw profile type exif" for k in info):
        labels.append("text")
    return tuple(labels)


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation that exif_transpose will apply (1 when absent or invalid)."""
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return value if value in range(1, 9) else 1


def check_pixels(width: int, height: int, spec: PhotoSpec) -> None:
    """Refuse absurd or bomb-like dimensions before any pixel is decoded."""
    if width <= 0 or height <= 0:
        raise corrupt()
    if (
        width * height > spec.max_source_pixels
        or max(width, height) > MAX_SIDE
        or max(width, height) > MAX_ASPECT * min(width, height)
    ):
        limit = spec.max_source_pixels / 1_000_000
        raise PhotoRejected(
            "image_too_large",
            f"照片尺寸异常（{width}×{height}），请上传不超过 {limit:g} 百万像素的正常照片。",
        )


@dataclass
class Source:
    """A header-parsed upload: display size, orientation, metadata; decodes on demand."""

    data: bytes
    kind: str
    raw_size: tuple[int, int]
    orientation: int
    metadata: tuple[str, ...]
    icc: bytes | None
    mode: str
    rotated_by_decoder: bool = False

    @property
    def rotated(self) -> bool:
        """True when the stored pixels are turned upright using the orientation tag."""
        return self.orientation != 1 or self.rotated_by_decoder

    @property
    def size(self) -> tuple[int, int]:
        """Width and height as displayed (EXIF orientation applied)."""
        w, h = self.raw_size
        return (h, w) if self.orientation in _SWAPS_AXES else (w, h)

    def decode_rgb(self, min_size: tuple[int, int]) -> Image.Image:
        """Upright RGB pixels, reduced as far as possible while still covering `min_size`.

        `min_size` is in display axes. JPEG is reduced while decoding (libjpeg DCT scaling
        to 1/2, 1/4 or 1/8 through Image.draft), so a 12 MP photo never exists at full size.
        PNG and HEIC must be decoded in full; they are flattened to RGB and then reduced by
        an integer box filter, so later steps work on the small copy.
        """
        try:
            if self.kind == "jpeg":
                img = self._decode_jpeg(min_size)
            else:
                img = self._decode_full()
                factor = self._reduction(img.size, min_size)
                if factor > 1 and img.mode in ("RGB", "L", "CMYK"):
                    img = img.reduce(factor)  # cheaper before the mode conversion
                    factor = 1
                img, _ = to_rgb(img, self.icc)
                return img.reduce(factor) if factor > 1 else img
            rgb, _ = to_rgb(img, self.icc)
            return rgb
        except PhotoRejected:
            raise
        except MemoryError as exc:
            raise PhotoRejected("image_too_large", "照片太大，无法处理，请上传较小的照片。") from exc
        except Exception as exc:  # any decoder failure means the file is unusable
            raise corrupt() from exc

    @staticmethod
    def _reduction(size: tuple[int, int], min_size: tuple[int, int]) -> int:
        """Largest integer factor (at most 8, like JPEG) that keeps size >= min_size."""
        factor = min(size[0] // max(1, min_size[0]), size[1] // max(1, min_size[1]), 8)
        return max(1, factor)

    def _decode_jpeg(self, min_size: tuple[int, int]) -> Image.Image:
        """Decode a JPEG at the coarsest DCT scale that still covers min_size, upright."""
        img = Image.open(io.BytesIO(self.data), formats=["JPEG"])
        want_w, want_h = min_size
        if self.orientation in _SWAPS_AXES:
            want_w, want_h = want_h, want_w
        img.draft(img.mode if img.mode in ("CMYK", "L") else "RGB", (max(1, want_w), max(1, want_h)))
        img.load()
        ImageOps.exif_transpose(img, in_place=True)
        return img

    def _decode_full(self) -> Image.Image:
        """Decode a PNG or HEIC at full size, upright."""
        if self.kind == "png":
            img = Image.open(io.BytesIO(self.data), formats=["PNG"])
            img.load()
            ImageOps.exif_transpose(img, in_place=True)
            return img
        import pillow_heif

        heif = pillow_heif.open_heif(io.BytesIO(self.data), convert_hdr_to_8bit=True)
        return heif.to_pillow()  # libheif applies the rotation; EXIF orientation is reset


def open_source(data: bytes, kind: str, spec: PhotoSpec) -> Source:
    """Read the header of a sniffed upload, refusing oversized images before decoding."""
    if kind == "jpeg":
        check_pixels(*jpeg_size(data), spec)
    elif kind == "png":
        check_pixels(*png_size(data), spec)
    try:
        if kind == "heic":
            return _open_heic(data, spec)
        img = Image.open(io.BytesIO(data), formats=["JPEG" if kind == "jpeg" else "PNG"])
        check_pixels(*img.size, spec)
        return Source(
            data=data,
            kind=kind,
            raw_size=img.size,
            orientation=_orientation(img),
            metadata=_metadata_labels(img),
            icc=img.info.get("icc_profile"),
            mode=img.mode,
        )
    except PhotoRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoRejected("image_too_large", "照片像素过多，请上传正常拍摄的照片。") from exc
    except Exception as exc:
        raise corrupt() from exc


def _open_heic(data: bytes, spec: PhotoSpec) -> Source:
    """Parse a HEIC container (no pixel decoding) with pillow-heif."""
    import pillow_heif

    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    width, height = heif.size
    check_pixels(width, height, spec)
    info = heif.info
    labels: list[str] = []
    orientation = 1
    if info.get("exif"):
        labels.append("exif")
        try:
            exif = Image.Exif()
            exif.load(info["exif"])
            orientation = exif.get(0x0112, 1)
            if exif.get_ifd(0x8825):
                labels.append("gps")
        except Exception:
            pass
    if info.get("icc_profile"):
        labels.append("icc")
    if info.get("xmp"):
        labels.append("xmp")
    # libheif applies the rotation while decoding, so heif.size is already the display size.
    return Source(
        data=data,
        kind="heic",
        raw_size=heif.size,
        orientation=1,
        metadata=tuple(labels),
        icc=info.get("icc_profile"),
        mode=heif.mode,
        rotated_by_decoder=orientation not in (1, None),
    )
