"""Benchmark of the staff Excel export at city scale: streaming, memory, and the server's responsiveness meanwhile.

Run from the repository root:  .venv/bin/python bench/export.py [--sizes 5000,100000]

For each size N: a fresh local database (FerretDB v1 on SQLite here; MONGODB_URI, if set, in a
throw-away database) seeded in bulk with bench/queue.py's city (its Seed: N approved archives with
their first collections, N/5 open applications of which 80 % submitted first collections, about
3 % of N transfers; the read-model lists written with server.lists.bulk_load), then the real server
in its own process (bench/queue.py's ServerProcess: server.app.serve, background tasks on).

Timed over real HTTP (aiohttp): a city administrator's `GET /admin/api/export.xlsx` (every first
collection of the city: about 1.16 N rows), read to the end: time to the response headers and to the
first body bytes, total time, rows/s, how many chunks arrived, and the body's size. Meanwhile
`GET /healthz` is sent every 20 ms (one at a time) and its p50/p99 compared with the same probe over
--baseline seconds before the export, in the same run. The server's peak RSS during the export is
its VmHWM after the export, reset before it (/proc/<pid>/clear_refs), with its RSS sampled every
100 ms as a cross-check. Afterwards the body is checked: a valid zip whose first sheet holds as many
rows as X-Record-Count says (plus the header), and with --openpyxl (default up to 20,000 rows)
opened with openpyxl.

Targets: first bytes within 2 s; /healthz p99 < 50 ms during the export.
Exit status 1 if either is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _common import percentile, status_kb  # noqa: E402

TTFB_TARGET_S, HEALTHZ_P99_TARGET_MS = 2.0, 50.0
PROBE_EVERY = 0.020  # seconds between /healthz probes
RSS_EVERY = 0.1
OPENPYXL_MAX = 20_000  # rows opened with openpyxl by default


def bench_queue():
    """bench/queue.py as a module (its seeding and server process), under a name that is not `queue`."""
    spec = importlib.util.spec_from_file_location("bench_queue", HERE / "queue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_queue"] = module
    spec.loader.exec_module(module)
    return module


class Prober:
    """GET /healthz every PROBE_EVERY seconds, one at a time; latencies in ms."""

    def __init__(self, url: str):
        import aiohttp

        self.url = url + "/healthz"
        self.session = aiohttp.ClientSession()
        self.times: list[float] = []
        self.errors = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                async with self.session.get(self.url) as resp:
                    await resp.read()
                    ok = resp.status == 200
            except Exception:
                ok = False
            elapsed = time.perf_counter() - started
            if ok:
                self.times.append(elapsed * 1000)
            else:
                self.errors += 1
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, PROBE_EVERY - elapsed))
            except TimeoutError:
                pass

    def summary(self) -> str:
        if not self.times:
            return f"no answers ({self.errors} errors)"
        t = self.times
        return (
            f"p50 {percentile(t, 50):.1f} ms, p99 {percentile(t, 99):.1f} ms, max {max(t):.1f} ms "
            f"({len(t)} probes{f', {self.errors} errors' if self.errors else ''})"
        )

    async def close(self) -> None:
        await self.session.close()


async def baseline(url: str, seconds: float) -> Prober:
    prober = Prober(url)
    stop = asyncio.Event()
    task = asyncio.create_task(prober.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return prober


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux: clear_refs 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def sheet_rows(path: Path) -> tuple[int, list[str]]:
    """(rows of the first sheet, names of the zip's parts), decompressing the sheet as a stream."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        if zf.testzip() is not None:
            raise SystemExit("the export is not a valid zip (a CRC does not match)")
        rows, tail = 0, b""
        with zf.open("xl/worksheets/sheet1.xml") as sheet:
            while block := sheet.read(1 << 20):
                data = tail + block
                rows += data.count(b"<row ") + data.count(b"<row>")
                tail = data[-5:]
                rows -= tail.count(b"<row ") + tail.count(b"<row>")  # counted again with the next block
            rows += tail.count(b"<row ") + tail.count(b"<row>")
    return rows, names


async def export_once(q, url: str, path: Path) -> dict:
    """The city admin's export read to the end into `path`; timings, chunks, size, headers."""
    import aiohttp

    city = q.Client(url)
    try:
        await city.staff_login(q.CITY_ADMIN)
        chunks = size = 0
        started = time.perf_counter()
        first = None
        timeout = aiohttp.ClientTimeout(total=None, sock_read=900)  # the old export sent nothing for minutes
        async with city.session.get(url + "/admin/api/export.xlsx", headers=city.headers, timeout=timeout) as resp:
            headers_at = time.perf_counter() - started
            if resp.status != 200:
                raise SystemExit(f"export: {resp.status} {(await resp.read())[:300]!r}")
            with open(path, "wb") as out:  # noqa: ASYNC230  # the bench's own file: small writes to the page cache
                async for chunk in resp.content.iter_any():
                    if first is None:
                        first = time.perf_counter() - started
                    chunks += 1
                    size += len(chunk)
                    out.write(chunk)
            total = time.perf_counter() - started
            return {
                "headers": headers_at,
                "first": first if first is not None else total,
                "total": total,
                "chunks": chunks,
                "size": size,
                "count": int(resp.headers.get("X-Record-Count", "-1")),
                "chunked": resp.headers.get("Transfer-Encoding", "") == "chunked",
                "length": resp.headers.get("Content-Length"),
            }
    finally:
        await city.close()


async def run_size(q, n: int, args, fake_url: str) -> bool:
    from server.db import connect
    from server.localdb import LocalDatabase
    from settings import Settings

    print(f"\n=== N = {n} approved archives + {n // 5} open applications", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"kjcj-bench-export-{n}-"))
    external = os.environ.get("MONGODB_URI")
    db_name = f"bench_export_{uuid.uuid4().hex[:8]}"
    local = server = client = None
    try:
        if external:
            uri = external
        else:
            local = LocalDatabase(tmp / "db", Settings.from_env({}).cache_path)
            uri = local.start()
        fpid = q.ferretdb_pid(local, uri)
        districts = q.city_districts(ROOT / "config" / "districts.json")
        districts_file = tmp / "districts.json"
        districts_file.write_text(json.dumps(districts, ensure_ascii=False, indent=1), encoding="utf-8")
        client = connect(uri)
        db = client[db_name]
        seed = q.Seed(db, n, districts, q.REVIEWER)
        started = time.perf_counter()
        await seed.run()
        print(
            f"seeding (bench/queue.py's Seed, bulk): {time.perf_counter() - started:.1f} s; "
            + ", ".join(f"{k} {v}" for k, v in seed.counts.items() if k in ("applications", "archives")),
            flush=True,
        )
        server = q.ServerProcess(tmp, uri, db_name, fake_url, districts_file, seed.codes[0])
        await server.wait_ready()
        pid = server.proc.pid
        print(f"server: pid {pid}; database: {'MONGODB_URI' if external else local.kind} (pid {fpid})", flush=True)

        base = await baseline(server.url, args.baseline)
        rss_before = status_kb("VmRSS", pid) / 1024
        exact_peak = reset_peak(pid)
        samples: list[float] = []
        stop = asyncio.Event()

        async def sample_rss() -> None:
            while not stop.is_set():
                samples.append(status_kb("VmRSS", pid) / 1024)
                try:
                    await asyncio.wait_for(stop.wait(), RSS_EVERY)
                except TimeoutError:
                    pass

        prober = Prober(server.url)
        ours = (pid, fpid, os.getpid())
        busy0, ours0, wall0 = q.machine_busy_seconds(), sum(map(q.cpu_seconds, ours)), time.monotonic()
        cpu0 = q.cpu_seconds(pid), q.cpu_seconds(fpid)
        tasks = [asyncio.create_task(prober.run(stop)), asyncio.create_task(sample_rss())]
        body = tmp / "export.xlsx"
        try:
            result = await export_once(q, server.url, body)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        cpu_server, cpu_db = q.cpu_seconds(pid) - cpu0[0], q.cpu_seconds(fpid) - cpu0[1]
        wall = time.monotonic() - wall0
        others = max(0.0, (q.machine_busy_seconds() - busy0 - (sum(map(q.cpu_seconds, ours)) - ours0)) / wall)
        peak = status_kb("VmHWM", pid) / 1024 if exact_peak else max(samples, default=0.0)
        rss_after = status_kb("VmRSS", pid) / 1024

        rows, names = sheet_rows(body)
        count = result["count"]
        print(
            f"export (city admin, every first collection): X-Record-Count {count}, sheet rows {rows - 1} + header "
            + ("OK" if rows - 1 == count else "!! MISMATCH")
            + f"; {result['size'] / 1e6:.1f} MB in {result['chunks']} chunks ("
            + ("chunked, no Content-Length" if result["chunked"] else f"Content-Length {result['length']}")
            + f"); parts: {', '.join(names)}"
        )
        if args.openpyxl or (args.openpyxl is None and count <= OPENPYXL_MAX):
            from openpyxl import load_workbook

            t0 = time.perf_counter()
            wb = load_workbook(body, read_only=True)
            got = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
            sheets = wb.sheetnames
            wb.close()
            print(f"  openpyxl read it: sheets {sheets}, {got} rows ({time.perf_counter() - t0:.1f} s)")
        ttfb_ok = result["first"] < TTFB_TARGET_S
        p99 = percentile(prober.times, 99) if prober.times else float("inf")
        p99_ok = p99 < HEALTHZ_P99_TARGET_MS
        print(
            f"  time to headers {result['headers'] * 1000:.0f} ms, to first bytes {result['first'] * 1000:.0f} ms "
            f"(target < {TTFB_TARGET_S:.0f} s: {'OK' if ttfb_ok else 'MISS'}); total {result['total']:.1f} s, "
            f"{count / result['total']:.0f} rows/s"
        )
        print(
            f"  server RSS: {rss_before:.0f} MB before, peak during the export {peak:.0f} MB "
            f"(+{peak - rss_before:.0f} MB; {'VmHWM reset before' if exact_peak else 'sampled'}; sampled max "
            f"{max(samples, default=0.0):.0f} MB), {rss_after:.0f} MB after"
        )
        print(
            f"  CPU during the export: server {cpu_server:.1f} s ({cpu_server / result['total'] * 100:.0f} % of "
            f"one core), FerretDB {cpu_db:.1f} s; other processes used {others:.2f} of the machine's "
            f"{os.cpu_count()} CPUs meanwhile"
            + ("  !! a busy machine: latencies are inflated" if others / (os.cpu_count() or 1) > 0.15 else "")
        )
        print(f"  /healthz baseline ({args.baseline:.0f} s, no export): {base.summary()}")
        print(
            f"  /healthz during the export: {prober.summary()}  "
            f"(target p99 < {HEALTHZ_P99_TARGET_MS:.0f} ms: {'OK' if p99_ok else 'MISS'})",
            flush=True,
        )
        await base.close()
        await prober.close()
        return ttfb_ok and p99_ok
    finally:
        if server:
            server.stop()
        if client is not None:
            if external:
                await client.drop_database(db_name)
            await client.close()
        if local:
            local.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


async def amain(args) -> int:
    q = bench_queue()
    from server.wechat.fake import FakeWeChat

    fake = await FakeWeChat().start()
    ok = True
    try:
        for n in args.sizes:
            ok &= await run_size(q, n, args, fake.url)
    finally:
        await fake.stop()
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated numbers of approved archives (100000)")
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of /healthz probes without export (10)")
    parser.add_argument(
        "--openpyxl",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"open the export with openpyxl (default: when it has at most {OPENPYXL_MAX} rows)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(n < 100 for n in args.sizes):
        parser.error("each size must be at least 100")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
