"""Benchmark: which query shapes FerretDB v1 (SQLite backend) answers cheaply, and which scan.

Run from the repository root:  .venv/bin/python bench/ferretdb_pushdown.py [--n 20000]

Starts its own FerretDB (server.localdb.LocalDatabase in a temporary directory; MONGODB_URI,
if set, is used instead, in a throw-away database), seeds a collection with N ~1.5 KB
documents (ObjectId `_id`, `openid`, `status`, `region_code`, Chinese `profile.name`,
`submitted_at`, `version`, ...), a copy with string `_id`s and a 50-document collection, then
times each query shape and prints p50/p95 with the ratio of each p50 to the p50 of
find_one({"_id": ObjectId}) measured in the same run. Runs per shape: one untimed warm-up, then
up to --runs (20); a shape whose first call takes over --slow-ms counts that call and gets up
to --slow-runs (3); no run starts after --budget seconds on a shape (so at 100000 documents
the full scans get one run each). Single-document targets sit at spread-out positions of the
insertion order (see spread()). Also: the server's CPU while idle for --idle seconds after
seeding, its resident memory, and FerretDB's `explain` of an `_id` and an `openid` lookup.

What to expect (FerretDB v1.24.2 source, internal/backends/sqlite and internal/handler): only
a filter that is exactly {"_id": <string or ObjectId>} becomes SQL. Upstream writes it
WHERE _ferretdb_sjson->'$._id' = ?, which SQLite evaluates on every row: the unique _id index
is on the expression _ferretdb_sjson->"_id", which SQLite does not match to it (explain: SCAN).
The project's build patches the expression to the index's own (server/localdb.py), so with
the project's binary explain says SEARCH ... USING INDEX and an _id lookup no longer grows
with the table. A limit is
pushed down only with no filter, no sort and no skip. Everything else reads every row (in
insertion order), decodes it and filters/sorts/counts in Go, stopping early only when a limit
is reached; updates by _id run another SQLite scan. Secondary indexes are created in SQLite
but no query uses them. Informative only: no targets, exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

import bson  # noqa: E402
from _common import percentile, status_kb  # noqa: E402
from bson import ObjectId  # noqa: E402
from pymongo import ASCENDING  # noqa: E402

STATUSES = ("draft", "submitted", "approved", "rejected")
REGIONS = tuple(
    f"{code}"
    for code in (
        110101,
        110102,
        110105,
        110106,
        120101,
        130102,
        310101,
        310104,
        310105,
        320102,
        320106,
        330102,
        330106,
        340102,
        350102,
        370102,
        420102,
        440103,
        440104,
        510104,
    )
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰海燕鹏飞晓东文博子涵雨轩浩然欣怡"
STREETS = ("人民路", "解放路", "中山路", "建设路", "和平街", "文化路", "胜利路", "长江路", "黄河路", "朝阳路")
EMPLOYERS = (
    "某某会计师事务所有限公司",
    "某某财务咨询有限公司",
    "某某科技股份有限公司",
    "某某商贸有限公司",
    "某某建筑工程有限公司",
    "某某代理记账有限公司",
)
EDUCATION = ("大专", "本科", "硕士研究生", "博士研究生", "中专")
MAJORS = ("会计学", "财务管理", "审计学", "金融学", "税收学", "工商管理")
BATCH = 1000
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- documents


def make_doc(rng: random.Random, i: int, base: dt.datetime) -> dict:
    """One registration-like document (~1.5 KB of BSON), without `_id`."""
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    submitted = base + dt.timedelta(seconds=rng.randrange(90 * 86400), milliseconds=rng.randrange(1000))
    birth = dt.date(1965, 1, 1) + dt.timedelta(days=rng.randrange(13000))
    region = rng.choice(REGIONS)
    return {
        "openid": f"o{uuid.UUID(int=rng.getrandbits(128)).hex[:27]}",
        "unionid": f"u{uuid.UUID(int=rng.getrandbits(128)).hex[:27]}",
        "status": rng.choice(STATUSES),
        "region_code": region,
        "profile": {
            "name": name,
            "gender": rng.choice(("男", "女")),
            "id_card": f"{region}{birth:%Y%m%d}{rng.randrange(1000):03d}{rng.choice('0123456789X')}",
            "birth_date": birth.isoformat(),
            "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
            "email": f"user{i}@example.com",
            "address": f"某省某市某区{rng.choice(STREETS)}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋"
            f"{rng.randrange(1, 3000)}室",
            "employer": rng.choice(EMPLOYERS),
            "employer_credit_code": f"91{rng.randrange(10**16):016d}",
            "education": rng.choice(EDUCATION),
            "major": rng.choice(MAJORS),
            "school": f"某某{rng.choice(('财经', '工商', '师范', '理工'))}大学",
            "graduated": 1985 + rng.randrange(38),
            "title": rng.choice(("无", "初级会计师", "中级会计师", "高级会计师")),
        },
        "photo": {
            "file_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "sha256": f"{rng.getrandbits(256):064x}",
            "width": 295,
            "height": 413,
            "bytes": rng.randrange(20000, 60000),
        },
        "answers": [
            {"q": f"q{k}", "a": rng.choice(("是", "否", "不确定")), "note": "已核对无误" * rng.randrange(3)}
            for k in range(8)
        ],
        "remarks": "本人承诺所填信息真实准确完整，如有虚假愿承担相应责任。",
        "history": [
            {"at": submitted - dt.timedelta(days=d), "by": "system", "event": e}
            for d, e in ((3, "created"), (2, "updated"), (1, "updated"))
        ],
        "created_at": submitted - dt.timedelta(days=3),
        "updated_at": submitted,
        "submitted_at": submitted,
        "version": rng.randrange(1, 6),
    }


# ---------------------------------------------------------------- server process


def ferretdb_pid(local, uri: str) -> int | None:
    """The server process: LocalDatabase's own, else a `ferretdb` listening on the URI's port."""
    if local is not None and local.proc is not None:
        return local.proc.pid
    port = urlparse(uri).port or 27017
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            argv
            and Path(argv[0].decode(errors="replace")).name.startswith("ferretdb")
            and any(a.endswith(f":{port}".encode()) for a in argv)
        ):
            return int(entry)
    return None


def reset_peak_rss(pid: int | None) -> None:
    """Reset the process's VmHWM to its current RSS (Linux: write 5 to /proc/<pid>/clear_refs), if allowed."""
    if pid:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ---------------------------------------------------------------- timing


def spread(k: int) -> float:
    """A position in [0, 1) for run k: 1/2, 1/4, 3/4, 1/8, 5/8, ... (van der Corput, base 2).

    find_one and findAndModify stop at the first match of a scan in insertion order, so their
    cost depends on where the target lies; any prefix of these runs is spread evenly, and a
    single run hits the middle.
    """
    k, denominator, position = k + 1, 1, 0.0
    while k:
        denominator *= 2
        k, bit = divmod(k, 2)
        position += bit / denominator
    return position


class Bench:
    """Runs shapes and keeps their timings in order."""

    def __init__(self, runs: int, slow_runs: int, slow_ms: float, budget: float, pid: int | None):
        self.runs, self.slow_runs, self.slow_ms, self.budget = runs, slow_runs, slow_ms, budget
        self.pid = pid
        self.rows: list[tuple[str, int, float, float, int, str]] = []

    async def time(self, label: str, make_call, note: str = "") -> None:
        """Time `await make_call(k)` for k = 0, 1, ...

        The first call is a warm-up, not counted, when it takes at most --slow-ms; then up to
        --runs timed runs. A slower first call is counted (a full scan has nothing left to warm)
        and up to --slow-runs runs are made. Either way no run starts once the shape has used
        --budget seconds; at least one run is timed.
        """
        reset_peak_rss(self.pid)
        shape_started = time.perf_counter()
        await make_call(0)
        first_ms = (time.perf_counter() - shape_started) * 1000
        slow = first_ms > self.slow_ms
        times, limit = ([first_ms], self.slow_runs) if slow else ([], self.runs)
        k = 1
        while len(times) < limit and (not times or time.perf_counter() - shape_started < self.budget):
            started = time.perf_counter()
            await make_call(k)
            times.append((time.perf_counter() - started) * 1000)
            k += 1
        peak_mb = status_kb("VmHWM", self.pid) // 1024 if self.pid else 0
        self.rows.append((label, len(times), percentile(times, 50), percentile(times, 95), peak_mb, note))
        print(
            f"  {label}: p50 {percentile(times, 50):.1f} ms ({len(times)} runs, "
            f"{time.perf_counter() - shape_started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )

    def table(self, base_label: str) -> str:
        """The results as a fixed-width table, ratios against `base_label`'s p50."""
        base = next(r[2] for r in self.rows if r[0] == base_label)
        width = max(len(r[0]) for r in self.rows)
        lines = [
            f"{'query shape':<{width}}  {'runs':>4}  {'p50 ms':>9}  {'p95 ms':>9}  {'x _id p50':>9}  "
            f"{'peak MB':>7}  note",
            "-" * (width + 56),
        ]
        for label, runs, p50, p95, peak_mb, note in self.rows:
            lines.append(
                f"{label:<{width}}  {runs:>4}  {p50:>9.1f}  {p95:>9.1f}  {p50 / base:>9.2f}  "
                f"{peak_mb or '':>7}  {note}".rstrip()
            )
        return "\n".join(lines)


# ---------------------------------------------------------------- main


async def seed(db, n: int, rng: random.Random) -> tuple[list[dict], dict[str, float], float]:
    """Insert the collections; return (summaries of the main documents, seconds per step, mean BSON size)."""
    base = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    docs = [make_doc(rng, i, base) for i in range(n)]
    for doc in docs:
        doc["_id"] = ObjectId()
    sample = docs[:: max(1, n // 500)]
    mean_size = sum(len(bson.encode(d)) for d in sample) / len(sample)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    for start in range(0, n, BATCH):
        await db.docs.insert_many(docs[start : start + BATCH], ordered=False)
    timings["docs"] = time.perf_counter() - started

    started = time.perf_counter()
    for start in range(0, n, BATCH):
        await db.docs_str.insert_many(
            [{**d, "_id": f"reg-{start + j:08d}"} for j, d in enumerate(docs[start : start + BATCH])], ordered=False
        )
    timings["docs_str"] = time.perf_counter() - started

    started = time.perf_counter()
    await db.tiny.insert_many([make_doc(rng, i, base) for i in range(50)])
    timings["tiny"] = time.perf_counter() - started

    summaries = [{"_id": d["_id"], "openid": d["openid"], "version": d["version"], "i": i} for i, d in enumerate(docs)]
    return summaries, timings, mean_size


async def run(args) -> int:
    from server.db import connect

    local, tmp = None, None
    uri = os.environ.get("MONGODB_URI", "")
    if not uri:
        from server.localdb import LocalDatabase
        from settings import Settings

        tmp = Path(tempfile.mkdtemp(prefix="kjcj-bench-pushdown-"))
        local = LocalDatabase(tmp / "db", Settings.from_env({}).cache_path)
        uri = local.start(timeout=120)
    client = connect(uri, socketTimeoutMS=600_000)
    db = client["bench_pushdown_" + uuid.uuid4().hex[:8]]
    try:
        info = await client.admin.command("buildInfo")
        server = (
            f"FerretDB {info['ferretdbVersion']}" if "ferretdbVersion" in info else f"MongoDB {info.get('version')}"
        )
        pid = ferretdb_pid(local, uri)
        rng = random.Random(args.seed)

        print(f"seeding {args.n} documents ...", file=sys.stderr, flush=True)
        docs, seed_s, mean_size = await seed(db, args.n, rng)
        n = len(docs)

        rss_seeded = status_kb("VmRSS", pid) / 1024 if pid else 0.0
        idle_cpu = None
        if pid and args.idle > 0:
            print(f"idle for {args.idle:.0f} s ...", file=sys.stderr, flush=True)
            cpu0, wall0 = cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(args.idle)
            idle_cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0) * 100

        peak_seeding = status_kb("VmHWM", pid) / 1024 if pid else 0.0
        bench = Bench(args.runs, args.slow_runs, args.slow_ms, args.budget, pid)
        rnd = random.Random(args.seed + 1)

        def at(k: int, shift: int = 0, version: int | None = None) -> dict:
            """The document at position spread(k) of insertion order (+ shift), or the next one with `version`."""
            i = int(spread(k) * n) + shift
            while version is not None and docs[i % n]["version"] != version:
                i += 1
            return docs[i % n]

        await bench.time('find_one({"_id": ObjectId})', lambda k: db.docs.find_one({"_id": at(k)["_id"]}))
        await bench.time(
            'find_one({"_id": "string-id"})',
            lambda k: db.docs_str.find_one({"_id": f"reg-{at(k)['i']:08d}"}),
            note="second collection, string _ids",
        )
        await bench.time(
            'find_one({"_id": x, "version": 3})',
            lambda k: db.docs.find_one({"_id": at(k, version=3)["_id"], "version": 3}),
        )
        await bench.time('find_one({"openid": s}), no index', lambda k: db.docs.find_one({"openid": at(k)["openid"]}))
        started = time.perf_counter()
        await db.docs.create_index([("openid", ASCENDING)], name="openid")
        index_s = time.perf_counter() - started
        await bench.time(
            'find_one({"openid": s}), index on openid',
            lambda k: db.docs.find_one({"openid": at(k)["openid"]}),
            note=f"same targets; index built in {index_s:.1f} s",
        )

        def status_region(k):
            region = REGIONS[k % len(REGIONS)]
            return db.docs.find({"status": "submitted", "region_code": region}).sort("submitted_at").limit(20).to_list()

        await bench.time("find({status, region_code}).sort(submitted_at).limit(20)", status_region)
        await bench.time("find({}).limit(20)", lambda k: db.docs.find({}).limit(20).to_list())
        await bench.time("find({}).skip(1000).limit(20)", lambda k: db.docs.find({}).skip(1000).limit(20).to_list())
        await bench.time(
            'find({"_id": {"$in": [5 ids]}})',
            lambda k: db.docs.find({"_id": {"$in": [d["_id"] for d in rnd.sample(docs, 5)]}}).to_list(),
        )

        def id_range(k):
            start = rnd.randrange(n - 20)
            return db.docs.find({"_id": {"$gte": docs[start]["_id"], "$lt": docs[start + 20]["_id"]}}).to_list()

        await bench.time('find({"_id": {"$gte": a, "$lt": b}})', id_range, note="20 consecutive ids")
        await bench.time("count_documents({})", lambda k: db.docs.count_documents({}))
        await bench.time("estimated_document_count()", lambda k: db.docs.estimated_document_count())
        await bench.time(
            'count_documents({"status": "submitted"})', lambda k: db.docs.count_documents({"status": "submitted"})
        )

        async def update(k: int, versioned: bool) -> None:
            d = at(k, shift=1 if versioned else 0)  # the neighbour: not the same documents
            query = {"_id": d["_id"], "version": d["version"]} if versioned else {"_id": d["_id"]}
            before = await db.docs.find_one_and_update(query, {"$inc": {"version": 1}})
            assert before is not None and before["version"] == d["version"], "the update missed its document"
            d["version"] += 1

        await bench.time('find_one_and_update({"_id": x}, $inc version)', lambda k: update(k, False))
        await bench.time('find_one_and_update({"_id": x, "version": v}, $inc)', lambda k: update(k, True))
        await bench.time(
            'tiny (50 docs): find({"status": "submitted"})',
            lambda k: db.tiny.find({"status": "submitted"}).to_list(),
            note="a 50-document collection",
        )

        plans = {}
        for label, filt in (("_id", {"_id": docs[0]["_id"]}), ("openid", {"openid": docs[0]["openid"]})):
            ex = await db.command("explain", {"find": "docs", "filter": filt})
            plans[label] = (
                ex.get("filterPushdown"),
                " | ".join(ex.get("queryPlanner", {}).get("Plan", []))
                or str(ex.get("queryPlanner", {}).get("winningPlan", {}).get("stage", "?")),
            )

        rss_after = status_kb("VmRSS", pid) / 1024 if pid else 0.0

        print()
        print(
            f"{server} at {uri}; {n} documents of {mean_size:.0f} B mean BSON in 'docs' "
            f"(and a copy with string _ids in 'docs_str'); ratio = p50 / p50 of find_one({{\"_id\": ObjectId}})"
        )
        print(
            f"seeding (insert_many, batches of {BATCH}): docs {seed_s['docs']:.1f} s "
            f"({n / seed_s['docs']:.0f} docs/s), docs_str {seed_s['docs_str']:.1f} s, tiny {seed_s['tiny'] * 1000:.0f} ms; "
            f"openid index {index_s:.1f} s"
        )
        print()
        print(bench.table('find_one({"_id": ObjectId})'))
        print()
        for label, (pushdown, plan) in plans.items():
            print(f"explain find({{{label!r}: ...}}): filterPushdown={pushdown}, plan: {plan}")
        if pid:
            cpu = f"{idle_cpu:.2f} %" if idle_cpu is not None else "not measured"
            print(
                f"server pid {pid}: idle CPU over {args.idle:.0f} s after seeding {cpu} of one core; "
                f"RSS after seeding {rss_seeded:.0f} MB (peak while seeding {peak_seeding:.0f} MB), after the queries "
                f"{rss_after:.0f} MB; 'peak MB' = the server's VmHWM during each shape"
            )
        else:
            print("server process not found on this machine: no CPU/RSS figures")
        print(
            f"{os.cpu_count()} CPUs; load average over the last 1/5/15 min: "
            + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        return 0
    finally:
        try:
            await client.drop_database(db.name)
        except Exception:
            pass
        await client.close()
        if local is not None:
            local.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="documents in the main collection (100000: ~10 min)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per shape")
    parser.add_argument("--slow-runs", type=int, default=3, help="timed runs for shapes slower than --slow-ms")
    parser.add_argument("--slow-ms", type=float, default=2000.0, help="warm-up time above which a shape is slow")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per shape after which no run starts")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measurement after seeding")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed for documents and targets")
    args = parser.parse_args()
    if args.n < 100:
        parser.error("--n must be at least 100")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
