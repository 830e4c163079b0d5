"""Fixtures for the FAQ engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from faq import FaqEngine

REPO = Path(__file__).resolve().parents[2]
# The shared development set (../shared/faq/dev.jsonl) when present, else the copy kept
# in the repo, so the suite always checks the two targets.
_SHARED_DEV = Path(__file__).resolve().parents[3] / "shared" / "faq" / "dev.jsonl"
DEV_SET = _SHARED_DEV if _SHARED_DEV.exists() else Path(__file__).resolve().parent / "data" / "dev.jsonl"
VALIDATION_SET = Path(__file__).resolve().parent / "validation.jsonl"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the CLI runs from here)."""
    return REPO


@pytest.fixture(scope="session")
def dev_set() -> Path:
    """The shared development questions (may be absent)."""
    return DEV_SET


@pytest.fixture(scope="session")
def validation_set() -> Path:
    """Our own validation questions, written apart from the knowledge-base examples."""
    return VALIDATION_SET


@pytest.fixture(scope="session")
def engine() -> FaqEngine:
    """One engine with the built-in knowledge base, shared by all tests."""
    return FaqEngine.load()
