"""The pages of one document (PDF pages, images) merged into one JPEG whose size lands in a window.

Pure (bytes in, bytes out) and run in a worker thread. Everything is bounded before a pixel exists:

1. plan: the pages and their shapes from headers only (an image's header through Pillow's lazy
   open; a PDF's page count and page sizes from its page tree). Refused with a 422: more than
   `max_pages` pages in all (counted before any page is read), a page whose sides differ more
   than MAX_ASPECT times (a 1x100000 strip), an image page that would decode to more than
   `max_page_pixels`.
2. layout: one column up to 3 pages, else a grid of ceil(sqrt(n)) columns. Every page is scaled
   to one cell width: at most PAGE_WIDTH (an A4 page at 150 dpi), never wider than the widest
   page's own width (a PDF page's at 150 dpi), the whole at most `max_pixels`. The job's peak
   memory follows from this layout; it is held from the process-wide budget (budget.BUDGET)
   while the job runs, and a job that could not fit one job's share (budget.JOB_BYTES) is refused.
3. compose and fit: pages are rendered (PDFium) or decoded (a JPEG reduced by libjpeg first)
   one at a time, straight to their cell size, and pasted on the canvas; the canvas is encoded
   as a baseline JPEG with no metadata (no EXIF, ICC, XMP or comment: nothing but pixels reaches
   the encoder). The search keeps the most pixels it can: the highest quality (at least
   MIN_QUALITY, so text stays legible) that fits the maximum size, fewer pixels when even
   MIN_QUALITY is too large, more pixels (up to MAX_UPSCALE times the composed size, within
   `max_pixels`) when even the top quality with full chroma is below the minimum; a document
   too bare for that (a near-blank page, a thumbnail) is refused with the reason. At most
   MAX_ROUNDS sizes are tried, each with a bounded quality search.
"""

from __future__ import annotations

import io
import math
from contextlib import ExitStack
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from server.documents.budget import BUDGET, JOB_BYTES, MB
from server.documents.rasterize import PdfPages, open_pdf, rendered_size
from server.documents.sniff import JPEG, PDF, PNG
from server.errors import Invalid
from server.photos.encode import size_window

PAGE_WIDTH = 1240  # px: an A4 page at 150 dpi, the widest cell
RENDER_DPI = 150  # a PDF page's own width, in pixels, is its width at this resolution
MAX_ASPECT = 12.0  # the longer side of a page at most this many times the shorter (a long receipt)
SINGLE_COLUMN = 3  # pages stacked in one column; more are laid out in a grid
GAP = 12  # px between pages
GAP_COLOR = (208, 208, 208)
WHITE = (255, 255, 255)
MIN_QUALITY = 50  # below this, small print on a scan blurs into its JPEG blocks
MAX_QUALITY = 90  # the search's top quality (4:2:0 chroma)
RICH_QUALITY = 95  # tried with full chroma before adding pixels to a bare page
MAX_UPSCALE = 4.0  # a small source is enlarged at most this many times (each side)
MAX_ROUNDS = 6  # sizes tried at most
SHRINK_MARGIN = 0.9  # aim a little below the maximum when shrinking (JPEG size is not exactly linear)
GROW_MARGIN = 1.3  # and a little above the minimum when enlarging
_ALPHA_MODES = ("RGBA", "LA", "PA")


@dataclass(frozen=True)
class Limits:
    """The bounds of one merge (from settings)."""

    max_pages: int
    max_page_pixels: int
    max_pixels: int
    min_kb: int
    max_kb: int


@dataclass(frozen=True)
class Source:
    """One stored file of the document (the first upload or an added page)."""

    data: bytes
    content_type: str


@dataclass(frozen=True)
class Merged:
    """The merged image and how it was made."""

    jpeg: bytes
    width: int
    height: int
    pages: int
    quality: int
    upscaled: bool


@dataclass
class _Page:
    source: int  # index into the sources
    index: int  # page of a PDF (0 for an image)
    width: float  # an image's pixels, a PDF page's points
    height: float
    mode: str = ""  # an image's mode ("" for a PDF page)
    target: tuple[int, int] = (0, 0)  # its size on the canvas
    scale: float = 0.0  # a PDF page's render scale (pixels per point)
    decode: tuple[int, int] = (0, 0)  # an image's decoded size (a JPEG reduced by libjpeg)

    @property
    def own_width(self) -> float:
        """The page's width in pixels at its own resolution."""
        return self.width * RENDER_DPI / 72 if not self.mode else self.width


def problem(code: str, message: str, **extra) -> Invalid:
    """The 422 of a document that cannot be merged (field "document")."""
    item = {"field": "document", "code": code, "message": message, **extra}
    return Invalid([item], message, code)


def too_many_pages(count: int, limit: int) -> Invalid:
    return problem(
        "handoff_too_many_pages",
        f"该材料共 {count} 页，合成一张图片最多 {limit} 页；请删去多余页面，或只上传需要的页面",
        pages=count,
        max_pages=limit,
    )


def _corrupt_image(number: int) -> Invalid:
    return problem("file_corrupt", f"第 {number} 页图片无法读取，请重新上传该页", page=number)


# 1. plan ---------------------------------------------------------------------------------------


def _image_page(number: int, source: int, data: bytes) -> _Page:
    """An image page's shape from its header (Pillow reads no pixel here)."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as img:
            width, height, mode = img.width, img.height, img.mode
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError):
        raise _corrupt_image(number) from None
    return _Page(source, 0, width, height, mode)


def _plan(sources: list[Source], pdfs: dict[int, PdfPages], limits: Limits) -> list[_Page]:
    """Every page in order, its shape checked; the page count is checked before any size is read."""
    total = sum(pdfs[i].count if s.content_type == PDF else 1 for i, s in enumerate(sources))
    if total > limits.max_pages:
        raise too_many_pages(total, limits.max_pages)
    if total < 1:
        raise problem("file_corrupt", "PDF 文件没有页面，请重新导出后上传")
    pages: list[_Page] = []
    for i, src in enumerate(sources):
        if src.content_type == PDF:
            pages += [_Page(i, k, w, h) for k, (w, h) in enumerate(pdfs[i].sizes())]
        else:
            pages.append(_image_page(len(pages) + 1, i, src.data))
    for number, page in enumerate(pages, 1):
        short, long = sorted((page.width, page.height))
        if short <= 0 or long / short > MAX_ASPECT:
            size = f"{page.width:.0f}×{page.height:.0f}"
            raise problem(
                "handoff_page_shape",
                f"第 {number} 页长宽比例异常（{size}），无法合成为图片；请重新拍摄或扫描该页后上传",
                page=number,
            )
    return pages


# 2. layout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    size: tuple[int, int]
    boxes: list[tuple[int, int]]  # each page's top-left corner


def _columns(count: int) -> int:
    return 1 if count <= SINGLE_COLUMN else math.ceil(math.sqrt(count))


def _fit_cells(pages: list[_Page], cell: int, columns: int) -> _Layout:
    """Size every page to `cell` pixels wide and place them row by row."""
    for page in pages:
        if page.mode:  # an image: scaled to the cell width
            page.target = (cell, max(1, round(cell * page.height / page.width)))
        else:  # a PDF page: rendered at that width (pypdfium2 rounds each side up)
            page.scale = (cell - 0.01) / page.width
            page.target = rendered_size(page.width, page.height, page.scale)
    boxes: list[tuple[int, int]] = []
    y = 0
    for row in range(0, len(pages), columns):
        cells = pages[row : row + columns]
        boxes += [(c * (cell + GAP), y) for c in range(len(cells))]
        y += max(p.target[1] for p in cells) + GAP
    width = columns * cell + (columns - 1) * GAP
    return _Layout((width, y - GAP), boxes)


def _layout(pages: list[_Page], max_pixels: int) -> _Layout:
    """The largest layout within `max_pixels` (cells of at most PAGE_WIDTH, no page enlarged)."""
    columns = min(_columns(len(pages)), len(pages))
    cell = max(1, min(PAGE_WIDTH, round(max(p.own_width for p in pages))))
    layout = _fit_cells(pages, cell, columns)
    while layout.size[0] * layout.size[1] > max_pixels and cell > 1:
        shrink = math.sqrt(max_pixels / (layout.size[0] * layout.size[1]))
        cell = max(1, min(cell - 1, math.floor(cell * shrink)))
        layout = _fit_cells(pages, cell, columns)
    return layout


def _decode_size(page: _Page, content_type: str) -> tuple[int, int]:
    """The size an image page is decoded at: a JPEG reduced by libjpeg (1/2..1/8) while still
    at least its target size, a PNG whole."""
    width, height = int(page.width), int(page.height)
    if content_type != JPEG:
        return width, height
    scale = 1
    while scale < 8 and width // (scale * 2) >= page.target[0] and height // (scale * 2) >= page.target[1]:
        scale *= 2
    return -(-width // scale), -(-height // scale)


def _peak_bytes(pages: list[_Page], sources: list[Source], layout: _Layout, limits: Limits) -> int:
    """The job's memory at its peak: the canvas, plus the larger of one page being made (decoded
    or rendered, converted, resized) and one resized copy of the canvas, plus the encodes."""
    canvas = layout.size[0] * layout.size[1] * 4  # Pillow keeps RGB in 4 bytes a pixel
    page_peak = 0
    for page in pages:
        target = page.target[0] * page.target[1]
        if page.mode:
            decoded = page.decode[0] * page.decode[1]
            made = decoded * 4 * (1 if page.mode in ("L", "RGB") else 2) + target * 8
        else:
            made = target * 7  # PDFium's 3-byte bitmap and its RGB copy
        page_peak = max(page_peak, made)
    resized = limits.max_pixels * 4  # a shrunk or enlarged copy of the canvas, never more pixels than this
    _, high = size_window(limits.min_kb, limits.max_kb)
    return canvas + max(page_peak, resized) + 4 * high + 8 * MB + sum(len(s.data) for s in sources) // 4


def _check_pages(pages: list[_Page], sources: list[Source], limits: Limits) -> None:
    """Fix each image's decoded size and refuse a page too large to decode."""
    for number, page in enumerate(pages, 1):
        if not page.mode:
            continue
        page.decode = _decode_size(page, sources[page.source].content_type)
        if page.decode[0] * page.decode[1] > limits.max_page_pixels:
            raise problem(
                "handoff_page_too_large",
                f"第 {number} 页图片像素过多（约 {page.decode[0] * page.decode[1] // 10_000} 万像素），"
                f"无法合成；请缩小到 {limits.max_page_pixels // 10_000} 万像素以内后重新上传该页",
                page=number,
            )


# 3. compose and fit ----------------------------------------------------------------------------


def _image(page: _Page, number: int, data: bytes, content_type: str) -> Image.Image:
    """An image page decoded (reduced first when a JPEG allows it) and resized to its target, in RGB."""
    img: Image.Image
    try:
        img = Image.open(io.BytesIO(data), formats=["JPEG" if content_type == JPEG else "PNG"])
        if content_type == JPEG and page.decode != (img.width, img.height):
            img.draft(img.mode, page.decode)
        img.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError):
        raise _corrupt_image(number) from None
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    elif img.mode not in ("L", "RGB", *_ALPHA_MODES):
        img = img.convert("RGB")
    resized = img.resize(page.target, Image.Resampling.LANCZOS, reducing_gap=3.0) if img.size != page.target else img
    if resized.mode in _ALPHA_MODES:  # transparent parts show white, as on paper
        flat = Image.new("RGB", resized.size, WHITE)
        flat.paste(resized.convert("RGBA"), mask=resized.convert("RGBA").getchannel("A"))
        return flat
    return resized if resized.mode == "RGB" else resized.convert("RGB")


def _compose(pages: list[_Page], sources: list[Source], pdfs: dict[int, PdfPages], layout: _Layout) -> Image.Image:
    """The canvas with every page made and pasted in turn (one page's pixels held at a time)."""
    canvas = Image.new("RGB", layout.size, GAP_COLOR)
    for number, (page, box) in enumerate(zip(pages, layout.boxes, strict=True), 1):
        src = sources[page.source]
        if src.content_type == PDF:
            img = pdfs[page.source].render(page.index, page.scale)
        else:
            img = _image(page, number, src.data, src.content_type)
        canvas.paste(img, box)
        img.close()
    return canvas


def _encode(img: Image.Image, quality: int, subsampling: int = 2, optimize: bool = False) -> bytes:
    """A baseline JPEG of the pixels alone (Pillow writes only the JFIF header)."""
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, subsampling=subsampling, optimize=optimize)
    return out.getvalue()


def _top_quality(img: Image.Image, high: int, low_q: int, high_q: int, subsampling: int) -> tuple[int, bytes] | None:
    """The highest quality in [low_q, high_q] whose (optimised) JPEG is at most `high` bytes."""
    best: tuple[int, bytes] | None = None
    lo, hi = low_q, high_q
    while lo <= hi:  # fast unoptimised encodes; at most log2(41) + 1 = 6
        mid = (lo + hi) // 2
        if len(_encode(img, mid, subsampling)) <= high:
            best, lo = (mid, b""), mid + 1
        else:
            hi = mid - 1
    if best is None:
        return None
    data = _encode(img, best[0], subsampling, optimize=True)  # optimised tables: a few percent smaller
    return best[0], data


def _resized(canvas: Image.Image, size: tuple[int, int]) -> Image.Image:
    return canvas if size == canvas.size else canvas.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _scaled(size: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(1, math.floor(size[0] * factor)), max(1, math.floor(size[1] * factor))


def fit(canvas: Image.Image, limits: Limits) -> tuple[bytes, tuple[int, int], int, bool]:
    """(jpeg, size, quality, enlarged) within the size window, or a 422 saying why not."""
    low, high = size_window(limits.min_kb, limits.max_kb)
    img = canvas
    for _ in range(MAX_ROUNDS):
        floor = _encode(img, MIN_QUALITY)
        if len(floor) > high:  # too large even at the lowest quality: fewer pixels
            img = _resized(canvas, _scaled(img.size, math.sqrt(high * SHRINK_MARGIN / len(floor))))
            continue
        found = _top_quality(img, high, MIN_QUALITY, MAX_QUALITY, 2)
        if found and len(found[1]) >= low:
            return found[1], img.size, found[0], img.width > canvas.width
        rich = _top_quality(img, high, MIN_QUALITY, RICH_QUALITY, 0)  # full chroma, up to the top quality
        if rich is None:  # between the two chroma samplings (not seen): the window is too narrow
            break
        if len(rich[1]) >= low:
            return rich[1], img.size, rich[0], img.width > canvas.width
        # Too small even at the top quality: more pixels, within the bounds.
        size = len(rich[1])
        room = min(
            MAX_UPSCALE * canvas.width / img.width,
            math.sqrt(limits.max_pixels / (img.width * img.height)),
        )
        factor = min(math.sqrt(low * GROW_MARGIN / max(1, size)), room)
        if factor < 1.02:
            raise problem(
                "handoff_too_small",
                f"材料内容过少（图片过小或几乎空白），放大后仍不足 {limits.min_kb} KB，无法生成符合要求的图片；"
                "请重新拍摄或扫描清晰、完整的原件后上传",
                min_kb=limits.min_kb,
            )
        img = _resized(canvas, _scaled(img.size, factor))
    raise problem(
        "handoff_cannot_fit",
        f"无法把该材料压缩到 {limits.min_kb}–{limits.max_kb} KB 之间；请减少页数或重新拍摄后再试",
    )


def merge(sources: list[Source], limits: Limits) -> Merged:
    """All pages of the sources in one JPEG within the limits (see module doc), or a 422."""
    with ExitStack() as stack:
        pdfs = {i: stack.enter_context(open_pdf(s.data)) for i, s in enumerate(sources) if s.content_type == PDF}
        pages = _plan(sources, pdfs, limits)
        layout = _layout(pages, limits.max_pixels)
        _check_pages(pages, sources, limits)
        peak = _peak_bytes(pages, sources, layout, limits)
        if peak > JOB_BYTES:
            raise problem(
                "handoff_page_too_large",
                "材料的页面像素过多，无法合成；请缩小图片或减少页数后重新上传",
            )
        with BUDGET.hold(peak):
            canvas = _compose(pages, sources, pdfs, layout)
            try:
                jpeg, size, quality, upscaled = fit(canvas, limits)
            finally:
                canvas.close()
    return Merged(jpeg, size[0], size[1], len(pages), quality, upscaled)


SUPPORTED = (JPEG, PNG, PDF)
