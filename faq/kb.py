"""Knowledge base: topics, out-of-scope classes, merging staff edits, rendering answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.S)


@dataclass(frozen=True, slots=True)
class Topic:
    """One FAQ topic: a stable id, a title, an answer template and matching vocabulary."""

    id: str
    title: str
    answer: str
    keywords: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutOfScope:
    """A class of questions the bot must not claim (chit-chat, tax, exams, ...)."""

    id: str
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(slots=True)
class KnowledgeBase:
    """Topics (built-in plus staff edits), out-of-scope classes and placeholder defaults."""

    topics: dict[str, Topic]
    out_of_scope: list[OutOfScope]
    defaults: dict[str, str] = field(default_factory=dict)


def _strings(value: Any) -> tuple[str, ...]:
    """Coerce a JSON value into a tuple of non-empty strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        return ()
    return tuple(s.strip() for s in value if isinstance(s, str) and s.strip())


def topic_from_dict(data: Mapping[str, Any], base: Topic | None = None) -> Topic:
    """Build a topic from a dict; fields missing from the dict keep the base topic's values."""

    def pick(name: str) -> Any:
        if name in data and data[name] is not None:
            return data[name]
        return getattr(base, name) if base is not None else None

    topic_id = str(data.get("id") or (base.id if base else "")).strip()
    if not topic_id:
        raise ValueError("topic without id")
    return Topic(
        id=topic_id,
        title=str(pick("title") or topic_id),
        answer=str(pick("answer") or ""),
        keywords=_strings(pick("keywords")),
        synonyms=_strings(pick("synonyms")),
        examples=_strings(pick("examples")),
    )


def _read_json(name: str) -> Any:
    """Read one JSON file from the data directory."""
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def builtin_topics() -> dict[str, Topic]:
    """The 20 built-in topics, in file order."""
    return {t.id: t for t in (topic_from_dict(d) for d in _read_json("topics.json"))}


def out_of_scope_classes() -> list[OutOfScope]:
    """The built-in out-of-scope classes used to reject look-alike questions."""
    return [
        OutOfScope(id=str(d["id"]), keywords=_strings(d.get("keywords")), examples=_strings(d.get("examples")))
        for d in _read_json("out_of_scope.json")
    ]


def placeholder_defaults() -> dict[str, str]:
    """Fallback values for answer placeholders that settings did not provide."""
    return {str(k): str(v) for k, v in _read_json("placeholders.json").items()}


def merge_topics(builtins: Mapping[str, Topic], extra: Iterable[Mapping[str, Any]] | None) -> dict[str, Topic]:
    """Apply staff topics: same id overrides (field by field), disabled removes, new ids add."""
    topics = dict(builtins)
    for data in extra or ():
        if not isinstance(data, Mapping):
            continue
        topic_id = str(data.get("id") or "").strip()
        if not topic_id:
            continue
        if data.get("disabled"):
            topics.pop(topic_id, None)
            continue
        topics[topic_id] = topic_from_dict(data, topics.get(topic_id))
    return topics


def load(extra: Iterable[Mapping[str, Any]] | None = None) -> KnowledgeBase:
    """Load built-in data files and merge staff topics."""
    return KnowledgeBase(
        topics=merge_topics(builtin_topics(), extra),
        out_of_scope=out_of_scope_classes(),
        defaults=placeholder_defaults(),
    )


def render(template: str, context: Mapping[str, Any] | None, defaults: Mapping[str, str]) -> str:
    """Fill {name} placeholders; a [[...]] segment is dropped when one of its values is missing."""
    values: dict[str, str] = {}
    for key, value in (context or {}).items():
        if value is not None and str(value).strip():
            values[str(key)] = str(value).strip()

    def optional(m: re.Match[str]) -> str:
        names = _PLACEHOLDER.findall(m.group(1))
        if any(n not in values for n in names):
            return ""
        return _PLACEHOLDER.sub(lambda p: values[p.group(1)], m.group(1))

    text = _OPTIONAL.sub(optional, template)
    return _PLACEHOLDER.sub(lambda p: values.get(p.group(1), defaults.get(p.group(1), "")), text)
