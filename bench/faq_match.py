"""Benchmark the FAQ matcher: load time, per-query latency (p50/p99) and resident memory.

Plain script: `python bench/faq_match.py [--rounds N]`. Needs no database or network.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import percentile, status_kb  # noqa: E402

from faq import FaqEngine, warm  # noqa: E402

# the shared development set, else the repository's copy (as tests/faq/conftest.py chooses)
DEV_SETS = (REPO.parent / "shared/faq/dev.jsonl", REPO / "tests/faq/data/dev.jsonl")
P99_TARGET_MS = 2.0
RSS_TARGET_MB = 250.0


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; 0 elsewhere)."""
    return status_kb("VmRSS") / 1024


def questions() -> list[str]:
    """The development questions."""
    path = next(p for p in DEV_SETS if p.exists())
    return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    """Run the benchmark and print a short report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50, help="passes over the questions")
    args = parser.parse_args()

    base_rss = rss_mb()
    started = time.perf_counter()
    warm()
    warm_s = time.perf_counter() - started
    started = time.perf_counter()
    engine = FaqEngine.load()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    FaqEngine.load([{"id": "bench_topic", "title": "测试", "answer": "测试", "keywords": ["测试词"]}])
    reload_s = time.perf_counter() - started
    loaded_rss = rss_mb()

    qs = questions()
    for q in qs:  # warm caches once
        engine.match(q)
    timings: list[float] = []
    cpu: list[float] = []
    for _ in range(args.rounds):
        for q in qs:
            c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
            engine.match(q)
            timings.append((time.perf_counter_ns() - t0) / 1e6)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
    timings.sort()
    cpu.sort()
    p50, p99 = percentile(timings, 50), percentile(timings, 99)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print(f"questions: {len(qs)} x {args.rounds} rounds = {len(timings)} matches")
    print(f"warm (jieba, pinyin, OpenCC, once per process): {warm_s * 1000:.0f} ms")
    print(f"first load: {load_s * 1000:.0f} ms, reload after staff edit: {reload_s * 1000:.0f} ms")
    print(
        f"match latency: p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {timings[-1]:.3f} ms, "
        f"mean {statistics.fmean(timings):.3f} ms (target p99 < {P99_TARGET_MS} ms: "
        f"{'OK' if p99 < P99_TARGET_MS else 'MISSED'})"
    )
    print(
        f"match CPU time: p50 {percentile(cpu, 50):.3f} ms, p99 {percentile(cpu, 99):.3f} ms "
        f"(wall-clock minus waiting for a core; load average now {load:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"RSS: {base_rss:.0f} MB at start, {loaded_rss:.0f} MB after loading the engine, "
        f"{rss_mb():.0f} MB now (target: whole server process < {RSS_TARGET_MB:.0f} MB)"
    )
    return 0 if p99 < P99_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
