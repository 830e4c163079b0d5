"""Accuracy on the development questions and on our own validation questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faq import FaqEngine


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _rates(engine: FaqEngine, rows: list[dict]) -> tuple[float, float, list[str]]:
    """In-scope top-1 accuracy, out-of-scope rejection rate, and the misses."""
    in_scope = [r for r in rows if r["topic"]]
    out_of_scope = [r for r in rows if not r["topic"]]
    misses: list[str] = []
    hits = rejected = 0
    for r in in_scope:
        got = engine.match(r["q"]).topic
        hits += got == r["topic"]
        if got != r["topic"]:
            misses.append(f"{r['q']} -> {got} (want {r['topic']})")
    for r in out_of_scope:
        got = engine.match(r["q"]).topic
        rejected += got is None
        if got is not None:
            misses.append(f"{r['q']} -> {got} (want none)")
    return hits / len(in_scope), rejected / len(out_of_scope), misses


def _check(engine: FaqEngine, path: Path) -> None:
    """Assert the two targets: >= 95 % in-scope accuracy, >= 90 % out-of-scope rejection."""
    if not path.exists():
        pytest.skip(f"{path} not available")
    accuracy, rejection, misses = _rates(engine, read_jsonl(path))
    assert accuracy >= 0.95, (accuracy, misses)
    assert rejection >= 0.90, (rejection, misses)


def test_dev_set_targets(engine: FaqEngine, dev_set: Path) -> None:
    _check(engine, dev_set)


def test_validation_set_targets(engine: FaqEngine, validation_set: Path) -> None:
    _check(engine, validation_set)


def test_dev_set_is_not_copied_into_the_knowledge_base(engine: FaqEngine, dev_set: Path) -> None:
    if not dev_set.exists():
        pytest.skip("dev set not available")
    examples = {e for t in engine.topics() for e in t.examples}
    copied = [r["q"] for r in read_jsonl(dev_set) if r["q"] in examples]
    assert not copied
