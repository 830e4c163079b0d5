"""Command line: `python -m faq match` reads {"q": ...} JSON lines, writes matches."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import TextIO

from .engine import FaqEngine


def _answer(engine: FaqEngine, line: str) -> dict[str, object]:
    """Match one input line; malformed input yields topic null instead of an error."""
    try:
        data = json.loads(line)
    except ValueError:
        return {"q": line, "topic": None, "score": 0.0}
    q = data.get("q") if isinstance(data, dict) else None
    if not isinstance(q, str):
        return {"q": q if q is None else str(q), "topic": None, "score": 0.0}
    try:
        result = engine.match(q)
    except Exception:  # one bad line must never stop a batch
        return {"q": q, "topic": None, "score": 0.0}
    return {"q": q, "topic": result.topic, "score": result.score}


def match_lines(engine: FaqEngine, lines: Iterable[str], out: TextIO) -> int:
    """Write one JSON line per input line; return the number of lines written."""
    count = 0
    for raw in lines:
        line = raw.rstrip("\r\n")
        out.write(json.dumps(_answer(engine, line), ensure_ascii=False) + "\n")
        out.flush()
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m faq`."""
    parser = argparse.ArgumentParser(prog="python -m faq", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("match", help='match JSON lines {"q": ...} from stdin')
    m.add_argument("--threshold", type=float, default=None, help="override the raw-score threshold")
    args = parser.parse_args(argv)
    if args.command == "match":
        for stream in (sys.stdin, sys.stdout):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(encoding="utf-8", errors="replace")
        engine = FaqEngine.load()
        if args.threshold is not None:
            engine.threshold = args.threshold
        match_lines(engine, sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
