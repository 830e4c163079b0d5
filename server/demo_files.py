"""`python -m server.demo_files [DIR]`: sample upload files for the README's curl walk-through.

Writes, drawn with Pillow (no binaries in the repository, the same bytes on every run):

- `photo.jpg`: a 900x1200 head-and-shoulders portrait in front of a plain white wall, which passes
  every check of the ID-photo pipeline (server/photos/) under the default PHOTO_* settings;
- `scan.jpg`: a 1400x990 "scanned certificate" page, accepted by the document uploads.

`make demo-files` writes them into `.data/demo/`.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DEFAULT_DIR = Path(".data/demo")
WHITE = (255, 255, 255)
SKIN = (224, 180, 150)
SKIN_SHADE = (205, 160, 130)
HAIR = (40, 30, 25)
SHIRT = (40, 60, 110)


def _sensor_noise(img: Image.Image, amplitude: int, seed: int) -> Image.Image:
    """Add faint grey noise, as a camera sensor does (a flat drawing would compress to almost nothing)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-amplitude, amplitude + 1, size=(img.height, img.width, 1), dtype=np.int16)
    arr = np.asarray(img, dtype=np.int16) + noise
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def portrait(size: tuple[int, int] = (900, 1200), background: tuple[int, int, int] = WHITE) -> Image.Image:
    """A drawn frontal face with hair, neck and shoulders on a plain background.

    The proportions (face about 30 % of the height, its top at a quarter) leave room above the
    head and below the chin, so the pipeline's crop puts the head where an ID photo has it; the
    dark brows and eyes over a lighter nose and cheeks are what OpenCV's frontal-face cascade finds.
    """
    w, h = size
    img = Image.new("RGB", size, background)
    d = ImageDraw.Draw(img)
    cx, fw, fh, top = w / 2, 0.30 * w, 0.30 * h, 0.25 * h
    d.ellipse([cx - 0.44 * w, top + fh * 0.97, cx + 0.44 * w, h * 1.5], fill=SHIRT)  # shoulders
    d.rectangle([cx - 0.07 * w, top + fh * 0.7, cx + 0.07 * w, top + fh * 1.1], fill=SKIN_SHADE)  # neck
    d.polygon([(cx - 0.07 * w, top + fh * 1.05), (cx, top + fh * 1.25), (cx + 0.07 * w, top + fh * 1.05)], fill=WHITE)
    d.ellipse([cx - fw * 0.56, top - fh * 0.12, cx + fw * 0.56, top + fh * 0.6], fill=HAIR)
    d.ellipse([cx - fw / 2, top, cx + fw / 2, top + fh], fill=SKIN)
    d.chord([cx - fw * 0.52, top - fh * 0.1, cx + fw * 0.52, top + fh * 0.38], 180, 360, fill=HAIR)  # fringe
    ey = top + fh * 0.42
    for side in (-1, 1):
        ex = cx + side * fw * 0.2
        d.rounded_rectangle(
            [ex - fw * 0.12, ey - fh * 0.11, ex + fw * 0.12, ey - fh * 0.075], radius=6, fill=(60, 40, 30)
        )
        d.ellipse([ex - fw * 0.11, ey - fh * 0.04, ex + fw * 0.11, ey + fh * 0.04], fill=(150, 110, 95))
        d.ellipse([ex - fw * 0.08, ey - fh * 0.025, ex + fw * 0.08, ey + fh * 0.025], fill=(250, 250, 250))
        d.ellipse([ex - fw * 0.035, ey - fh * 0.025, ex + fw * 0.035, ey + fh * 0.025], fill=(30, 20, 15))
    d.polygon([(cx, ey + fh * 0.02), (cx - fw * 0.06, ey + fh * 0.2), (cx + fw * 0.06, ey + fh * 0.2)], fill=SKIN_SHADE)
    d.ellipse([cx - fw * 0.07, ey + fh * 0.18, cx + fw * 0.07, ey + fh * 0.23], fill=(170, 120, 100))
    d.chord([cx - fw * 0.15, ey + fh * 0.26, cx + fw * 0.15, ey + fh * 0.36], 0, 180, fill=(150, 60, 60))  # mouth
    return _sensor_noise(img.filter(ImageFilter.GaussianBlur(w / 300)), 3, seed=1)


def scan(size: tuple[int, int] = (1400, 990)) -> Image.Image:
    """A light-grey certificate page with a border, a title, a photo box and lines of "text"."""
    w, h = size
    img = Image.new("RGB", size, (246, 245, 240))
    d = ImageDraw.Draw(img)
    d.rectangle([30, 30, w - 30, h - 30], outline=(150, 40, 40), width=8)
    d.rectangle([48, 48, w - 48, h - 48], outline=(150, 40, 40), width=2)
    font = ImageFont.load_default(size=44)
    small = ImageFont.load_default(size=24)
    d.text((w / 2, 120), "SAMPLE CERTIFICATE", font=font, fill=(150, 40, 40), anchor="mm")
    d.text((w / 2, 175), "a demo scan, not a real document", font=small, fill=(90, 90, 90), anchor="mm")
    d.rectangle([110, 250, 360, 600], outline=(120, 120, 120), width=3)
    for i, y in enumerate(range(270, 860, 58)):
        d.rectangle([420, y, 420 + 180, y + 18], fill=(70, 70, 70))
        d.rectangle([640, y, w - 120 - (i * 53) % 260, y + 18], fill=(110, 110, 110))
    d.ellipse([w - 330, h - 300, w - 130, h - 100], outline=(200, 50, 50), width=6)  # the seal
    return _sensor_noise(img.filter(ImageFilter.GaussianBlur(0.8)), 4, seed=2)


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    """Plain JPEG bytes (no EXIF)."""
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def files() -> dict[str, bytes]:
    """File name -> bytes of every sample file."""
    return {"photo.jpg": jpeg(portrait()), "scan.jpg": jpeg(scan())}


def write(directory: Path) -> list[Path]:
    """Write the sample files into `directory` (created if needed); their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files().items():
        path = directory / name
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    """Write the files into argv[0] (default .data/demo) and say where."""
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        print("usage: python -m server.demo_files [DIR]   (default .data/demo)", file=sys.stderr)
        return 2
    directory = Path(argv[0]) if argv else DEFAULT_DIR
    for path in write(directory):
        print(f"{path} ({path.stat().st_size // 1024} KB)")
    print(f"the README's curl walk-through uploads these files (D={directory})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
