"""Benchmark of document-upload memory: peak RSS of the server for 6 concurrent 56 MP PNG uploads.

Run from the repository root:  .venv/bin/python bench/upload_memory.py [--uploads 6]

A real server process (`python -m server`, its own local database and fake WeChat, a
temporary DATA_DIR; bench/photo.py's ServerProcess): the baseline is the server's resident
memory (VmRSS) after start-up and after one small document upload (pools started, Pillow's
PNG code loaded). Its peak (VmHWM) is then reset (`/proc/<pid>/clear_refs`) and `--uploads`
users each send, at the same time, a 218 KB PNG of 7000x8000 RGBA (56 megapixels, mostly one
colour, as in issue 18) to POST /api/v1/me/documents/diploma as multipart like wx.uploadFile.
Two more bursts send the largest PNG still accepted (5000x5000 RGBA, 25 MP: one decoded at a
time) and a 4000x4000 RGBA PNG (16 MP: two decoded at once, the cleaning budget nearly full)
the same way: they show the bound of the cleaning pool's memory. Printed per burst: the
uploads' statuses, the peak RSS during them, the RSS a second after, and the growth over the
baseline.

Target: peak RSS of the server process < 400 MB in each burst. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

import aiohttp  # noqa: E402
from _common import status_kb  # noqa: E402
from photo import ServerProcess, login  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

TARGET_PEAK_MB = 400.0
DOCUMENT = "/api/v1/me/documents/diploma"


def make_big_png(size: tuple[int, int] = (7000, 8000)) -> bytes:
    """A 56 MP RGBA PNG of a few hundred KB: a white page with a frame and ruled lines."""
    img = Image.new("RGBA", size, (255, 255, 255, 255))
    draw = ImageDraw.Draw(img)
    width, height = size
    draw.rectangle((100, 100, width - 100, height - 100), outline=(0, 0, 0, 255), width=12)
    for y in range(400, height - 400, 160):
        draw.line((300, y, width - 300, y), fill=(30, 30, 120, 255), width=4)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=False)
    return out.getvalue()


def make_small_png() -> bytes:
    """A 1000x1400 scan-like PNG for the warm-up upload."""
    img = Image.new("RGB", (1000, 1400), (250, 250, 250))
    ImageDraw.Draw(img).rectangle((50, 50, 950, 1350), outline=(0, 0, 0), width=4)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


class RssSampler(threading.Thread):
    """Samples VmRSS of a process every 5 ms (the peak is VmHWM; this gives the curve's shape)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[int] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.samples.append(status_kb("VmRSS", self.pid))
            time.sleep(0.005)


def reset_peak(pid: int) -> bool:
    """Reset VmHWM of `pid` to its current RSS (Linux: clear_refs 5); False where not possible."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


async def upload(session: aiohttp.ClientSession, url: str, token: str, data: bytes) -> tuple[int, str, float]:
    """POST a PNG document as wx.uploadFile does; (status, error code or content type, seconds)."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename="scan.png", content_type="image/png")
    form.add_field("user", "wx")
    start = time.perf_counter()
    async with session.post(url + DOCUMENT, data=form, headers={"Authorization": f"Bearer {token}"}) as resp:
        body = await resp.json()
        what = body.get("content_type") if resp.status == 201 else body.get("error", {}).get("code")
        return resp.status, str(what), time.perf_counter() - start


async def burst(session: aiohttp.ClientSession, server: ServerProcess, tokens: list[str], data: bytes) -> dict:
    """The peak RSS while every token uploads `data` at once, and the RSS a second after."""
    pid = server.proc.pid
    out: dict = {"peak_reset": reset_peak(pid)}
    sampler = RssSampler(pid)
    sampler.start()
    start = time.perf_counter()
    out["results"] = await asyncio.gather(*(upload(session, server.url, t, data) for t in tokens))
    out["wall"] = time.perf_counter() - start
    await asyncio.sleep(1.0)
    sampler.stop_event.set()
    await asyncio.get_running_loop().run_in_executor(None, sampler.join)
    hwm = status_kb("VmHWM", pid) if out["peak_reset"] else 0  # else VmHWM may be start-up's peak
    out["peak_kb"] = max(hwm, *sampler.samples)
    out["after_kb"] = status_kb("VmRSS", pid)
    return out


async def run(server: ServerProcess, inputs: list[bytes], small: bytes, uploads: int) -> dict:
    """The baseline, then one burst of `uploads` concurrent uploads per input."""
    pid = server.proc.pid
    out: dict = {"start_kb": status_kb("VmRSS", pid)}
    async with aiohttp.ClientSession() as session:
        tokens = [await login(session, server.url, f"bench-mem-{i}") for i in range(uploads + 1)]
        warm = await upload(session, server.url, tokens[-1], small)
        if warm[0] != 201:
            raise SystemExit(f"the warm-up upload failed: {warm}")
        await asyncio.sleep(0.5)
        out["baseline_kb"] = status_kb("VmRSS", pid)
        out["bursts"] = [await burst(session, server, tokens[:uploads], data) for data in inputs]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=6, help="concurrent uploads per burst")
    args = parser.parse_args()

    inputs = [
        ("7000x8000 RGBA PNG (56 MP, issue 18)", make_big_png((7000, 8000))),
        ("5000x5000 RGBA PNG (25 MP, the largest PNG accepted)", make_big_png((5000, 5000))),
        ("4000x4000 RGBA PNG (16 MP, two fit the cleaning budget at once)", make_big_png((4000, 4000))),
    ]
    small = make_small_png()
    for name, data in inputs:
        print(f"input: {name}, {len(data) / 1e3:.0f} KB")

    server = ServerProcess(workers=2, queue=8)
    try:
        asyncio.run(server.wait_ready())
        measured = asyncio.run(run(server, [data for _, data in inputs], small, args.uploads))
    finally:
        server.stop()

    mb = 1024.0
    base = measured["baseline_kb"] / mb
    print(
        f"server RSS: {measured['start_kb'] / mb:.0f} MB after start-up, "
        f"{base:.0f} MB after a small document upload (baseline)"
    )
    ok = True
    for (name, _), burst_out in zip(inputs, measured["bursts"]):
        peak = burst_out["peak_kb"] / mb
        counts = Counter(f"{status} {what}" for status, what, _ in burst_out["results"])
        statuses = ", ".join(f"{n} x {what}" for what, n in sorted(counts.items()))
        seconds = sorted(s for _, _, s in burst_out["results"])
        burst_ok = peak < TARGET_PEAK_MB
        ok &= burst_ok
        print(
            f"{args.uploads} concurrent uploads of the {name}: {statuses}; answered in {burst_out['wall']:.2f} s "
            f"(each {seconds[0]:.2f}-{seconds[-1]:.2f} s)"
        )
        print(
            f"  peak RSS {peak:.0f} MB (+{peak - base:.0f} MB over the baseline), "
            f"{burst_out['after_kb'] / mb:.0f} MB a second after"
            + ("" if burst_out["peak_reset"] else " (peak from 5 ms samples: VmHWM could not be reset)")
        )
        print(
            f"  target peak RSS < {TARGET_PEAK_MB:.0f} MB: measured {peak:.0f} MB (baseline {base:.0f} MB)  "
            f"{'OK' if burst_ok else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
