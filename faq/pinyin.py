"""Toneless, fuzzy pinyin readings per character, built from pypinyin's character table."""

from __future__ import annotations

import importlib.util
import json
import threading
import unicodedata
from pathlib import Path

# Importing the pypinyin package loads its ~60 MB phrase dictionary; we only need the
# per-character table, so we read its JSON file directly (all readings, no context).
_table: dict[str, tuple[str, ...]] | None = None
_lock = threading.Lock()

# Only the most common readings: rare ones create more false homophones than they fix.
MAX_READINGS = 2

# Pinyin-IME users often confuse retroflex/flat initials and -ng/-n finals.
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))


def fuzzy(syllable: str) -> str:
    """Collapse the sound pairs IME users commonly confuse (zh/z, ch/c, sh/s, -ng/-n)."""
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


def _strip_tone(reading: str) -> str:
    """Remove tone marks: 'lǚ' -> 'lu', 'diào' -> 'diao'."""
    decomposed = unicodedata.normalize("NFD", reading)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _table_path() -> Path:
    """Locate pypinyin's pinyin_dict.json without importing the package."""
    spec = importlib.util.find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pypinyin is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "pinyin_dict.json"


def _build() -> dict[str, tuple[str, ...]]:
    """Build char -> distinct fuzzy toneless readings (strings interned to save memory)."""
    raw = json.loads(_table_path().read_text(encoding="utf-8"))
    interned: dict[tuple[str, ...], tuple[str, ...]] = {}
    table: dict[str, tuple[str, ...]] = {}
    for code, readings in raw.items():
        seen: list[str] = []
        for r in readings.split(","):
            s = fuzzy(_strip_tone(r.strip()))
            if s and s not in seen:
                seen.append(s)
        if seen:
            key = tuple(seen[:MAX_READINGS])
            table[chr(int(code))] = interned.setdefault(key, key)
    return table


def table() -> dict[str, tuple[str, ...]]:
    """Return the process-wide reading table, building it on first use."""
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = _build()
    return _table


def readings(ch: str) -> tuple[str, ...]:
    """All fuzzy toneless readings of one character; the character itself if unknown."""
    return table().get(ch) or (ch,)
