"""FaqEngine: load the knowledge base, match questions, render answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import kb
from .index import ClassDoc, Index, Weights
from .kb import KnowledgeBase, Topic
from .normalize import is_cjk
from .tokens import Analysis, analyze, warm

# Raw score the best topic needs before it is claimed. Calibrated on dev.jsonl plus
# separately written validation questions: single-keyword questions score about 9-11,
# look-alike out-of-scope questions that no out-of-scope class catches stay below 8.
DEFAULT_THRESHOLD = 8.0
# An out-of-scope class scoring above this share of the best topic's score vetoes it...
OUT_OF_SCOPE_VETO = 0.9
# ...unless the question names one of the topic's keywords: then the bar is this high.
OUT_OF_SCOPE_VETO_NAMED = 1.2
# Long messages tell a story first and ask last: the last clause counts this much extra.
LAST_CLAUSE_WEIGHT = 0.5
# Longer messages are cut to this many characters (keeps matching time bounded).
MAX_CHARS = 400
# Prefix that marks out-of-scope classes in raw_scores() and explain().
OUT_OF_SCOPE_PREFIX = "~"


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Outcome of matching one question: the claimed topic (or None) and the closest ones.

    score is the best topic's confidence in [0, 1); 0.5 is exactly the threshold.
    candidates are the three closest topics with their confidences, even when topic is None.
    out_of_scope is True when an out-of-scope class (tax, exams, chit-chat...) beats every topic.
    """

    topic: str | None
    score: float
    candidates: list[tuple[str, float]] = field(default_factory=list)
    out_of_scope: bool = False


class FaqEngine:
    """Matches questions to FAQ topics; cheap to rebuild after staff edits."""

    def __init__(
        self, base: KnowledgeBase, threshold: float = DEFAULT_THRESHOLD, weights: Weights | None = None
    ) -> None:
        """Build the index for a loaded knowledge base (jieba loads once per process)."""
        warm()
        self.kb = base
        self.threshold = threshold
        self.veto = OUT_OF_SCOPE_VETO
        self.veto_named = OUT_OF_SCOPE_VETO_NAMED
        docs = [ClassDoc(t.id, t.title, t.keywords, t.synonyms, t.examples) for t in base.topics.values()]
        self._n_topics = len(docs)
        docs += [
            ClassDoc(OUT_OF_SCOPE_PREFIX + o.id, "", o.keywords, (), o.examples, out_of_scope=True)
            for o in base.out_of_scope
        ]
        self.index = Index(docs, weights)

    @classmethod
    def load(
        cls, extra_topics: Iterable[Mapping[str, Any]] | None = None, threshold: float = DEFAULT_THRESHOLD
    ) -> FaqEngine:
        """Built-in topics plus staff topics (same id overrides, "disabled": True removes)."""
        return cls(kb.load(extra_topics), threshold)

    def _confidence(self, raw: float) -> float:
        """Map a raw score to [0, 1): 0.5 is exactly the threshold."""
        raw = max(raw, 0.0)
        return round(raw / (raw + self.threshold), 4) if self.threshold > 0 else 1.0

    def match(self, text: str) -> MatchResult:
        """Best topic for a question, or topic None when not confident."""
        if not isinstance(text, str) or not text.strip():
            return MatchResult(None, 0.0, [])
        scores, named = self._scores(self._analyze(text))
        n = self._n_topics
        out_of_scope = max(scores[n:], default=0.0)
        if not n:
            return MatchResult(None, 0.0, [], out_of_scope > 0.0)
        ranked = sorted(range(n), key=lambda i: scores[i], reverse=True)
        ids = self.index.ids
        candidates = [(ids[i], self._confidence(scores[i])) for i in ranked[:3] if scores[i] > 0]
        best = ranked[0]
        top = scores[best]
        veto = self.veto_named if best in named else self.veto
        confident = top >= self.threshold and out_of_scope <= top * veto
        return MatchResult(ids[best] if confident else None, self._confidence(top), candidates, out_of_scope > top)

    def _analyze(self, text: str) -> Analysis:
        """Analyse a message, replacing homophone typos of knowledge-base phrases (掉转 -> 调转)."""
        a = analyze(text[:MAX_CHARS])
        fixes = self.index.corrections(a)
        if not fixes:
            return a
        parts: list[str] = []
        last = 0
        for start, end, replacement in fixes:
            parts += [a.text[last:start], replacement]
            last = end
        parts.append(a.text[last:])
        return analyze("".join(parts), normalized=True)

    def _scores(self, a: Analysis) -> tuple[list[float], set[int]]:
        """Raw class scores (message plus last-clause bonus) and the classes it names."""
        scores, named = self.index.score(a)
        clauses = [c for c in a.text.split(" ") if any(is_cjk(ch) for ch in c)]
        if len(clauses) >= 2 and LAST_CLAUSE_WEIGHT:
            tail, _ = self.index.score(analyze(clauses[-1], normalized=True))
            scores = [s + LAST_CLAUSE_WEIGHT * t for s, t in zip(scores, tail)]
        return scores, named

    def raw_scores(self, text: str) -> dict[str, float]:
        """Raw score of every class (topics, and out-of-scope classes prefixed with '~')."""
        return dict(zip(self.index.ids, self._scores(self._analyze(text))[0]))

    def explain(self, text: str, top: int = 3) -> dict[str, Any]:
        """What the engine saw and why the closest classes scored as they did (for staff)."""
        a = self._analyze(text)
        scores, _ = self._scores(a)
        order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)[:top]
        return {
            "normalized": a.text,
            "words": sorted(w[2:] for w in a.words),
            "threshold": self.threshold,
            "classes": [
                {"id": self.index.ids[i], "raw": round(scores[i], 3), "features": self.index.explain(a, i)}
                for i in order
            ],
        }

    def topic(self, topic_id: str) -> Topic | None:
        """A topic by id, or None."""
        return self.kb.topics.get(topic_id)

    def topics(self) -> list[Topic]:
        """All active topics in knowledge-base order."""
        return list(self.kb.topics.values())

    def render_answer(self, topic_id: str, context: Mapping[str, Any] | None = None) -> str:
        """The topic's answer with {placeholders} filled from context (missing ones never fail)."""
        t = self.kb.topics.get(topic_id)
        if t is None:
            return ""
        return kb.render(t.answer, context, self.kb.defaults)
