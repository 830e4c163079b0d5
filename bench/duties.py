"""Benchmark of the standing rules at city scale: the nightly run over N archives (default 100,000).

Run from the repository root:  .venv/bin/python bench/duties.py [--n 100000]

A fresh local database (FerretDB v1 on SQLite here; MONGODB_URI, if set, in a throw-away database)
is seeded in bulk (at most 50 documents a command) with N approved archives in the archive's
shape (the fields the rules read: qualification dates from 2014 to 2024, a work period, an openid),
their `ce_credits` (80 % of the people, a few entries a year: about a quarter of the years short)
and annual assessments (one document per archive, `_id` the archive number, read by `_id` in
batches like every other input; the employers' side does not store assessments yet, so the bench
plugs its readers into the runner, as server/duties/assessed.py would offer them). Then, in this process, through the real
services (server.app.create_services) against that database:

1. baseline: the same reads alone — `ce_credits`, `standings` and the assessments each streamed
   once into the runner's compact summaries, then `archives` streamed with the rules' projection in
   batches — nothing computed or written;
2. first run: `StandingService.run_all()` (every standing written, a notice for every 异动/非在岗);
3. second run: the same with nothing changed (the nightly steady state: reads and comparisons);
4. the baseline again (the machine's load may have changed meanwhile): ratios use the faster one.

Printed for each: wall time, archives/s, the process's peak RSS growth (VmHWM reset before each
phase: Linux clear_refs), and the IOLoop's lag (a 10 ms ticker's lateness, p99 and max) during it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _common import bench_services, percentile, status_kb  # noqa: E402

ASSESSMENTS = "bench_assessments"
WRITE = 50


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Lag:
    """The IOLoop's lateness: a ticker that sleeps 10 ms and records how late it wakes."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.010)
            self.samples.append((time.perf_counter() - t - 0.010) * 1000)

    def summary(self) -> str:
        s = self.samples or [0.0]
        return f"loop lag p99 {percentile(s, 99):.1f} ms, max {max(s):.1f} ms"


def make_archive(i: int, codes: list[str], rnd: random.Random) -> dict:
    number = f"BENCH{i:012d}"
    qualified = rnd.randint(2014, 2024)
    return {
        "_id": number,
        "region_code": codes[i % len(codes)],
        "openid": f"bench-openid-{i}",
        "record_id": None,
        "version": 1,
        "data": {
            "profile": {"name": "王小明", "id_number": number},
            "qualification": {"level": "junior", "obtained_on": f"{qualified}-06-01"},
            "qualifications": [{"id": "q1", "level": "junior", "obtained_on": f"{qualified}-06-01"}],
            "employment": {"in_post": True, "accounting_since": f"{qualified - 1}-03-01"},
            "work_history": [{"id": "w1", "unit_name": "示例公司", "from": f"{qualified - 1}-03-01"}],
        },
        "versions": [],
        "changes": [],
        "created_at": dt.datetime(qualified + 1, 1, 10, tzinfo=dt.UTC),  # collected the year after: every year counts
    }


def make_credits(archive: dict, this_year: int, rnd: random.Random) -> dict | None:
    if rnd.random() > 0.8:
        return None
    first = int(archive["data"]["qualification"]["obtained_on"][:4]) + 1
    entries = []
    for y in range(first, this_year + 1):
        short = rnd.random() < 0.25
        for k, (credits, ctype) in enumerate(((60 if not short else 30, "professional"), (30, "general"))):
            entries.append(
                {
                    "key": f"i-{y}{k}{rnd.getrandbits(40):010x}",
                    "year": y,
                    "credits": credits,
                    "type": ctype,
                    "source": "import",
                    "provider": "厦门会计学院",
                    "course": f"课程{y}{k}",
                }
            )
    return {"_id": archive["_id"], "entries": entries}


async def seed(db, n: int, codes: list[str], this_year: int) -> None:
    rnd = random.Random(42)
    batch_a, batch_c, batch_s = [], [], []
    started = time.perf_counter()
    for i in range(n):
        archive = make_archive(i, codes, rnd)
        batch_a.append(archive)
        credits = make_credits(archive, this_year, rnd)
        if credits:
            batch_c.append(credits)
        first = int(archive["data"]["qualification"]["obtained_on"][:4]) + 1
        years = {str(y): "合格" for y in range(first, this_year) if rnd.random() < 0.9}
        batch_s.append({"_id": archive["_id"], "years": years})
        if len(batch_a) >= WRITE:
            await asyncio.gather(
                db["archives"].insert_many(batch_a),
                db["ce_credits"].insert_many(batch_c) if batch_c else asyncio.sleep(0),
                db[ASSESSMENTS].insert_many(batch_s),
            )
            batch_a, batch_c, batch_s = [], [], []
        if i and i % 20000 == 0:
            print(f"  seeded {i} archives ({time.perf_counter() - started:.0f} s)", flush=True)
    for coll, batch in (("archives", batch_a), ("ce_credits", batch_c), (ASSESSMENTS, batch_s)):
        if batch:
            await db[coll].insert_many(batch)
    print(f"seeding: {n} archives, credits and assessments in {time.perf_counter() - started:.1f} s", flush=True)


def plug_assessments(db) -> None:
    """The assessments' readers the standing runner uses (server/duties/assessed.py): by `_id` in
    batches of 50 for a few archives, one stream for the nightly run."""
    from server.duties import runner

    def years(doc: dict) -> dict:
        return {int(y): r for y, r in (doc.get("years") or {}).items()}

    async def assessed_years(services, archives):
        out = {}
        for at in range(0, len(archives), 50):
            part = archives[at : at + 50]
            found = await asyncio.gather(*[db[ASSESSMENTS].find_one({"_id": a["_id"]}) for a in part])
            out.update({d["_id"]: years(d) for d in found if d})
        return out

    async def all_results(services):
        async for doc in db[ASSESSMENTS].find({}, batch_size=200):
            yield doc["_id"], years(doc)

    runner.assessed_years = assessed_years
    runner.stream_assessed = all_results


async def baseline_reads(services) -> dict:
    """The run's reads alone (see module doc): the same scans and the same per-batch look-ups."""
    from server.duties.runner import BATCH, PROJECTION, Scanned, StandingService

    inputs = await Scanned.load(services.get(StandingService), None)
    n = 0
    batch: list[dict] = []
    async for archive in services.db["archives"].find({}, PROJECTION, batch_size=BATCH):
        batch.append(archive)
        if len(batch) >= BATCH:
            await inputs.get(batch)
            n += len(batch)
            batch = []
            await asyncio.sleep(0)
    if batch:
        await inputs.get(batch)
        n += len(batch)
    return {"archives": n}


async def phase(name: str, fn) -> dict:
    lag = Lag()
    ticker = asyncio.create_task(lag.run())
    rss0 = status_kb("VmRSS") / 1024
    exact = reset_peak()
    started = time.perf_counter()
    result = await fn()
    seconds = time.perf_counter() - started
    lag.stop.set()
    await ticker
    peak = status_kb("VmHWM") / 1024
    n = result.get("archives") or 0
    print(
        f"{name:<34} {seconds:7.1f} s  {n / seconds:7.0f} archives/s  RSS {rss0:.0f} MB -> peak {peak:.0f} MB "
        f"(+{peak - rss0:.0f} MB{'' if exact else ', peak since start'})  {lag.summary()}"
        + (f"  changed {result['changed']}" if "changed" in result else ""),
        flush=True,
    )
    return {"seconds": seconds, "growth": peak - rss0}


async def amain(args) -> int:
    import datetime as dt

    from server.districts import deployment_districts
    from server.notify.template import CHINA

    this_year = dt.datetime.now(CHINA).year
    async with bench_services("duties") as (services, where):
        settings = services.settings
        codes = list(deployment_districts(settings).codes)
        print(f"=== N = {args.n} archives; database: {where}", flush=True)
        await seed(services.db, args.n, codes, this_year)
        plug_assessments(services.db)
        from server.duties.runner import StandingService

        svc = services.get(StandingService)
        base = await phase("baseline: reading the inputs alone", lambda: baseline_reads(services))
        first = await phase("first run (every standing written)", svc.run_all)
        second = await phase("second run (nothing changed)", svc.run_all)
        again = await phase("baseline again (load may vary)", lambda: baseline_reads(services))
        base = {"seconds": min(base["seconds"], again["seconds"])}
        counts = {}
        async for doc in services.db["standings"].find({}, {"standing": 1}):
            counts[doc["standing"]] = counts.get(doc["standing"], 0) + 1
        print(f"standings: {counts}; notices: {await services.db['notices'].estimated_document_count()}")
        print(
            f"ratios to the faster baseline: first run {first['seconds'] / base['seconds']:.2f} x time, "
            f"second run {second['seconds'] / base['seconds']:.2f} x time"
        )
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    return asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
