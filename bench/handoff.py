"""Benchmark of the hand-off merge: time and peak memory for a 3-page and a 20-page PDF.

Run from the repository root:  .venv/bin/python bench/handoff.py [--repeat 3]

Each case runs in a fresh Python process (so that one case's freed memory does not hide the
next one's peak): the PDF is made with fpdf2 (A4 pages of printed text) and, after the imports
and a warm-up on a one-page PDF, measured `--repeat` times:

- baseline "render only": PDFium renders every page at the size the merge would render it
  (server/documents/merge.py's layout), nothing else (no canvas, no JPEG);
- "handoff": `merge()` itself (plan, render, compose, fit to 20-500 KB), as a request runs it
  in the worker pool.

Printed per case: median seconds, peak RSS growth over the process's RSS before the runs
(VmHWM reset through /proc/self/clear_refs), the output size and quality, and the ratios of
handoff to render-only. Target: a 20-page merge under 3 s and 160 MB of growth (the cleaning
budget); exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from _common import status_kb  # noqa: E402

TARGET_SECONDS = 3.0
TARGET_GROWTH_MB = 160.0
LIMITS = dict(max_pages=20, max_page_pixels=20_000_000, max_pixels=8_000_000, min_kb=20, max_kb=500)


def text_pdf(pages: int) -> bytes:
    """A4 pages of printed text, as an exported certificate or letter."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", size=11)
    for n in range(1, pages + 1):
        pdf.add_page()
        for line in range(45):
            pdf.cell(
                0, 5.5, f"Page {n} line {line}: certificate of employment 0123456789", new_x="LMARGIN", new_y="NEXT"
            )
    return bytes(pdf.output())


def render_only(data: bytes) -> dict:
    """Every page rendered at the merge's layout size, nothing kept."""
    from server.documents import merge as m
    from server.documents.rasterize import open_pdf

    limits = m.Limits(**LIMITS)
    with open_pdf(data) as pdf:
        pages = m._plan([m.Source(data, m.PDF)], {0: pdf}, limits)
        m._layout(pages, limits.max_pixels)
        for page in pages:
            pdf.render(page.index, page.scale).close()
    return {"pages": len(pages)}


def handoff(data: bytes) -> dict:
    from server.documents.merge import PDF, Limits, Source, merge

    merged = merge([Source(data, PDF)], Limits(**LIMITS))
    return {
        "pages": merged.pages,
        "kb": round(len(merged.jpeg) / 1024, 1),
        "quality": merged.quality,
        "size": f"{merged.width}x{merged.height}",
    }


def child(pages: int, mode: str, repeat: int) -> None:
    """One case in this process; prints one JSON line."""
    run = render_only if mode == "render" else handoff
    run(text_pdf(1))  # warm-up: imports, PDFium's fonts, Pillow's encoder
    data = text_pdf(pages)
    Path("/proc/self/clear_refs").write_text("5") if Path("/proc/self/clear_refs").exists() else None
    before = status_kb("VmRSS")
    times, out = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        out = run(data)
        times.append(time.perf_counter() - start)
    peak = status_kb("VmHWM")
    print(json.dumps({"seconds": statistics.median(times), "growth_mb": max(0, peak - before) / 1024, **out}))


def measure(pages: int, mode: str, repeat: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(pages), mode, "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("PAGES", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.repeat)
        return 0
    failed = False
    print(f"{'pages':>5} {'mode':<12} {'seconds':>8} {'peak MB':>8}  output")
    for pages in (3, 20):
        base = measure(pages, "render", args.repeat)
        made = measure(pages, "handoff", args.repeat)
        print(f"{pages:>5} {'render only':<12} {base['seconds']:>8.3f} {base['growth_mb']:>8.1f}")
        print(
            f"{pages:>5} {'handoff':<12} {made['seconds']:>8.3f} {made['growth_mb']:>8.1f}  "
            f"{made['size']} px, {made['kb']} KB, quality {made['quality']}"
        )
        print(
            f"{'':>5} {'ratio':<12} {made['seconds'] / max(base['seconds'], 1e-6):>7.1f}x "
            f"{made['growth_mb'] / max(base['growth_mb'], 0.1):>7.1f}x"
        )
        if pages == 20 and (made["seconds"] > TARGET_SECONDS or made["growth_mb"] > TARGET_GROWTH_MB):
            failed = True
    print(
        f"target (20 pages): < {TARGET_SECONDS} s and < {TARGET_GROWTH_MB:.0f} MB growth: {'MISSED' if failed else 'met'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
