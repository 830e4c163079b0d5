"""PDF pages to pixels with PDFium (pypdfium2), one call at a time for the whole process.

PDFium is not thread-safe, not even across documents: no two of its calls may run at the same
time in one process (pypdfium2's documentation, "Incompatibility with Threading"). Every call
goes through `PDFIUM` (a process-wide lock), held per step (open, count, render one page,
close) so that two jobs interleave page by page instead of one waiting for a whole document.
Objects are closed explicitly under the lock: a pypdfium2 object left to the garbage collector
would be closed by a finalizer in whatever thread collects it, outside the lock.

Used in worker threads only (server/documents/merge.py); never on the IOLoop. The sizes are
read from the page tree without loading a page (`FPDF_GetPageSizeByIndexF`, /Rotate applied),
so a caller bounds page count and page pixels before a single page is rendered. Images inside
a page need no bound of their own: PDFium decodes them at about the size they are drawn at (a
page holding an 8000x8000 JPEG or Flate image, rendered 1240 px wide, grew the process by
~36 MB, measured with pypdfium2 5.15).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pypdfium2 as pdfium
from PIL import Image

from server.documents.sniff import file_problem
from server.errors import Invalid

PDFIUM = threading.Lock()


def corrupt() -> Invalid:
    """The 422 for a stored PDF PDFium cannot open."""
    return file_problem("file_corrupt", "PDF 文件无法读取，请重新导出后上传")


class PdfPages:
    """An open PDF: its page sizes (points, rotation applied) and one page rendered at a time."""

    def __init__(self, data: bytes):
        self._data = data  # PDFium reads from this buffer while the document is open
        with PDFIUM:
            try:
                self._doc = pdfium.PdfDocument(data)
            except pdfium.PdfiumError:
                raise corrupt() from None
            try:
                self.count = len(self._doc)
            except Exception:
                self._doc.close()
                raise

    def sizes(self) -> list[tuple[float, float]]:
        """(width, height) in points of every page, as shown (after /Rotate)."""
        out = []
        with PDFIUM:
            for i in range(self.count):
                try:
                    w, h = self._doc.get_page_size(i)
                except pdfium.PdfiumError:
                    raise corrupt() from None
                out.append((float(w), float(h)))
        return out

    def render(self, index: int, scale: float) -> Image.Image:
        """Page `index` as an RGB image at `scale` pixels per point (size: `rendered_size`)."""
        with PDFIUM:
            try:
                page = self._doc[index]
            except pdfium.PdfiumError:
                raise corrupt() from None
            try:
                bitmap = page.render(
                    scale=scale, rev_byteorder=True, may_draw_forms=False, limit_image_cache=True, draw_annots=True
                )
                try:
                    # 3-byte RGB: Pillow copies it (it maps only 4-byte and grey buffers), so the
                    # image outlives the bitmap's buffer, freed below.
                    image = bitmap.to_pil()
                    return image if image.mode == "RGB" else image.convert("RGB")
                finally:
                    bitmap.close()
            finally:
                page.close()

    def close(self) -> None:
        """Free PDFium's document (idempotent)."""
        with PDFIUM:
            self._doc.close()


def rendered_size(width_pt: float, height_pt: float, scale: float) -> tuple[int, int]:
    """The bitmap size `PdfPages.render` makes (pypdfium2 rounds each side up)."""
    return max(1, math.ceil(width_pt * scale)), max(1, math.ceil(height_pt * scale))


@contextmanager
def open_pdf(data: bytes) -> Iterator[PdfPages]:
    """An open PDF, closed after the block whatever happens."""
    pages = PdfPages(data)
    try:
        yield pages
    finally:
        pages.close()
