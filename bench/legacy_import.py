"""Benchmark of the old register's import at city scale: time and peak memory of each step.

Run from the repository root:  .venv/bin/python bench/legacy_import.py [--rows 100000] [--csv]

A register file of N people (the template's columns; two past employers and three
continuing-education years each, spread over the deployment's districts) is written with
openpyxl (or as a GB18030 CSV with --csv), then a fresh local database (FerretDB v1 on SQLite
here; MONGODB_URI, if set, in a throw-away database) and the real server in this process
(server.app.serve, background tasks on) take, over real HTTP as a city administrator:

1. baseline, in the same run: `parse_file` alone (the pure parse, in a thread);
2. preview of the file (empty register: every row new; nothing written to the register);
3. confirm (the same file again: parse, compare, write N rows in bulk writes of 50);
4. (after the districts' not-collected lists, rebuilt by the confirmation, are ready: their time
   is printed) preview of the same file again (every row unchanged: the register is read once);
5. confirm of it (writes nothing).

For each step: wall time, rows/s, and the process's peak RSS above its RSS before the step
(VmHWM reset through /proc/self/clear_refs), and the ratio of each to the baseline. While steps
2-5 run, `GET /healthz` is sent every 20 ms: the longest answer shows whether the IOLoop stalled.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _common import percentile, status_kb  # noqa: E402

PASSWORD = "bench-password-42"
HEADER = [
    "原档案编号",
    "姓名",
    "证件号码",
    "原会计从业资格证书编号",
    "首次参加会计工作日期",
    "所在区",
    "曾任职单位",
    "继续教育",
    "诚信记录",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞建国志强海燕晓东春雨"
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))


def id_number(area: str, n: int) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=n % 8000)  # before 1972: older than the first work date
    first17 = f"{area}{born:%Y%m%d}{n // 8000 % 1000:03d}"
    value = (12 - sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11) % 11
    return first17 + ("X" if value == 10 else str(value))


def rows(n: int, districts: list[tuple[str, str]]) -> list[list]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        code, name = districts[i % len(districts)]
        start = 1985 + i % 30
        out.append(
            [
                f"XM{i:07d}",
                rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
                id_number(code, i),
                f"3502{i:011d}",
                f"{start}-03-01",
                name,
                f"厦门某某{i % 977}有限公司|{start}-03-01|{start + 4}-06-30；厦门某某{i % 613}会计师事务所|{start + 4}-07-01|{start + 8}-12-31",
                "2019:90;2020:90;2021:合格",
                "" if i % 50 else "2016年度会计信息质量检查：良好",
            ]
        )
    return out


def xlsx_file(data: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()  # not write_only: like Excel, it writes the sheet's <dimension> (openpyxl's
    ws = wb.active  # read-only reader otherwise parses the whole sheet once more to find its size)
    ws.title = "原会计档案"
    ws.append(HEADER)
    for row in data:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_file(data: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(data)
    return out.getvalue().encode("gb18030")


def reset_peak() -> int:
    """Reset VmHWM to the current RSS; the RSS now (KB)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return status_kb("VmRSS")


class Probe:
    """GET /healthz every 20 ms, one at a time; the answers' durations."""

    def __init__(self, session, url: str):
        self.session, self.url, self.times = session, url, []
        self.task = None

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            async with self.session.get(self.url) as r:
                await r.read()
            self.times.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.02)

    def start(self) -> None:
        self.times = []
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> list[float]:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        return self.times


async def bench(args) -> int:
    import aiohttp

    from server.app import serve
    from server.districts import deployment_districts
    from server.legacy.parse import parse_file
    from server.localdb import LocalDatabase
    from server.records.service import today
    from server.staff import StaffAccounts
    from settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="bench-legacy-"))
    uri = os.environ.get("MONGODB_URI")
    local = None
    if not uri:
        local = LocalDatabase(tmp / "db", Settings.from_env({}).cache_path)
        uri = local.start()
    settings = Settings.from_env(
        {},
        environment="test",
        mongodb_uri=uri,
        mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
        data_dir=str(tmp / "data"),
        demo_staff=False,
        port=0,
        legacy_import_max_mb=200,
        legacy_import_max_rows=max(200_000, args.rows),
    )
    districts = deployment_districts(settings)
    data_rows = rows(args.rows, [(d["code"], d["name"]) for d in districts.districts])
    t = time.perf_counter()
    data = csv_file(data_rows) if args.csv else xlsx_file(data_rows)
    del data_rows
    print(
        f"file: {args.rows} rows, {'GB18030 CSV' if args.csv else 'xlsx'} of {len(data) / 1e6:.1f} MB "
        f"(written in {time.perf_counter() - t:.1f} s); database: {'FerretDB (local)' if local else uri.split('@')[-1]}"
    )
    running = await serve(settings, port=0, background=True)
    results = []
    try:
        await running.services.get(StaffAccounts).add("bench-city", "city_admin", [], PASSWORD)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            r = await session.post(
                running.url + "/admin/api/login", json={"username": "bench-city", "password": PASSWORD}
            )
            xsrf = (await r.json())["xsrf_token"]
            headers = {"X-XSRF-Token": xsrf, "Content-Type": "application/octet-stream"}
            probe = Probe(session, running.url + "/healthz")

            before = reset_peak()
            t = time.perf_counter()
            parsed = await asyncio.get_running_loop().run_in_executor(
                None, parse_file, data, "bench.xlsx", districts, today(), args.rows
            )
            results.append(("baseline: parse only", time.perf_counter() - t, status_kb("VmHWM") - before, None, ""))
            assert not parsed.errors, parsed.errors[:3]
            del parsed

            async def step(label: str, path: str, check) -> dict:
                before = reset_peak()
                probe.start()
                t = time.perf_counter()
                async with session.post(running.url + path, data=data, headers=headers) as resp:
                    body = await resp.json()
                    assert resp.status in (200, 201), body
                elapsed = time.perf_counter() - t
                times = await probe.stop()
                results.append((label, elapsed, status_kb("VmHWM") - before, times, check(body)))
                return body

            def counts(body):
                c = body["counts"]
                return f"new {c['new']}, changed {c['changed']}, unchanged {c['unchanged']}, errors {c['error_rows']}"

            first = await step("preview (all new)", "/admin/api/legacy/imports?file_name=bench.xlsx", counts)
            await step(
                "confirm (writes all)",
                f"/admin/api/legacy/imports/{first['id']}/confirm",
                lambda b: f"written {b['written']}",
            )
            stored = await running.services.db["legacy_register"].estimated_document_count()
            t = time.perf_counter()  # the not-collected lists of the districts, rebuilt after the import
            pending = running.services.db["legacy_pending"]
            for _ in range(100_000):  # polled: the jobs run in this process but tell nothing
                if not await pending.count_documents({"state": "building"}) and await pending.count_documents({}):
                    break
                await asyncio.sleep(0.2)
            built = time.perf_counter() - t
            lines = [d async for d in pending.find({})]
            second = await step(
                "preview again (all unchanged)", "/admin/api/legacy/imports?file_name=bench.xlsx", counts
            )
            await step(
                "confirm again (writes nothing)",
                f"/admin/api/legacy/imports/{second['id']}/confirm",
                lambda b: f"written {b['written']}",
            )
    finally:
        await running.stop()
        if local:
            local.stop()
    base_t, base_m = results[0][1], max(1, results[0][2])
    print(f"register rows stored: {stored}")
    print(
        f"not-collected lists of {len(lines)} districts ready {built:.1f} s after the confirmation: "
        + ", ".join(f"{d['_id']} {d.get('total')}/{d.get('scanned')}" for d in sorted(lines, key=lambda d: d["_id"]))
    )
    print(
        f"{'step':32} {'time':>8} {'rows/s':>9} {'x parse':>8} {'peak RSS +':>11} {'x parse':>8} {'healthz max/p99':>16}  result"
    )
    for label, secs, peak_kb, times, note in results:
        probe_text = f"{max(times):.0f}/{percentile(times, 99):.0f} ms" if times else "-"
        print(
            f"{label:32} {secs:7.1f}s {args.rows / secs:9.0f} {secs / base_t:8.2f} {peak_kb / 1024:9.0f}MB "
            f"{peak_kb / base_m:8.2f} {probe_text:>16}  {note}"
        )
    return 0


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv", action="store_true", help="a GB18030 CSV instead of xlsx")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
