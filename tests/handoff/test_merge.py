"""The merge itself (server/documents/merge.py) on real files: layout, flattening, bounds, threads."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from server.documents.budget import BUDGET
from server.documents.merge import GAP, Limits, Source, merge
from server.errors import Invalid
from server.photos.encode import size_window
from tests.handoff.files import flat_png, scan_jpeg, text_pdf

LIMITS = Limits(max_pages=20, max_page_pixels=20_000_000, max_pixels=8_000_000, min_kb=20, max_kb=500)
LOW, HIGH = size_window(20, 500)
PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_seven_pages_are_laid_out_in_a_grid_of_three_columns():
    sources = [Source(scan_jpeg((620, 877), seed=i), JPEG) for i in range(7)]
    merged = merge(sources, LIMITS)
    img = decoded(merged.jpeg)
    assert merged.pages == 7 and LOW <= len(merged.jpeg) <= HIGH
    # 3 columns x 3 rows of A4-shaped cells: about as wide as tall
    assert 0.8 < img.height / img.width < 1.6, img.size
    # composed at the pages' own width (620 px cells, 3 columns), then scaled to fit the window
    scale = img.width / (3 * 620 + 2 * GAP)
    gap_x = round((620 + GAP / 2) * scale)  # the middle of the gap between the first two columns
    assert img.getpixel((gap_x, img.height // 6))[0] < 225  # grey
    assert img.getpixel((round(600 * scale), img.height // 6))[0] > 235  # the page's white margin


def test_pdf_pages_and_images_merge_in_order_and_transparency_shows_white():
    clear = io.BytesIO()
    Image.new("RGBA", (620, 877), (255, 0, 0, 0)).save(clear, "PNG")  # fully transparent red
    merged = merge([Source(text_pdf(2), PDF), Source(clear.getvalue(), PNG)], LIMITS)
    img = decoded(merged.jpeg)
    assert merged.pages == 3
    r, g, b = img.getpixel((img.width // 2, img.height - 20))  # the last page: white, not red or black
    assert min(r, g, b) > 235, (r, g, b)


def test_the_merged_image_never_exceeds_max_pixels_before_fitting():
    small = Limits(max_pages=20, max_page_pixels=20_000_000, max_pixels=1_000_000, min_kb=20, max_kb=500)
    merged = merge([Source(text_pdf(20, lines=10), PDF)], small)
    assert merged.pages == 20 and merged.width * merged.height <= 1_000_000


def test_an_image_page_too_large_to_decode_is_refused_before_decoding():
    tight = Limits(max_pages=20, max_page_pixels=2_000_000, max_pixels=8_000_000, min_kb=20, max_kb=500)
    with pytest.raises(Invalid) as caught:
        merge([Source(flat_png((2000, 1500)), PNG)], tight)
    assert caught.value.code == "handoff_page_too_large"
    # A JPEG larger still is decoded reduced by libjpeg (5000x3000 at 1/4: 1250x750), so it passes.
    assert merge([Source(scan_jpeg((5000, 3000)), JPEG)], tight).pages == 1
    assert BUDGET.used == 0


def test_merges_in_several_threads_at_once_share_pdfium_safely():
    pdf = text_pdf(3)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: merge([Source(pdf, PDF)], LIMITS), range(6)))
    assert len({r.jpeg for r in results}) == 1 and results[0].pages == 3
    assert BUDGET.used == 0


def test_a_corrupt_pdf_is_a_422():
    with pytest.raises(Invalid) as caught:
        merge([Source(b"%PDF-1.4\n1 0 obj garbage\n%%EOF\n", PDF)], LIMITS)
    assert caught.value.code == "file_corrupt"
