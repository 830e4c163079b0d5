"""Shared jieba tokenizer with the domain dictionary, and query feature extraction."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import jieba

from . import pinyin
from .normalize import is_cjk, normalize

DATA_DIR = Path(__file__).resolve().parent / "data"
_tokenizer: jieba.Tokenizer | None = None
_stopwords: frozenset[str] = frozenset()
_lock = threading.Lock()


def _load_stopwords() -> frozenset[str]:
    """Read the stopword list (one word per line, '#' comments)."""
    lines = (DATA_DIR / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def tokenizer() -> jieba.Tokenizer:
    """Return the process-wide jieba tokenizer, loading dictionaries on first use."""
    global _tokenizer, _stopwords
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                tk.load_userdict(str(DATA_DIR / "userdict.txt"))
                _stopwords = _load_stopwords()
                _tokenizer = tk
    return _tokenizer


def word_frequency(word: str) -> int:
    """How often jieba's dictionary has seen a word (0 when unknown)."""
    return tokenizer().FREQ.get(word) or 0


def warm() -> None:
    """Eagerly load everything heavy (jieba dictionary, pinyin table, OpenCC) once."""
    tokenizer()
    pinyin.table()
    normalize("預熱")


# Characters that only carry grammar; a bigram containing one says nothing about the topic.
FUNCTION_CHARS = frozenset("的了吗呢吧啊呀嘛哦哈么怎哪啥咋是我你您他她它这那个些就都也还很呗啦喽哇")


@dataclass(frozen=True, slots=True)
class Analysis:
    """A normalised text and its features.

    words: "w:" features; groups: one tuple per char bigram, the "c:" feature followed by
    its "p:" pinyin alternatives (a bigram counts once, by its best-matching form);
    bounds: token boundary offsets; runs: per CJK run, the readings of each character.
    """

    text: str
    words: frozenset[str]
    groups: frozenset[tuple[str, ...]]
    bounds: frozenset[int]
    runs: tuple[tuple[tuple[str, ...], ...], ...]
    run_starts: tuple[int, ...]

    @property
    def features(self) -> set[str]:
        """Every word, char-bigram and pinyin-bigram feature of the text."""
        feats = set(self.words)
        for group in self.groups:
            feats.update(group)
        return feats


def _runs(text: str) -> list[tuple[int, str]]:
    """Split normalised text into maximal runs of CJK characters, with their offsets."""
    runs: list[tuple[int, str]] = []
    start = -1
    for i, ch in enumerate(text):
        if is_cjk(ch):
            if start < 0:
                start = i
        elif start >= 0:
            runs.append((start, text[start:i]))
            start = -1
    if start >= 0:
        runs.append((start, text[start:]))
    return runs


def analyze(raw: str, normalized: bool = False) -> Analysis:
    """Normalise a text and extract word, char-bigram and pinyin-bigram features."""
    text = raw if normalized else normalize(raw)
    words: set[str] = set()
    bounds: set[int] = set()
    for word, start, end in tokenizer().tokenize(text, HMM=False):
        bounds.update((start, end))
        if word.strip() and word not in _stopwords and not word.isdigit():
            words.add("w:" + word)
    groups: set[tuple[str, ...]] = set()
    runs: list[tuple[tuple[str, ...], ...]] = []
    starts: list[int] = []
    for offset, run in _runs(text):
        reads = tuple(pinyin.readings(ch) for ch in run)
        runs.append(reads)
        starts.append(offset)
        for i in range(len(run) - 1):
            a, b = run[i], run[i + 1]
            if a in FUNCTION_CHARS or b in FUNCTION_CHARS:
                continue
            alternatives = ("p:" + x + " " + y for x in reads[i] for y in reads[i + 1])
            groups.add(("c:" + a + b, *alternatives))
    return Analysis(text, frozenset(words), frozenset(groups), frozenset(bounds), tuple(runs), tuple(starts))
