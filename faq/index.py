"""BM25 index over class documents plus keyword-phrase hits on text and on pinyin."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from .tokens import FUNCTION_CHARS, Analysis, analyze, word_frequency

# A misspelling that is itself an everyday word (体现, 结果) is left alone.
COMMON_WORD_FREQ = 1000


@dataclass(frozen=True, slots=True)
class Weights:
    """Tunable ranking constants (field boosts, feature-type weights, BM25, phrase bonus)."""

    title: float = 2.0
    keyword: float = 3.0
    synonym: float = 2.0
    example: float = 1.0
    word: float = 1.0
    char: float = 0.6
    pinyin: float = 0.4
    k1: float = 1.2
    b: float = 0.5
    phrase: float = 1.0
    synonym_phrase: float = 0.7
    pinyin_phrase: float = 0.85
    phrase_decay: float = 0.5


@dataclass(frozen=True, slots=True)
class ClassDoc:
    """One rankable class: a topic or an out-of-scope class, as texts by field."""

    id: str
    title: str
    keywords: Sequence[str]
    synonyms: Sequence[str]
    examples: Sequence[str]
    out_of_scope: bool = False


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A keyword or synonym phrase owned by one class, with its precomputed weight."""

    cls: int
    text: str
    readings: tuple[frozenset[str], ...]
    first: tuple[str, ...]
    weight: float
    keyword: bool
    correctable: bool


# (weight, start, end, is_keyword) of one phrase found in a query
Hit = tuple[float, int, int, bool]


def _is_ascii_word_char(ch: str) -> bool:
    """ASCII letters: a Latin phrase such as 'ie' must not match inside 'field'."""
    return ch.isascii() and ch.isalpha()


def _idf(n_docs: int, df: int) -> float:
    """BM25 inverse document frequency (always positive)."""
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


class Index:
    """Precomputed postings so that a query costs a few dictionary look-ups per feature."""

    def __init__(self, docs: Sequence[ClassDoc], weights: Weights | None = None) -> None:
        """Analyse every class document once and build postings and phrase tables."""
        self.weights = w = weights or Weights()
        self.ids = [d.id for d in docs]
        n = len(docs)
        type_weight = {"w": w.word, "c": w.char, "p": w.pinyin}
        tfs: list[dict[str, float]] = []
        texts: list[str] = []
        analyses: dict[str, Analysis] = {}  # each distinct item once (phrases reuse them below)
        for d in docs:
            tf: dict[str, float] = defaultdict(float)
            fields = ((w.title, [d.title]), (w.keyword, d.keywords), (w.synonym, d.synonyms), (w.example, d.examples))
            joined: list[str] = []
            for boost, items in fields:
                for item in items:
                    a = analyses.get(item) or analyses.setdefault(item, analyze(item))
                    joined.append(a.text)
                    for f in a.features:
                        tf[f] += boost
            tfs.append(tf)
            texts.append(" | ".join(joined))
        df: dict[str, int] = defaultdict(int)
        for tf in tfs:
            for f in tf:
                df[f] += 1
        lengths = [sum(tf.values()) for tf in tfs]
        avg = sum(lengths) / max(n, 1)
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, tf in enumerate(tfs):
            norm = w.k1 * (1.0 - w.b + w.b * lengths[i] / avg) if avg else w.k1
            for f, t in tf.items():
                score = type_weight[f[0]] * _idf(n, df[f]) * t * (w.k1 + 1.0) / (t + norm)
                postings[f].append((i, score))
        self.postings = {f: tuple(p) for f, p in postings.items()}
        self._build_phrases(docs, texts, analyses)

    def _build_phrases(self, docs: Sequence[ClassDoc], texts: Sequence[str], analyses: dict[str, Analysis]) -> None:
        """Index keyword/synonym phrases by text and by the pinyin of their first two chars."""
        w = self.weights
        n = len(docs)
        self.by_text: dict[str, list[_Phrase]] = defaultdict(list)
        self.by_prefix: dict[str, list[_Phrase]] = defaultdict(list)
        self.by_pinyin: dict[str, list[_Phrase]] = defaultdict(list)
        for i, d in enumerate(docs):
            seen: set[str] = set()
            for boost, items, is_kw in ((w.phrase, d.keywords, True), (w.synonym_phrase, d.synonyms, False)):
                for item in items:
                    a = analyses[item]
                    text = a.text
                    if len(text) < 2 or text in seen:
                        continue
                    seen.add(text)
                    df = sum(1 for t in texts if text in t)
                    weight = boost * _idf(n, max(df, 1)) * min(len(text), 4) / 2.0
                    whole = len(a.runs) == 1 and len(a.runs[0]) == len(text)
                    runs = a.runs[0] if whole else ()
                    p = _Phrase(
                        i,
                        text,
                        tuple(frozenset(r) for r in runs),
                        tuple(r[0] for r in runs),
                        weight,
                        is_kw,
                        not d.out_of_scope,
                    )
                    self.by_text[text].append(p)
                    self.by_prefix[text[:2]].append(p)
                    if len(runs) >= 2:
                        for x in runs[0]:
                            for y in runs[1]:
                                self.by_pinyin[x + " " + y].append(p)

    def _phrase_hits(self, a: Analysis) -> dict[int, list[Hit]]:
        """Phrases found literally or by pinyin; one lying inside a longer hit is dropped."""
        found: dict[tuple[int, int, int, str], tuple[float, bool]] = {}
        text = a.text
        size = len(text)
        for start in range(size - 1):
            for p in self.by_prefix.get(text[start : start + 2], ()):
                end = start + len(p.text)
                if not text.startswith(p.text, start):
                    continue
                if _is_ascii_word_char(text[start]) and (
                    (start > 0 and _is_ascii_word_char(text[start - 1]))
                    or (end < size and _is_ascii_word_char(text[end]))
                ):
                    continue
                found[(start, end, p.cls, p.text)] = (p.weight, p.keyword)
        factor = self.weights.pinyin_phrase
        for offset, run in zip(a.run_starts, a.runs) if factor else ():
            size = len(run)
            for start in range(size - 1):
                for x in run[start]:
                    for y in run[start + 1]:
                        for p in self.by_pinyin.get(x + " " + y, ()):
                            length = len(p.readings)
                            s = offset + start
                            if start + length > size or text.startswith(p.text, s):
                                continue
                            key = (s, s + length, p.cls, p.text)
                            if key not in found and all(
                                not p.readings[k].isdisjoint(run[start + k]) for k in range(2, length)
                            ):
                                found[key] = (p.weight * factor, p.keyword)
        spans = {(s, e) for s, e, _, _ in found}
        inside = {(s, e) for s, e in spans if any(s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2 in spans)}
        best: dict[tuple[int, str], Hit] = {}
        for (s, e, cls, phrase), (weight, is_kw) in found.items():
            if (s, e) in inside:
                continue
            if weight > best.get((cls, phrase), (0.0,))[0]:
                best[(cls, phrase)] = (weight, s, e, is_kw)
        hits: dict[int, list[Hit]] = defaultdict(list)
        for (cls, _), hit in best.items():
            hits[cls].append(hit)
        for ws in hits.values():
            ws.sort(reverse=True)
        return hits

    def corrections(self, a: Analysis) -> list[tuple[int, int, str]]:
        """Whole words that sound exactly like a topic phrase but are misspelt (掉转 -> 调转)."""
        text = a.text
        candidates: list[tuple[int, int, str]] = []
        for offset, run in zip(a.run_starts, a.runs):
            size = len(run)
            for start in range(size - 1):
                for p in self.by_pinyin.get(run[start][0] + " " + run[start + 1][0], ()):
                    if p.first[:2] != (run[start][0], run[start + 1][0]):
                        continue
                    length = len(p.readings)
                    s, e = offset + start, offset + start + length
                    if not p.correctable or start + length > size or s not in a.bounds or e not in a.bounds:
                        continue
                    literal = text[s:e]
                    if (
                        literal == p.text
                        or literal in self.by_text
                        or not any(x == y for x, y in zip(literal, p.text))
                        or any(ch in FUNCTION_CHARS for ch in literal)
                        or word_frequency(literal) >= COMMON_WORD_FREQ
                    ):
                        continue
                    if all(run[start + k][0] == p.first[k] for k in range(length)):
                        candidates.append((s, e, p.text))
        chosen: list[tuple[int, int, str]] = []
        for s, e, repl in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
            if all(e <= s2 or s >= e2 for s2, e2, _ in chosen):
                chosen.append((s, e, repl))
        return sorted(chosen)

    def score(self, a: Analysis) -> tuple[list[float], set[int]]:
        """Raw score per class (BM25 plus phrase hits) and the classes whose keywords occur."""
        scores = [0.0] * len(self.ids)
        postings = self.postings
        for word in a.words:
            for i, s in postings.get(word, ()):
                scores[i] += s
        for group in a.groups:
            best: dict[int, float] = {}
            for f in group:
                for i, s in postings.get(f, ()):
                    if s > best.get(i, 0.0):
                        best[i] = s
            for i, s in best.items():
                scores[i] += s
        decay = self.weights.phrase_decay
        named: set[int] = set()
        for cls, hits in self._phrase_hits(a).items():
            factor = 1.0
            for weight, _, _, is_keyword in hits:
                scores[cls] += weight * factor
                factor *= decay
                if is_keyword:
                    named.add(cls)
        return scores, named

    def explain(self, a: Analysis, cls: int) -> dict[str, float]:
        """Per-feature contributions to one class's score (k: keyword, s: synonym phrase)."""
        out: dict[str, float] = {}
        for f in a.words:
            for i, s in self.postings.get(f, ()):
                if i == cls:
                    out[f] = round(s, 3)
        for group in a.groups:
            hits = [(s, f) for f in group for i, s in self.postings.get(f, ()) if i == cls]
            if hits:
                s, f = max(hits)
                out[f] = round(s, 3)
        for weight, s, e, is_kw in self._phrase_hits(a).get(cls, ()):
            out[("k:" if is_kw else "s:") + a.text[s:e]] = round(weight, 3)
        return out
