"""Benchmark: server.photos.process_photo vs a naive Pillow pipeline on a 12 MP phone JPEG.

Run from the repository root:  .venv/bin/python bench/photo_pipeline.py [--runs N]
Other bench scripts can import make_phone_jpeg() and naive_pipeline(data, spec).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import status_kb  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from server.photos import PhotoSpec, process_photo  # noqa: E402

TARGET_RATIO = 0.35


def make_phone_jpeg(background: tuple[int, int, int] = (255, 255, 255)) -> bytes:
    """A 4032x3024 phone-style JPEG (3-5 MB): noisy portrait, EXIF rotation 6, GPS, ICC, XMP."""
    from tests.photos import images

    return images.phone_jpeg(background)


def naive_pipeline(data: bytes, spec: PhotoSpec) -> bytes:
    """Full decode, exif_transpose, LANCZOS resize of the whole image, quality 95 down by 5."""
    img = Image.open(io.BytesIO(data))
    img = ImageOps.exif_transpose(img).convert("RGB")
    img = img.resize((spec.width_px, spec.height_px), Image.Resampling.LANCZOS)
    out = b""
    for quality in range(95, 0, -5):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, dpi=(spec.dpi, spec.dpi))
        out = buf.getvalue()
        if len(out) <= spec.max_kb * 1000:
            break
    return out


def _high_water_kb() -> int:
    """Peak resident memory of this process image in KB (VmHWM; survives no exec)."""
    import resource

    return status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_growth_mb(which: str, data: bytes) -> float:
    """Peak RSS growth (MB) of one call, measured in this (fresh, spawned) process."""
    spec = PhotoSpec()
    fn = process_photo if which == "pipeline" else naive_pipeline
    process_photo(_tiny_jpeg(), spec)  # load libraries and the cascade first
    before = _high_water_kb()
    fn(data, spec)
    return (_high_water_kb() - before) / 1024


def _tiny_jpeg() -> bytes:
    """A small JPEG used to warm up the pipeline."""
    buf = io.BytesIO()
    Image.new("RGB", (300, 420), "white").save(buf, "JPEG")
    return buf.getvalue()


def _peak_mb(which: str, data: bytes) -> float:
    """Run one call in a fresh interpreter so the peak-RSS reading belongs to it alone."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_rss_growth_mb, (which, data))


def medians(data: bytes, spec: PhotoSpec, runs: int) -> tuple[float, float]:
    """Median ms of the pipeline and of the naive one, interleaved so load affects both alike."""
    process_photo(data, spec)
    naive_pipeline(data, spec)  # warm both up
    fast, naive = [], []
    for _ in range(runs):
        start = time.perf_counter()
        process_photo(data, spec)
        fast.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        naive_pipeline(data, spec)
        naive.append((time.perf_counter() - start) * 1000)
    return statistics.median(fast), statistics.median(naive)


def main() -> int:
    """Print medians, the ratio and whether it meets the target; exit 1 if it does not."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    spec = PhotoSpec()
    data = make_phone_jpeg()
    with Image.open(io.BytesIO(data)) as probe:
        print(f"input: {probe.size[0]}x{probe.size[1]} JPEG, {len(data) / 1e6:.2f} MB")
    result = process_photo(data, spec)
    if not result.ok or result.jpeg is None:
        print("pipeline did not produce a photo:", result.checks)
        return 2
    print(f"output: {result.width}x{result.height}, {len(result.jpeg) / 1024:.1f} KB, quality {result.quality}")

    fast_ms, naive_ms = medians(data, spec, args.runs)
    ratio = fast_ms / naive_ms
    print(f"pipeline median: {fast_ms:.1f} ms  (runs {args.runs})")
    print(f"naive    median: {naive_ms:.1f} ms")
    print(f"ratio: {ratio:.3f}  (target <= {TARGET_RATIO})  {'OK' if ratio <= TARGET_RATIO else 'TOO SLOW'}")
    print(
        f"peak RSS growth of one call: pipeline {_peak_mb('pipeline', data):.0f} MB, "
        f"naive {_peak_mb('naive', data):.0f} MB"
    )
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
