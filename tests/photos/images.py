"""Builders for real test photos (bytes), based on scikit-image's public-domain astronaut.

Reusable by other tests (e.g. HTTP upload tests): every public builder returns the file
bytes an uploader would send. Results are cached, so treat them as read-only.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageCms

WHITE = (255, 255, 255)
ID_BLUE = (67, 142, 219)
ID_RED = (200, 30, 40)

# The astronaut (Eileen Collins) region used as a head-and-shoulders cut-out, and the
# Haar face box inside that region (x, y, w, h), measured once.
_CUT_X0, _CUT_X1, _CUT_Y1 = 100, 375, 440
_FACE_IN_CUT = (77, 66, 95, 95)

PHONE_SIZE = (3024, 4032)  # 12 MP, portrait as displayed


@lru_cache(maxsize=1)
def astronaut_cutout() -> Image.Image:
    """RGBA head and shoulders of the astronaut with a transparent background (GrabCut)."""
    from skimage import data

    rgb = data.astronaut()
    h, w = rgb.shape[:2]
    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    mask[:, _CUT_X0:_CUT_X1] = cv2.GC_PR_BGD
    cv2.ellipse(mask, (226, 100), (80, 95), 0, 0, 360, cv2.GC_PR_FGD, -1)
    body = np.array([[130, 170], [320, 170], [365, 330], [365, 511], [100, 511], [100, 330]])
    cv2.fillPoly(mask, [body], cv2.GC_PR_FGD)
    cv2.ellipse(mask, (224, 115), (35, 45), 0, 0, 360, cv2.GC_FGD, -1)
    mask[250:511, 150:330] = cv2.GC_FGD
    cv2.setRNGSeed(0)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    alpha = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0)  # soften the cut edge slightly
    rgba = np.dstack([rgb, alpha])[:_CUT_Y1, _CUT_X0:_CUT_X1]
    return Image.fromarray(np.ascontiguousarray(rgba), "RGBA")


def paste_person(canvas: Image.Image, face_h: float, face_cx: float, face_top: float) -> None:
    """Paste the cut-out so its face box has height face_h, centre x face_cx and top face_top."""
    cut = astronaut_cutout()
    fx, fy, fw, fh = _FACE_IN_CUT
    k = face_h / fh
    scaled = cut.resize((round(cut.width * k), round(cut.height * k)), Image.Resampling.LANCZOS)
    canvas.paste(scaled, (round(face_cx - (fx + fw / 2) * k), round(face_top - fy * k)), scaled)


def portrait(
    background: tuple[int, int, int] | Image.Image = WHITE,
    size: tuple[int, int] = (1200, 1600),
    face_frac: float = 0.22,
    face_top_frac: float = 0.28,
) -> Image.Image:
    """An RGB head-and-shoulders photo of the astronaut in front of a background."""
    if isinstance(background, Image.Image):
        canvas = background.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    else:
        canvas = Image.new("RGB", size, background)
    w, h = size
    paste_person(canvas, face_frac * h, w / 2, face_top_frac * h)
    return canvas


def add_noise(img: Image.Image, amplitude: int = 10, seed: int = 0) -> Image.Image:
    """Add uniform sensor-like noise (a tiled 1024 px pattern keeps it cheap)."""
    rng = np.random.default_rng(seed)
    tile = rng.integers(-amplitude, amplitude + 1, size=(1024, 1024, 3), dtype=np.int16)
    arr = np.asarray(img, dtype=np.int16)
    h, w = arr.shape[:2]
    reps = (-(-h // 1024), -(-w // 1024), 1)
    arr = arr + np.tile(tile, reps)[:h, :w]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def phone_exif(orientation: int = 1, gps: bool = True) -> Image.Exif:
    """EXIF like a phone writes: make, model, orientation and optionally a GPS block."""
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    exif[0x0131] = "17.0"
    if orientation != 1:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 10.5), 3: "E", 4: (121.0, 28.0, 30.2)}
    return exif


# How to store pixels so that the given EXIF orientation displays them upright.
_STORE_FOR_ORIENTATION = {
    1: None,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def to_jpeg(
    img: Image.Image,
    quality: int = 92,
    orientation: int = 1,
    gps: bool = False,
    exif: bool = True,
    icc: bool = False,
    comment: bytes | None = None,
    xmp: bytes | None = None,
) -> bytes:
    """Encode an upright image as a JPEG, storing it rotated for `orientation` (1, 3, 6, 8)."""
    method = _STORE_FOR_ORIENTATION[orientation]
    stored = img.transpose(method) if method is not None else img
    kwargs: dict = {"quality": quality}
    if exif:
        kwargs["exif"] = phone_exif(orientation, gps)
    if icc:
        kwargs["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if comment:
        kwargs["comment"] = comment
    if xmp:
        kwargs["xmp"] = xmp
    buf = io.BytesIO()
    stored.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def to_png(img: Image.Image) -> bytes:
    """Encode as PNG."""
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


XMP_PACKET = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
    b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator>Zhang San</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
)


@lru_cache(maxsize=8)
def id_photo_jpeg(
    background: tuple[int, int, int] = WHITE, size: tuple[int, int] = (1200, 1600), face_frac: float = 0.22
) -> bytes:
    """A plain upright ID-style JPEG of the astronaut on a coloured background."""
    return to_jpeg(portrait(background, size, face_frac), gps=False)


@lru_cache(maxsize=4)
def phone_jpeg(
    background: tuple[int, int, int] = WHITE, orientation: int = 6, noise: int = 12, quality: int = 94
) -> bytes:
    """A 12 MP phone JPEG (3-5 MB): stored landscape with an EXIF rotation, GPS, ICC, XMP."""
    img = add_noise(portrait(background, PHONE_SIZE, face_frac=0.2, face_top_frac=0.27), noise)
    return to_jpeg(
        img, quality=quality, orientation=orientation, gps=True, icc=True, comment=b"shot on a phone", xmp=XMP_PACKET
    )


@lru_cache(maxsize=1)
def landscape_jpeg() -> bytes:
    """A photo with no face: scikit-image's coffee cup, enlarged to 1500x1000."""
    from skimage import data

    img = Image.fromarray(data.coffee()).resize((1500, 1000), Image.Resampling.LANCZOS)
    return to_jpeg(img, gps=False)


@lru_cache(maxsize=1)
def two_faces_jpeg() -> bytes:
    """Two astronauts side by side on white."""
    canvas = Image.new("RGB", (1600, 1200), WHITE)
    for cx in (430, 1170):
        paste_person(canvas, 260, cx, 300)
    return to_jpeg(canvas, gps=False)


@lru_cache(maxsize=1)
def dark_jpeg() -> bytes:
    """The white-background ID photo badly underexposed."""
    arr = np.asarray(portrait(WHITE), dtype=np.float32) * 0.16
    return to_jpeg(Image.fromarray(arr.astype(np.uint8)), gps=False)


@lru_cache(maxsize=1)
def overexposed_jpeg() -> bytes:
    """The white-background ID photo blown out by strong light."""
    arr = np.asarray(portrait(WHITE), dtype=np.float32) * 1.9 + 40
    return to_jpeg(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), gps=False)


def clutter(size: tuple[int, int] = (1200, 1600), seed: int = 3) -> Image.Image:
    """A busy room-like backdrop: random coloured shelves, boxes and posters."""
    rng = np.random.default_rng(seed)
    w, h = size
    arr = np.full((h, w, 3), 170, np.uint8)
    for _ in range(160):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        bw, bh = int(rng.integers(40, 300)), int(rng.integers(40, 300))
        arr[y : y + bh, x : x + bw] = rng.integers(0, 256, size=3)
    return Image.fromarray(arr)


@lru_cache(maxsize=1)
def cluttered_jpeg() -> bytes:
    """The astronaut in front of a cluttered backdrop."""
    return to_jpeg(portrait(clutter()), gps=False)


@lru_cache(maxsize=1)
def red_background_jpeg() -> bytes:
    """The astronaut on an even red backdrop (not allowed by the default spec)."""
    return to_jpeg(portrait(ID_RED), gps=False)


@lru_cache(maxsize=1)
def too_close_jpeg() -> bytes:
    """A selfie so close that the face fills most of the frame."""
    return to_jpeg(portrait(WHITE, (1200, 1600), face_frac=0.6, face_top_frac=0.15), gps=False)


@lru_cache(maxsize=1)
def small_source_jpeg() -> bytes:
    """A correct-looking ID photo below the minimum source resolution (200x280)."""
    return to_jpeg(portrait(WHITE, (1200, 1600)).resize((210, 280), Image.Resampling.LANCZOS), gps=False)


def truncated_jpeg() -> bytes:
    """The first 60% of a valid JPEG, as an interrupted upload."""
    data = id_photo_jpeg()
    return data[: int(len(data) * 0.6)]


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit PNG of huge dimensions but a small file (a decompression bomb)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row * 1000) for _ in range(height // 1000))
    body += comp.compress(row * (height % 1000)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def jpeg_with_fake_size(width: int = 30000, height: int = 30000) -> bytes:
    """A small JPEG whose frame header claims absurd dimensions."""
    data = bytearray(to_jpeg(Image.new("RGB", (64, 64), WHITE), exif=False))
    pos = 2
    while True:
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker == 0xC0:
            data[pos + 5 : pos + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        pos += 2 + length


def gif_bytes() -> bytes:
    """A small animated-style GIF of the portrait."""
    buf = io.BytesIO()
    portrait(WHITE, (300, 400)).convert("P").save(buf, "GIF")
    return buf.getvalue()


def svg_bytes() -> bytes:
    """An SVG document (text, possibly with script)."""
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="295" '
        b'height="413"><circle cx="147" cy="150" r="80"/><script>alert(1)</script></svg>'
    )


def pdf_bytes() -> bytes:
    """The start of a PDF file."""
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def exe_bytes() -> bytes:
    """A Windows executable header."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def webp_bytes() -> bytes:
    """A WebP image."""
    buf = io.BytesIO()
    portrait(WHITE, (300, 400)).save(buf, "WEBP")
    return buf.getvalue()


@lru_cache(maxsize=1)
def cmyk_jpeg() -> bytes:
    """The ID photo saved as an Adobe-style CMYK JPEG."""
    buf = io.BytesIO()
    portrait(WHITE).convert("CMYK").save(buf, "JPEG", quality=92)
    return buf.getvalue()


@lru_cache(maxsize=1)
def png16_gray() -> bytes:
    """The ID photo as a 16-bit greyscale PNG."""
    grey = np.asarray(portrait(WHITE).convert("L"), dtype=np.uint16) * 257
    return to_png(Image.fromarray(grey))


@lru_cache(maxsize=1)
def png16_rgb() -> bytes:
    """The ID photo as a 48-bit (16 bits per channel) RGB PNG."""
    rgb = np.asarray(portrait(ID_BLUE), dtype=np.uint16) * 257
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return encoded.tobytes()


@lru_cache(maxsize=1)
def rgba_png() -> bytes:
    """The cut-out on a transparent background (should be placed on white)."""
    canvas = Image.new("RGBA", (1200, 1600), (0, 0, 0, 0))
    paste_person(canvas, 0.22 * 1600, 600, 0.28 * 1600)
    return to_png(canvas)


@lru_cache(maxsize=1)
def palette_png() -> bytes:
    """The ID photo as an 8-bit palette PNG."""
    return to_png(portrait(WHITE).convert("P", palette=Image.Palette.ADAPTIVE, colors=256))


@lru_cache(maxsize=1)
def la_png() -> bytes:
    """The cut-out as grey with alpha (LA)."""
    canvas = Image.new("RGBA", (1200, 1600), (0, 0, 0, 0))
    paste_person(canvas, 0.22 * 1600, 600, 0.28 * 1600)
    return to_png(canvas.convert("LA"))


@lru_cache(maxsize=2)
def heic_bytes(orientation: int = 1) -> bytes:
    """The ID photo encoded as HEIC with pillow-heif, optionally with an EXIF rotation."""
    import pillow_heif

    img = portrait(WHITE)
    method = _STORE_FOR_ORIENTATION[orientation]
    stored = img.transpose(method) if method is not None else img
    buf = io.BytesIO()
    pillow_heif.from_pillow(stored).save(buf, quality=85, exif=phone_exif(orientation, gps=True).tobytes())
    return buf.getvalue()


def jpeg_markers(data: bytes) -> list[int]:
    """Marker codes of a JPEG's segments up to the start of scan (to check what metadata is left)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return markers
