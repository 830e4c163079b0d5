"""Benchmark of the continuing-education compliance report at city scale (server/duties/reports.py).

Run from the repository root:  .venv/bin/python bench/compliance.py [--n 100000] [--requests 5]

A fresh local database (FerretDB v1 on SQLite here; MONGODB_URI, if set, in a throw-away database)
is seeded with N `standings` documents in the contract's shape (districts of config/districts.json
in turn; first years 2012-2024, so 2-14 years each up to the current one; 80 % of years complete;
异动 where the rules would say so, 5 % 非在岗), then, in this process, the services of a server
(server.app.create_services) answer a city administrator:

- baseline, what a report costs without the summary: one filtered read of `standings` per request
  (the caller's districts, the fields counted) counted in Python, as a handler without a summary
  would do; timed over --requests requests;
- the summary pass (`ComplianceReports.rebuild`): one read of every standing, the per-district
  summary documents and the drill-down lists (`bulk_load`);
- the report read from the summary (`report`), and a page of people (`people`, page 50 of 20),
  each over --requests requests;
- with --export, one district's Excel file of a year (`export(...).chunks()` read to the end).

Memory: the peak RSS (VmHWM, reset before each phase through /proc/<pid>/clear_refs) of this
process and of the FerretDB process, above their RSS before the phase. Times are wall-clock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _common import percentile, status_kb  # noqa: E402

INSERT_BATCH = 50  # FerretDB v1: at most 50 documents per bulk write
INSERTS_IN_FLIGHT = 8
LABELS = {"normal": "正常", "abnormal": "异动", "not_in_post": "非在岗"}


def reset_peak(pid: int | None) -> int:
    """Reset a process's VmHWM to its RSS now (Linux: clear_refs 5); its RSS in KB (0 if unknown)."""
    if not pid:
        return 0
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return 0
    return status_kb("VmRSS", pid)


class Peak:
    """The peak RSS above the start of a phase, for this process and the database's."""

    def __init__(self, db_pid: int | None):
        self.pids = {"python": os.getpid(), "ferretdb": db_pid}
        self.start = {k: reset_peak(p) for k, p in self.pids.items()}

    def __str__(self) -> str:
        parts = []
        for k, pid in self.pids.items():
            if pid and self.start[k]:
                parts.append(f"{k} +{(status_kb('VmHWM', pid) - self.start[k]) / 1024:.0f} MB")
        return ", ".join(parts) or "n/a"


def standing_doc(i: int, region: str, this_year: int, rng: random.Random) -> dict:
    number = f"{region}{1960 + i % 40:04d}{1 + i % 12:02d}{1 + i % 28:02d}{i:06d}"[:18]
    first = rng.randint(2012, 2024)
    years, incomplete = [], []
    for y in range(first, this_year + 1):
        total = rng.choice((0, 30, 60, 90, 96, 100, 120)) if rng.random() < 0.25 else rng.choice((90, 96, 100, 120))
        prof = round(total * 2 / 3, 1)
        complete = total >= 90
        if not complete and y < this_year:
            incomplete.append(y)
        years.append(
            {
                "year": y,
                "credits_total": total,
                "credits_professional": prof,
                "required_total": 90,
                "required_professional": 60,
                "complete": complete,
                "in_progress": y == this_year,
                "assessment": "合格",
            }
        )
    runs = max((sum(1 for _ in g) for g in _runs(incomplete)), default=0)
    standing = "abnormal" if runs >= 3 or len(incomplete) >= 4 else ("not_in_post" if rng.random() < 0.05 else "normal")
    return {
        "_id": number + str(i),
        "region_code": region,
        "standing": standing,
        "standing_label": LABELS[standing],
        "incomplete_years": incomplete,
        "abnormal_years": incomplete if standing == "abnormal" else [],
        "missing_assessment_years": [],
        "years": years,
        "first_year": first,
        "rules_version": 1,
    }


def _runs(years: list[int]):
    run: list[int] = []
    for y in years:
        if run and run[-1] != y - 1:
            yield run
            run = []
        run.append(y)
    if run:
        yield run


async def seed(db, n: int, regions: list[str], this_year: int) -> None:
    from server.db import utcnow

    rng = random.Random(13)
    now = utcnow()
    coll = db["standings"]
    sem = asyncio.Semaphore(INSERTS_IN_FLIGHT)

    async def put(docs: list[dict]) -> None:
        async with sem:
            await coll.insert_many(docs, ordered=False)

    tasks = []
    for start in range(0, n, INSERT_BATCH):
        docs = []
        for i in range(start, min(n, start + INSERT_BATCH)):
            doc = standing_doc(i, regions[i % len(regions)], this_year, rng)
            doc["computed_at"] = now
            docs.append(doc)
        tasks.append(asyncio.create_task(put(docs)))
        if len(tasks) >= 4 * INSERTS_IN_FLIGHT:
            await asyncio.gather(*tasks)
            tasks = []
    await asyncio.gather(*tasks)


async def naive_report(db, staff, year: int) -> dict:
    """What a report without the summary does per request: a filtered read, counted here."""
    counts: dict[str, list[int]] = {}
    query = {"region_code": {"$in": list(staff.regions)}}
    async for doc in db["standings"].find(query, {"region_code": 1, "standing": 1, "years": 1}, batch_size=1000):
        row = counts.setdefault(doc["region_code"], [0, 0, 0, 0])
        for entry in doc.get("years") or []:
            if entry.get("year") == year:
                row[0 if entry.get("complete") else 1] += 1
        if doc.get("standing") == "abnormal":
            row[2] += 1
        elif doc.get("standing") == "not_in_post":
            row[3] += 1
    return counts


async def timed(label: str, requests: int, make, db_pid) -> tuple[list[float], Any]:
    peak = Peak(db_pid)
    times, result = [], None
    for _ in range(requests):
        started = time.perf_counter()
        result = await make()
        times.append(time.perf_counter() - started)
    print(
        f"  {label}: p50 {percentile(times, 50) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
        f"over {requests} requests; peak memory {peak}",
        flush=True,
    )
    return times, result


async def amain(args) -> int:
    from server.app import create_services
    from server.districts import deployment_districts
    from server.duties.reports import ComplianceReports, current_year
    from server.localdb import LocalDatabase
    from server.staff.model import Staff
    from settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="kjcj-bench-compliance-"))
    local = None
    services = None
    db_name = f"bench_compliance_{uuid.uuid4().hex[:8]}"
    try:
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            local = LocalDatabase(tmp / "db", Settings.from_env({}).cache_path)
            uri = local.start()
        db_pid = local.proc.pid if local is not None and local.proc is not None else None
        settings = Settings.from_env(
            {}, environment="test", mongodb_uri=uri, mongodb_db=db_name, data_dir=str(tmp / "data"), demo_staff=False
        )
        services = await create_services(settings)
        regions = [d["code"] for d in deployment_districts(settings).districts]
        this_year = current_year()
        year = this_year - 1
        staff = Staff("bench-city", "city_admin", tuple(regions))
        print(
            f"=== N = {args.n} standings, {len(regions)} districts, report of {year} (database: {uri.split('@')[-1]})"
        )
        started = time.perf_counter()
        await seed(services.db, args.n, regions, this_year)
        print(f"seeding: {time.perf_counter() - started:.1f} s", flush=True)

        base_times, base = await timed(
            "baseline, a filtered read of standings per request",
            args.requests,
            lambda: naive_report(services.db, staff, year),
            db_pid,
        )
        reports = services.get(ComplianceReports)
        peak = Peak(db_pid)
        started = time.perf_counter()
        outline = await reports.rebuild(force=True)
        build = time.perf_counter() - started
        assert outline is not None
        print(
            f"  summary pass (background: hourly, after the nightly standing run, or when asked): {build:.1f} s, "
            f"{len(outline['lists'])} lists; peak memory {peak}",
            flush=True,
        )
        times, report = await timed(
            "report from the summary", args.requests, lambda: reports.report(staff, year), db_pid
        )
        got = {
            d["region_code"]: [d["complete"], d["incomplete"], d["abnormal"], d["not_in_post"]]
            for d in report["districts"]
        }
        assert got == {r: base.get(r, [0, 0, 0, 0]) for r in regions}, (got, base)
        page_times, page = await timed(
            "a page of people (page 50 of 20, one district)",
            args.requests,
            lambda: reports.people(staff, regions[0], "incomplete", year, 50, 20),
            db_pid,
        )
        print(
            f"  => report {percentile(times, 50) / percentile(base_times, 50):.2g} x the baseline's time "
            f"({percentile(base_times, 50) * 1000:.0f} ms -> {percentile(times, 50) * 1000:.1f} ms); "
            f"counts equal to the baseline's; a page of {len(page['items'])} of {page['total']} people",
            flush=True,
        )
        if args.export:
            peak = Peak(db_pid)
            started = time.perf_counter()
            job = await reports.export(staff, year, regions[-1])
            size = 0
            async for chunk in job.chunks():
                size += len(chunk)
            print(
                f"  export of one district ({job.count} people): {time.perf_counter() - started:.1f} s, "
                f"{size / 1e6:.1f} MB; peak memory {peak}",
                flush=True,
            )
        return 0
    finally:
        if services is not None:
            await services.client.drop_database(db_name)
            await services.close()
        if local is not None:
            local.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="standings (100000)")
    parser.add_argument("--requests", type=int, default=5, help="requests timed per kind (5)")
    parser.add_argument("--export", action="store_true", help="also time one district's Excel file")
    return asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
