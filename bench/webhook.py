"""Benchmark: the /wechat webhook answering a FAQ question vs a bare Tornado hello-world, and the real
server (`python -m server --processes N`) with 1 and 2 processes.

Run from the repository root:  .venv/bin/python bench/webhook.py [--seconds 8] [--rounds 5] [--connections 50]
                               [--load auto|wrk|python] [--sections compare,processes]

compare: both servers run as separate single processes, loaded in turn by the same load generator
(50 connections, keep-alive, the same XML posted to both); every webhook request is a plaintext
text message with a unique MsgId, so the dedupe really inserts one document per request. Rows: bare
Tornado; the webhook with one repeated question (the FAQ match cache answers after the first); the
webhook with a new question every request (the engine runs every time; informative, not a target).
The webhook server uses a local database (server.localdb.LocalDatabase). Also measured: FAQ match
latency per query (in this process) and the resident memory of the webhook server with the FAQ loaded.

processes: `python -m server --processes 1` and `--processes 2` (the real command: every route,
background tasks on, one database), loaded in alternating rounds with the same messages; requests/s,
latency, server CPU per request, and how that CPU was shared between the worker processes.

The load generator is `wrk` (one thread; Debian: `apt-get install -y wrk`) when installed, else a
Python one in this file (asyncio, one thread, the same requests): it costs more CPU per request than
wrk, on the same 2 cores as the servers, so its figures are lower and its ratios not comparable with
wrk's (`--load` chooses).

Targets: webhook >= 0.5 x bare requests/s, webhook p99 <= 2 x bare p99, FAQ match p99 < 2 ms,
webhook server RSS < 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import free_port, percentile, status_kb  # noqa: E402

TOKEN = "bench-token"
QUESTION = "忘记密码了怎么办"
TARGET_RPS_RATIO, TARGET_P99_RATIO, TARGET_FAQ_P99_MS, TARGET_RSS_MB = 0.5, 2.0, 2.0, 250
FAQ_QUERIES = [
    "忘记密码了怎么办",
    "照片多大",
    "名字里有生僻字打不出来",
    "调转档案怎么办",
    "審核結果什麼時候出",
    "我是代理记账公司的会计，单位派遣到别的公司上班，工作单位填哪个",
    "档案",
    "今天天气怎么样",
    "继续教育学时和信息采集有关系吗",
    "收不到验证码",
    "哪些人需要采集",
    "页面打不开一直转圈",
]
WRK_SCRIPT = r"""
local counter = 0
local threads = 0
function setup(thread)
  thread:set("base", RUN + threads * 1000000000)
  threads = threads + 1
end
request = function()
  counter = counter + 1
  local id = base + counter
  return wrk.format("POST", PATH, {["Content-Type"] = "text/xml"}, string.format(TEMPLATE, id, id))
end
"""


def signed_path() -> str:
    """A plaintext-mode webhook path with a valid signature (it covers token, timestamp, nonce only)."""
    ts, nonce = str(int(time.time())), "20240601"
    from server.chat.crypto import signature

    sig = signature(TOKEN, ts, nonce)
    return f"/wechat?signature={sig}&timestamp={ts}&nonce={nonce}&openid=o-bench"


def message_template(unique_question: bool = False) -> str:
    """The text message for Lua's string.format(t, id, id): the MsgId (and the question's suffix)."""
    # unique_question: "忘记密码了怎么办123" is the same topic but never a repeat, so never a cached match
    question = QUESTION + ("%d" if unique_question else "")
    return (
        "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o-bench-user]]>"
        f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{question}]]></Content><MsgId>%d</MsgId></xml>"
    )


# ---------------------------------------------------------------- servers under test (child processes)


def serve_webhook(port: int, uri: str, db: str) -> None:
    """Child: the real app (every route, FAQ loaded at start-up), one process, no background tasks."""
    from server.app import serve
    from server.logs import setup_logging
    from settings import Settings

    settings = Settings.from_env(
        {},
        environment="development",
        mongodb_uri=uri,
        mongodb_db=db,
        port=port,
        official_account_token=TOKEN,
        log_level="WARNING",
        demo_staff=False,
        data_dir=tempfile.mkdtemp(prefix="kjcj-bench-"),
    )
    setup_logging(settings.log_level)

    async def main() -> None:
        await serve(settings, port=port, background=False)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_bare(port: int) -> None:
    """Child: a bare Tornado hello-world answering the same requests."""
    import tornado.httpserver
    import tornado.web
    from tornado.netutil import bind_sockets

    class Hello(tornado.web.RequestHandler):
        def get(self):
            self.write("Hello, world")

        def post(self):
            self.write("Hello, world")

    async def main() -> None:
        app = tornado.web.Application([(r"/.*", Hello)])
        http = tornado.httpserver.HTTPServer(app)
        http.add_sockets(bind_sockets(port, "127.0.0.1"))
        await asyncio.Event().wait()

    asyncio.run(main())


def start_child(args: list[str], ready_url: str, timeout: float = 60.0) -> subprocess.Popen:
    """Start `python bench/webhook.py <args>` and wait until `ready_url` answers."""
    proc = subprocess.Popen([sys.executable, __file__, *args], cwd=ROOT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server {args[0]} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(ready_url, timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server {args[0]} did not start")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB."""
    return status_kb("VmRSS", pid) / 1024


# ---------------------------------------------------------------- load generation

_runs = iter(range(1, 10**6))


def wrk(url: str, tmp: Path, path: str, seconds: int, connections: int, unique_question: bool = False) -> dict:
    """Run wrk (one thread; fresh MsgIds every run) and parse requests/s, p50/p99 (ms), errors."""
    script = tmp / "webhook.lua"
    run = next(_runs) * 10**9  # MsgIds stay below 2**53 (wrk numbers are doubles)
    script.write_text(
        WRK_SCRIPT.replace("RUN", str(run))
        .replace("TEMPLATE", lua_quote(message_template(unique_question)))
        .replace("PATH", lua_quote(path)),
        encoding="utf-8",
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": rps,
        "p50": lat["50"],
        "p99": lat["99"],
        "non2xx": int(errors.group(1)) if errors else 0,
        "requests": total,
    }


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def lua_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Connection(asyncio.Protocol):
    """One keep-alive connection of the Python load generator: a request, its whole answer, the next."""

    def __init__(self, gen: _PyLoad):
        self.gen = gen
        self.buf = bytearray()
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        if self.gen.stopping:
            self.transport.close()
            return
        self.sent = time.perf_counter()
        self.transport.write(self.gen.request())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            match = _CONTENT_LENGTH.search(head)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buf) < total:
                return
            del self.buf[:total]
            self.gen.record(int(head[9:12]), time.perf_counter() - self.sent)
            self.send()

    def connection_lost(self, exc) -> None:
        self.gen.closed += 1
        if not self.gen.stopping:
            self.gen.errors += 1


_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


class _PyLoad:
    """The Python load generator: `connections` keep-alive connections for `seconds`, like `wrk -t1`."""

    def __init__(self, port: int, path: str, template: str, first_id: int):
        self.port = port
        self.head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml\r\n"
        self.template = template
        self.fields = template.count("%d")
        self.next_id = first_id
        self.stopping = False
        self.deadline = 0.0
        self.latencies: list[float] = []
        self.non2xx = 0
        self.errors = 0
        self.closed = 0

    def request(self) -> bytes:
        self.next_id += 1
        body = (self.template % ((self.next_id,) * self.fields)).encode()
        return f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    def record(self, status: int, seconds: float) -> None:
        if time.perf_counter() > self.deadline:
            self.stopping = True
            return
        self.latencies.append(seconds * 1000)
        if not 200 <= status < 400:
            self.non2xx += 1

    async def run(self, seconds: float, connections: int) -> dict:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        self.deadline = started + seconds
        transports = []
        for _ in range(connections):
            transport, _ = await loop.create_connection(lambda: _Connection(self), "127.0.0.1", self.port)
            transports.append(transport)
        await asyncio.sleep(max(0.0, self.deadline - time.perf_counter()))
        self.stopping = True
        for _ in range(100):  # answers still on their way are not counted
            if self.closed >= connections:
                break
            await asyncio.sleep(0.05)
        for transport in transports:
            transport.close()
        lat = sorted(self.latencies)
        return {
            "rps": len(lat) / seconds,
            "p50": percentile(lat, 50) if lat else 0.0,
            "p99": percentile(lat, 99) if lat else 0.0,
            "non2xx": self.non2xx + self.errors,
            "requests": len(lat),
        }


def pyload(url: str, path: str, seconds: int, connections: int, unique_question: bool = False) -> dict:
    """The Python load generator's run against `url` (its port), with fresh MsgIds every run."""
    port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    gen = _PyLoad(port, path, message_template(unique_question), next(_runs) * 10**9)
    return asyncio.run(gen.run(seconds, connections))


LOAD = "wrk"  # or "python": chosen in main()


def load(url: str, tmp: Path, path: str, seconds: int, connections: int, unique_question: bool = False) -> dict:
    """One load run with the chosen generator."""
    if LOAD == "python":
        return pyload(url, path, seconds, connections, unique_question)
    return wrk(url, tmp, path, seconds, connections, unique_question)


# ---------------------------------------------------------------- FAQ latency (in process)


def faq_latency(rounds: int = 300) -> dict:
    """Per-query match latency of the engine (after warm-up), in ms."""
    from faq import FaqEngine

    engine = FaqEngine.load()
    for q in FAQ_QUERIES:
        engine.match(q)
    samples = []
    for _ in range(rounds):
        for q in FAQ_QUERIES:
            t = time.perf_counter()
            engine.match(q)
            samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p99": percentile(samples, 99), "max": samples[-1], "n": len(samples)}


# ---------------------------------------------------------------- main


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, in seconds."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def own_cpu_seconds() -> float:
    """CPU time of this process and its finished children: the load generator (Python here, or wrk)."""
    import resource

    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (the workers of `python -m server --processes N`)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(found)


def measure(
    label: str, url: str, pid: int, db_pids: list[int], tmp: Path, path: str, args, unique: bool = False
) -> dict:
    """One wrk run plus the CPU the server (and the database) spent per request."""
    pids = [pid, *child_pids(pid)]
    before, db_before, load_before = [cpu_seconds([p]) for p in pids], cpu_seconds(db_pids), own_cpu_seconds()
    result = load(url, tmp, path, args.seconds, args.connections, unique)
    n = max(result["requests"], 1)
    result["load_cpu_us"] = (own_cpu_seconds() - load_before) / n * 1e6
    spent = [cpu_seconds([p]) - b for p, b in zip(pids, before, strict=True)]
    result["cpu_us"] = sum(spent) / n * 1e6
    result["cpu_share"] = [x / max(sum(spent), 1e-9) for x in spent]
    result["db_cpu_us"] = (cpu_seconds(db_pids) - db_before) / n * 1e6
    result["label"] = label
    return result


def main() -> int:
    global LOAD
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="alternating measurement rounds (best kept)")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    parser.add_argument("--sections", default="compare,processes", help="compare, processes, or both")
    args = parser.parse_args()
    sections = {part.strip() for part in args.sections.split(",") if part.strip()}
    LOAD = args.load if args.load != "auto" else ("wrk" if shutil.which("wrk") else "python")
    if LOAD == "wrk" and not shutil.which("wrk"):
        print("wrk is not installed: on Debian/Ubuntu run `apt-get install -y wrk` (as root), or use --load python")
        return 2
    if LOAD == "python":
        print(
            "load generator: Python (asyncio, one thread)"
            + (" because wrk is not installed (Debian: apt-get install -y wrk)" if args.load == "auto" else "")
            + "; it costs more CPU per request than wrk on the same 2 cores, so its figures are lower"
        )

    from server.localdb import LocalDatabase
    from settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="kjcj-bench-"))
    local = LocalDatabase(tmp / "db", Settings.from_env({}).cache_path)
    uri = local.start()
    db_pids = [local.proc.pid] if local.proc else []
    db = "bench_" + uuid.uuid4().hex[:8]
    missed: list[str] = []
    try:
        if "compare" in sections:
            missed += compare(args, uri, db, db_pids, tmp)
        if "processes" in sections:
            processes(args, uri, db + "_p", db_pids, tmp)  # its own database: the sweeps read only its messages
    finally:
        local.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if "compare" in sections:
        print("RESULT:", "all targets met" if not missed else "TARGET MISSED: " + ", ".join(missed))
    return 0 if not missed else 1


def compare(args, uri: str, db: str, db_pids: list[int], tmp: Path) -> list[str]:
    """The webhook vs bare Tornado, one process each; the targets missed."""
    procs: list[subprocess.Popen] = []
    rows = ("bare", "webhook", "webhook, unique questions")
    results: dict[str, list[dict]] = {name: [] for name in rows}
    try:
        wport, bport = free_port(), free_port()
        webhook = start_child(["--serve-webhook", str(wport), uri, db], f"http://127.0.0.1:{wport}/healthz")
        procs.append(webhook)
        bare = start_child(["--serve-bare", str(bport)], f"http://127.0.0.1:{bport}/")
        procs.append(bare)
        path = signed_path()
        sample = _one_request(wport, path)
        assert "密码" in sample, f"the webhook did not answer the FAQ: {sample[:200]}"
        print(f"webhook answers {QUESTION!r} with the FAQ ({len(sample)} bytes of XML)")
        rss_loaded = rss_mb(webhook.pid)
        targets = {
            "bare": (f"http://127.0.0.1:{bport}{path}", bare.pid, False),
            "webhook": (f"http://127.0.0.1:{wport}{path}", webhook.pid, False),
            "webhook, unique questions": (f"http://127.0.0.1:{wport}{path}", webhook.pid, True),
        }
        for url, _, unique in targets.values():  # warm-up
            load(url, tmp, path, 2, args.connections, unique)
        for _ in range(args.rounds):
            for name, (url, pid, unique) in targets.items():
                results[name].append(measure(name, url, pid, db_pids, tmp, path, args, unique))
        rss_after = rss_mb(webhook.pid)
        inserted = _count_dedupe(uri, db)
        sent = sum(r["requests"] for name in rows[1:] for r in results[name])
    finally:
        stop_children(procs)

    faq = faq_latency()
    best = {name: max(runs, key=lambda r: r["rps"]) for name, runs in results.items()}
    b = best["bare"]
    generator = (
        f"wrk -t1 -c{args.connections} -d{args.seconds}s, same Lua script (POST, unique MsgIds) for every row"
        if LOAD == "wrk"
        else f"Python load generator, {args.connections} connections, {args.seconds} s, the same POSTs for every row"
    )
    print(f"\n{generator}, best of {args.rounds} alternating rounds, one server process each")
    print(
        f"{'':27s}{'req/s':>8s}{'p50 ms':>9s}{'p99 ms':>9s}{'non-2xx':>8s}{'cpu us/req':>11s}{'db cpu':>8s}"
        f"{'rps ratio':>10s}{'p99 ratio':>10s}"
    )
    for name in rows:
        r = best[name]
        print(
            f"{name:27s}{r['rps']:8.0f}{r['p50']:9.2f}{r['p99']:9.2f}{r['non2xx']:8d}{r['cpu_us']:11.0f}"
            f"{r['db_cpu_us']:8.0f}{r['rps'] / b['rps']:10.2f}{r['p99'] / b['p99']:10.2f}"
        )
    print(
        "req/s of every round: "
        + json.dumps({k: [round(r["rps"]) for r in v] for k, v in results.items()}, ensure_ascii=False)
    )
    per_round = [(w["rps"] / b_["rps"], w["p99"] / b_["p99"]) for w, b_ in zip(results["webhook"], results["bare"])]
    print(
        "webhook/bare in each round (requests/s, p99): "
        + ", ".join(f"{r:.2f}/{p:.2f}" for r, p in per_round)
        + f"; median {statistics.median(r for r, _ in per_round):.2f}/{statistics.median(p for _, p in per_round):.2f}"
    )
    print(f"dedupe documents inserted: {inserted} (measured webhook requests: {sent}, plus warm-up)")
    w, u = best["webhook"], best["webhook, unique questions"]
    rps_ratio, p99_ratio = w["rps"] / b["rps"], w["p99"] / b["p99"]
    print(
        f"\nwebhook (FAQ answer, one dedupe insert per request) vs bare Tornado: requests/s ratio {rps_ratio:.2f} "
        f"(target >= {TARGET_RPS_RATIO}), p99 ratio {p99_ratio:.2f} (target <= {TARGET_P99_RATIO})"
    )
    print(
        f"  the repeated question is matched once, then served from the per-engine match cache; with every "
        f"question new (engine run per request) the ratios are {u['rps'] / b['rps']:.2f} and "
        f"{u['p99'] / b['p99']:.2f} (not a target, shown for honesty)"
    )
    print(
        f"FAQ match per query: p50 {faq['p50']:.3f} ms, p99 {faq['p99']:.3f} ms, max {faq['max']:.3f} ms "
        f"over {faq['n']} matches of {len(FAQ_QUERIES)} questions (target p99 < {TARGET_FAQ_P99_MS} ms)"
    )
    print(
        f"webhook server RSS: {rss_loaded:.0f} MB after start-up, {rss_after:.0f} MB after the load "
        f"(target < {TARGET_RSS_MB} MB)"
    )
    checks = {
        "rps": rps_ratio >= TARGET_RPS_RATIO,
        "p99": p99_ratio <= TARGET_P99_RATIO,
        "faq": faq["p99"] < TARGET_FAQ_P99_MS,
        "rss": max(rss_loaded, rss_after) < TARGET_RSS_MB,
        "errors": all(best[n]["non2xx"] == 0 for n in rows),
        "dedupe": inserted >= sent,
    }
    return [k for k, ok in checks.items() if not ok]


PROCESS_COUNTS = (1, 2)


def processes(args, uri: str, db: str, db_pids: list[int], tmp: Path) -> None:
    """`python -m server --processes 1` vs `--processes 2` on one database, alternating rounds."""
    from settings import Settings

    setting_vars = {f.upper() for f in Settings.__dataclass_fields__}
    servers: dict[int, tuple[subprocess.Popen, str]] = {}
    results: dict[int, list[dict]] = {n: [] for n in PROCESS_COUNTS}
    try:
        for n in PROCESS_COUNTS:
            port = free_port()
            env = {k: v for k, v in os.environ.items() if k not in setting_vars}
            env.update(
                PORT=str(port),
                PROCESSES=str(n),
                MONGODB_URI=uri,
                MONGODB_DB=db,
                OFFICIAL_ACCOUNT_TOKEN=TOKEN,
                LOG_LEVEL="WARNING",
                DEMO_STAFF="false",
                DATA_DIR=str(tmp / f"server-{n}"),
            )
            proc = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
            servers[n] = (proc, f"http://127.0.0.1:{port}")
            wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
        path = signed_path()
        for _proc, url in servers.values():
            assert "密码" in _one_request(int(url.rsplit(":", 1)[1]), path)
            load(url + path, tmp, path, 2, args.connections)  # warm-up
        for _ in range(args.rounds):
            for n, (proc, url) in servers.items():
                results[n].append(measure(f"{n} processes", url + path, proc.pid, db_pids, tmp, path, args))
    finally:
        stop_children([proc for proc, _ in servers.values()], timeout=30)

    best = {n: max(runs, key=lambda r: r["rps"]) for n, runs in results.items()}
    one = best[PROCESS_COUNTS[0]]
    print(
        f"\nthe real server, `python -m server --processes N` (background tasks on, one database), the webhook "
        f"as above, {args.connections} connections, best of {args.rounds} alternating rounds, {os.cpu_count()} CPUs "
        f"shared with the load generator and the database"
    )
    print(
        f"{'processes':>10s}{'req/s':>8s}{'p50 ms':>9s}{'p99 ms':>9s}{'non-2xx':>8s}{'cpu us/req':>11s}"
        f"{'db cpu':>8s}{'load cpu':>9s}{'rps ratio':>10s}  server CPU by process (parent, workers)"
    )
    for n in PROCESS_COUNTS:
        r = best[n]
        share = " / ".join(f"{x * 100:.0f} %" for x in r["cpu_share"])
        print(
            f"{n:10d}{r['rps']:8.0f}{r['p50']:9.2f}{r['p99']:9.2f}{r['non2xx']:8d}{r['cpu_us']:11.0f}"
            f"{r['db_cpu_us']:8.0f}{r['load_cpu_us']:9.0f}{r['rps'] / one['rps']:10.2f}  {share}"
        )
    print(
        "cpu us/req: the server's processes; db cpu: FerretDB's; load cpu: the load generator's (all on the same "
        "cores: with 2 processes they share 2 cores with FerretDB and the load generator)"
    )
    print("req/s of every round: " + json.dumps({n: [round(r["rps"]) for r in v] for n, v in results.items()}))
    per_round = [b["rps"] / a["rps"] for a, b in zip(results[1], results[2], strict=True)]
    print(
        "2 processes / 1 in each round: "
        + ", ".join(f"{x:.2f}" for x in per_round)
        + f"; median {statistics.median(per_round):.2f}"
    )


def wait_ready(proc: subprocess.Popen, url: str, timeout: float = 120.0) -> None:
    """Wait until `url` answers 200 (the server started), or fail when the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def stop_children(procs: list[subprocess.Popen], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after `timeout`."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


def _one_request(port: int, path: str) -> str:
    body = (message_template() % int(time.time() * 1000)).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": "text/xml"})
    return urllib.request.urlopen(req, timeout=10).read().decode()


def _count_dedupe(uri: str, db: str) -> int:
    from pymongo import MongoClient

    client = MongoClient(uri)
    try:
        return client[db]["chat_dedupe"].count_documents({})
    finally:
        client.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-webhook":
        serve_webhook(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "--serve-bare":
        serve_bare(int(sys.argv[2]))
    else:
        sys.exit(main())
