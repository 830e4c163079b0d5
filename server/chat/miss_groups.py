"""Unanswered questions grouped by similarity, so that staff deal with a wording once.

`group_misses` is pure: it takes the rows of the misses' sorted list (server/chat/misses.py,
most frequent first) and returns the groups. Similarity is the Jaccard index of the FAQ
library's own features of the normalised question (faq/tokens.py `analyze`: jieba words
without stopwords, and char bigrams without function characters), minus the bigrams that are
themselves only a question frame (可以, 如何, 什么 ...: a bigram jieba reads as stopwords alone).

Clustering is "leader" clustering in list order: the most frequent miss leads its group and a
later miss joins the leader it is most similar to (at least `THRESHOLD`; ties go to the earlier
leader), else leads a new group. Comparing with leaders only (not every member, as single link
would) keeps groups from chaining across topics. The order and the tie-break make the result
deterministic, and a group's id is its leader's miss id: stable while the leader stays the most
frequent of its group. Candidate leaders are found through an inverted index of the leaders'
prefixes (rarest features first; two sets with Jaccard >= t share a feature within those
prefixes), so a miss is compared with a handful of leaders, not all of them.

Only the `MAX_MISSES` most frequent misses are grouped (read from the sorted list: no collection
scan); rarer ones are grouped once they are asked more, or once the frequent ones are dealt with.

Measured (bench/miss_groups.py, distinct wordings of the validation questions, after `faq.warm()`):
2,000 misses 190 ms the first time (features: ~75 us a question), 27 ms with the features cached
(the clustering alone); 20,000 misses 1.55 s (clustering alone 0.5 s). So it runs in an executor.
The threshold: on tests/faq/validation.jsonl, 7 of 330,287 pairs of questions about different
topics reach 0.4 (16 reach 0.35); rewordings of one question mostly score 0.4-0.7.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from faq.tokens import analyze
from server.chat.misses import MissLog
from server.errors import Conflict, NotFound

MAX_MISSES = 2000  # the most frequent misses grouped (a page of the sorted list, not a setting)
THRESHOLD = 0.4  # Jaccard similarity to a group's leader (see the module doc)
TOPICS_SHOWN = 3  # closest topics per group
_EPS = 1e-9


@lru_cache(maxsize=8192)
def _frame_only(bigram: str) -> bool:
    """True for a bigram that jieba reads as stopwords only (可以, 如何, 我们): no topic in it."""
    return not analyze(bigram, normalized=True).words


@lru_cache(maxsize=2 * MAX_MISSES)
def features(question: str) -> frozenset[str]:
    """The similarity features of a (normalised) question: words and content char bigrams."""
    found = analyze(question)
    bigrams = (group[0] for group in found.groups)
    return found.words | frozenset(b for b in bigrams if not _frame_only(b[2:]))


def _prefix(ordered: list[str], threshold: float) -> list[str]:
    """The prefix of a feature list (rarest first) that any set this similar must share a feature with."""
    return ordered[: len(ordered) - math.ceil(threshold * len(ordered) - _EPS) + 1]


def cluster(sets: Sequence[frozenset[str]], threshold: float = THRESHOLD) -> list[int]:
    """For each set in order, the index of its leader (itself when it leads a group)."""
    df = Counter(f for s in sets for f in s)
    leaders: list[int] = []
    index: dict[str, list[int]] = {}  # prefix feature -> leader indexes (in order)
    out: list[int] = []
    for i, feats in enumerate(sets):
        best, best_sim = -1, -1.0
        ordered = sorted(feats, key=lambda f: (df[f], f))  # rarest first
        if feats:
            seen: set[int] = set()
            for f in _prefix(ordered, threshold):
                for lead in index.get(f, ()):
                    if lead in seen:
                        continue
                    seen.add(lead)
                    other = sets[lead]
                    shared = len(feats & other)
                    sim = shared / (len(feats) + len(other) - shared)
                    if sim >= threshold - _EPS and (
                        sim > best_sim + _EPS or (abs(sim - best_sim) <= _EPS and lead < best)
                    ):
                        best, best_sim = lead, sim
        if best < 0:
            leaders.append(i)
            best = i
            for f in _prefix(ordered, threshold):
                index.setdefault(f, []).append(i)
        out.append(best)
    return out


def _millis(value) -> int:
    return int(value.timestamp() * 1000) if isinstance(value, dt.datetime) else 0


def _member(row: dict) -> dict:
    return {
        "id": row["id"],
        "question": row.get("question", ""),
        "sample": row.get("sample", ""),
        "count": int(row.get("count") or 0),
        "out_of_scope": bool(row.get("out_of_scope")),
        "first_at": row.get("first_at"),
        "last_at": row.get("last_at"),
    }


def _topics(members: list[dict], rows: list[dict]) -> list[dict]:
    """The closest topics of a group: offered to its members, weighted by asks and rank."""
    weight: dict[str, float] = {}
    asks: dict[str, int] = {}
    for member, row in zip(members, rows):
        for rank, topic_id in enumerate(row.get("candidates") or []):
            weight[topic_id] = weight.get(topic_id, 0.0) + member["count"] / (rank + 1)
            asks[topic_id] = asks.get(topic_id, 0) + member["count"]
    ranked = sorted(weight, key=lambda t: (-weight[t], t))[:TOPICS_SHOWN]
    return [{"id": t, "count": asks[t]} for t in ranked]


def group_misses(rows: Sequence[dict], threshold: float = THRESHOLD) -> list[dict]:
    """Groups of similar misses, most asked first. `rows` are the misses' list rows in list order
    (most frequent first); each group: id and question of its leader, members (list order),
    total count, first/last asked, closest topics, share of out-of-scope asks."""
    leads = cluster([features(r.get("question") or "") for r in rows], threshold)
    by_leader: dict[int, list[int]] = {}
    for i, lead in enumerate(leads):
        by_leader.setdefault(lead, []).append(i)
    groups = []
    for lead, idxs in by_leader.items():
        members = [_member(rows[i]) for i in idxs]
        total = sum(m["count"] for m in members)
        firsts = [m["first_at"] for m in members if isinstance(m["first_at"], dt.datetime)]
        lasts = [m["last_at"] for m in members if isinstance(m["last_at"], dt.datetime)]
        outside = sum(m["count"] for m in members if m["out_of_scope"])
        groups.append(
            {
                "id": rows[lead]["id"],
                "question": members[0]["question"],
                "sample": members[0]["sample"],
                "count": total,
                "size": len(members),
                "members": members,
                "topics": _topics(members, [rows[i] for i in idxs]),
                "out_of_scope_share": round(outside / total, 3) if total else 0.0,
                "first_at": min(firsts) if firsts else None,
                "last_at": max(lasts) if lasts else None,
            }
        )
    groups.sort(key=lambda g: (-g["count"], -_millis(g["last_at"]), g["id"]))
    return groups


class MissGroups:
    """The current groups of the most frequent misses, computed on each request in an executor
    (see the module doc for the cost), one grouping at a time per process: a burst of page loads
    queues instead of piling up threads. Over HTTP with 2,000 misses stored: ~100 ms a page
    (reading 2,000 list rows included), 0.85 s the very first time (features, first listing)."""

    def __init__(self, services):
        self.misses = services.get(MissLog)
        self._slot = asyncio.Semaphore(1)

    async def current(self) -> tuple[list[dict], int, int]:
        """(groups, misses grouped, misses in all)."""
        rows, total = await self.misses.list(MAX_MISSES, 0)
        async with self._slot:
            groups = await asyncio.get_running_loop().run_in_executor(None, group_misses, rows)
        return groups, len(rows), total

    async def find(self, group_id: str) -> dict:
        """The current group with this id; NotFound when its leader is gone (dealt with or
        deleted), Conflict when the leader is still there but no longer leads a group."""
        groups, _, _ = await self.current()
        for group in groups:
            if group["id"] == group_id:
                return group
        if await self.misses.exists(group_id):
            raise Conflict("这组问题已有变化（已并入其他组），请刷新后重试", "faq_miss_group_changed")
        raise NotFound("没有这组问题（可能已处理）", "faq_miss_group_not_found")
