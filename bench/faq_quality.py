"""FAQ quality on the question sets written blind (tests/faq/blind/), by writers who had not seen
the knowledge base: in-scope top-1, out-of-scope rejection, keywords answered or offered, courtesy.

`python bench/faq_quality.py [--root DIR] [--misses]`: `--root` measures the `faq/` package of
another checkout (e.g. `git archive <rev> faq | tar -x -C DIR`), to report figures before tuning;
the question sets are always this checkout's. Needs no database or network.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLIND = REPO / "tests" / "faq" / "blind"
# as server/chat/router.py offers topics after a miss (a short message down to a lower confidence)
SHORT_QUESTION, MIN_SHORT, MIN_LONG = 8, 0.02, 0.2


HALF = "all"  # "all", or "held": the odd lines only (0-based), which tuning never saw


def rows(name: str) -> list[dict]:
    """The JSON lines of one blind file ([] when absent); with HALF "held", its odd lines: the even
    lines were given to the tuning, the odd ones kept for the estimate after it."""
    path = BLIND / name
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if HALF == "held":
        lines = lines[1::2]
    return [json.loads(line) for line in lines]


def offered(engine, text: str, result) -> list[str]:
    """The topics the chat would offer as numbered choices for a miss."""
    from faq.normalize import normalize

    floor = MIN_SHORT if len(normalize(text).replace(" ", "")) <= SHORT_QUESTION else MIN_LONG
    return [tid for tid, score in result.candidates if score >= floor][:3]


def measure(engine) -> tuple[dict, list[str]]:
    """The figures and the wrong answers."""
    wrong: list[str] = []
    figures: dict = {}
    for name in ("in_scope.jsonl", "seed_phrasings.jsonl"):
        data = rows(name)
        hits = 0
        for r in data:
            got = engine.match(r["q"]).topic
            hits += got == r["topic"]
            if got != r["topic"]:
                wrong.append(f"{name}: {r['q']} -> {got} (want {r['topic']})")
        figures[name] = (hits, len(data))
    data = rows("near_misses.jsonl")
    rejected = 0
    for r in data:
        got = engine.match(r["q"]).topic
        rejected += got is None
        if got is not None:
            wrong.append(f"near_misses: {r['q']} -> {got} (want none)")
    figures["near_misses.jsonl"] = (rejected, len(data))
    data = rows("keywords.jsonl")
    best = reached = 0
    for r in data:
        result = engine.match(r["q"])
        ok_best = result.topic == r["topics"][0]
        ok = result.topic in r["topics"] or (
            result.topic is None and set(offered(engine, r["q"], result)) & set(r["topics"])
        )
        best += ok_best
        reached += bool(ok)
        if not ok:
            wrong.append(f"keywords: {r['q']} -> {result.topic} {result.candidates} (want {r['topics']})")
    figures["keywords.jsonl best"] = (best, len(data))
    figures["keywords.jsonl answered or offered"] = (reached, len(data))
    return figures, wrong


def courtesy_figures() -> tuple[int, int, list[str]]:
    """Greetings/thanks told apart from questions by server/chat/greetings.py (this checkout)."""
    sys.path.insert(0, str(REPO))
    from server.chat.greetings import courtesy

    data = rows("greetings.jsonl")
    wrong = []
    for r in data:
        got = courtesy(r["q"]).kind or "question"
        if got != r["kind"]:
            wrong.append(f"greetings: {r['q']} -> {got} (want {r['kind']})")
    return len(data) - len(wrong), len(data), wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=str(REPO), help="checkout whose faq/ package is measured")
    parser.add_argument("--misses", action="store_true", help="print every wrong answer")
    parser.add_argument("--held", action="store_true", help="only the held-out half (odd lines)")
    parser.add_argument("--set", default="blind", help="folder under tests/faq/ (blind, or blind2: writer C)")
    args = parser.parse_args()
    global HALF, BLIND
    HALF = "held" if args.held else "all"
    BLIND = REPO / "tests" / "faq" / args.set
    sys.path.insert(0, str(Path(args.root).resolve()))
    from faq import FaqEngine

    engine = FaqEngine.load()
    figures, wrong = measure(engine)
    print(f"faq package: {Path(args.root).resolve()} ({len(engine.topics())} topics), questions: {args.set} {HALF}")
    for name, (ok, total) in figures.items():
        if not total:
            continue
        print(f"{name:40s} {ok:4d}/{total:<4d} {100 * ok / max(total, 1):5.1f} %")
    if args.root == str(REPO) and rows("greetings.jsonl"):
        ok, total, more = courtesy_figures()
        print(f"{'greetings.jsonl courtesy told apart':40s} {ok:4d}/{total:<4d} {100 * ok / max(total, 1):5.1f} %")
        wrong += more
    if args.misses:
        print("\n".join(wrong))
    else:
        print("by wanted topic:", dict(Counter(w.split("(want ")[-1].rstrip(")") for w in wrong).most_common(12)))


if __name__ == "__main__":
    main()
