"""Real files for the hand-off tests: PDFs written by fpdf2, images drawn with Pillow."""

from __future__ import annotations

import io
import random

from fpdf import FPDF
from PIL import Image, ImageDraw

A4 = (210, 297)  # mm


def text_pdf(pages: int = 3, lines: int = 45) -> bytes:
    """An A4 PDF of `pages` pages of printed text (a certificate or a letter exported to PDF)."""
    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", size=11)
    for n in range(1, pages + 1):
        pdf.add_page()
        for line in range(lines):
            pdf.cell(
                0, 5.5, f"Page {n} line {line}: certificate of employment 0123456789", new_x="LMARGIN", new_y="NEXT"
            )
    return bytes(pdf.output())


def blank_pdf(pages: int) -> bytes:
    """A PDF of `pages` empty pages (small whatever the count)."""
    pdf = FPDF(format="A4")
    for _ in range(pages):
        pdf.add_page()
    return bytes(pdf.output())


def scan_jpeg(size: tuple[int, int] = (1240, 1754), label: str = "page", seed: int = 1) -> bytes:
    """A scan-like JPEG: a white sheet with a frame, ruled lines and some grain."""
    rnd = random.Random(seed)
    img = Image.new("RGB", size, (250, 250, 246))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((w // 20, h // 20, w - w // 20, h - h // 20), outline=(20, 20, 20), width=max(1, w // 200))
    for y in range(h // 8, h - h // 8, max(4, h // 40)):
        x = w // 10
        while x < w - w // 10:  # "words" of random length
            word = rnd.randint(w // 40, w // 12)
            draw.rectangle((x, y, min(x + word, w - w // 10), y + max(2, h // 120)), fill=(30, 30, 60))
            x += word + rnd.randint(w // 80, w // 30)
    draw.text((w // 10, h // 16), label, fill=(0, 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def noise_jpeg(size: tuple[int, int], seed: int = 7) -> bytes:
    """A small, busy JPEG (a thumbnail of a photo): every pixel differs."""
    rnd = random.Random(seed)
    img = Image.frombytes("RGB", size, bytes(rnd.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def flat_png(size: tuple[int, int], color=(255, 255, 255)) -> bytes:
    """A PNG of one colour (a blank or nearly blank picture)."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's header segments, up to the first scan."""
    markers, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers
