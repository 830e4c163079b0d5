"""Benchmark the grouping of unanswered FAQ questions (server/chat/miss_groups.py).

Plain script: `python bench/miss_groups.py [--sizes 2000,20000]`. Needs no database or network.
The misses are distinct wordings built from the FAQ's validation questions (a question with and
without a greeting, a filler or a trailing remark), most frequent first as the sorted list gives
them. Prints, per size: the first grouping (features computed), a repeat (features cached, as on
the next page load) and the number of groups.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faq import warm  # noqa: E402
from faq.normalize import normalize  # noqa: E402
from server.chat import miss_groups  # noqa: E402

QUESTIONS = REPO / "tests/faq/validation.jsonl"
PREFIXES = ["", "请问", "你好，", "我想问下", "老师您好，", "急！", "麻烦问一下", "打扰了，", "咨询一下", "hi "]
SUFFIXES = ["", "？", "谢谢", "急", "在线等", "求解答", "怎么弄", "呢", "啊", "，多谢"]


def misses(n: int) -> list[dict]:
    """`n` distinct misses as the sorted list's rows, most frequent first."""
    base = [json.loads(line)["q"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    seen: dict[str, None] = {}
    for pre, suf in itertools.product(PREFIXES, SUFFIXES):
        for q in base:
            seen.setdefault(normalize(pre + q + suf), None)
            if len(seen) >= n:
                break
        if len(seen) >= n:
            break
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i, question in enumerate(seen):
        rows.append(
            {
                "id": hashlib.sha1(question.encode()).hexdigest()[:20],
                "question": question,
                "sample": question,
                "count": max(1, 1000 // (i + 1)),
                "candidates": [],
                "out_of_scope": i % 7 == 0,
                "first_at": now - dt.timedelta(days=30),
                "last_at": now - dt.timedelta(minutes=i),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2000,20000")
    args = parser.parse_args()
    warm()
    for n in (int(s) for s in args.sizes.split(",")):
        rows = misses(n)
        miss_groups.features.cache_clear()
        started = time.perf_counter()
        groups = miss_groups.group_misses(rows)
        first = time.perf_counter() - started
        started = time.perf_counter()
        miss_groups.group_misses(rows)
        again = time.perf_counter() - started
        sizes = sorted((g["size"] for g in groups), reverse=True)
        print(
            f"{len(rows):>6} misses: first {first * 1000:7.1f} ms, repeat {again * 1000:7.1f} ms; "
            f"{len(groups)} groups, largest {sizes[:5]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
