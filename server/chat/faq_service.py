"""The FAQ engine of this process: loaded once at start-up, reloaded when staff edit entries.

Building an engine (jieba dictionary, index) runs in an executor; matching is
sub-millisecond and runs inline. Engines are cached per process by the content of the
staff entries, so several app instances in one process (tests) share one build.
Rendered answers and the matches of short questions are cached per engine (settings are
read once; a reload starts with empty caches). Values that are not settings (the collection
period) are pushed in with `set_context`, which drops the rendered answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from fractions import Fraction

from faq import FaqEngine, MatchResult
from server.chat.faq_store import FaqStore
from server.chat.offices import OFFICE_PLACEHOLDERS, office_context
from server.districts import deployment_districts
from server.duties.standing import CONSECUTIVE, CUMULATIVE
from server.photos.messages import colours
from server.photos.service import spec_from_settings
from server.recovery.service import PER_ACCOUNT_DAY, PER_ID_NUMBER_DAY
from server.units.assessments_rules import LAPSE_YEARS
from settings import Settings

log = logging.getLogger("kjcj.chat.faq")
_CACHE: OrderedDict[str, FaqEngine] = OrderedDict()
_CACHE_SIZE = 3
MATCH_CACHE_SIZE = 4096  # per engine; dropped with it on reload
MATCH_CACHE_TEXT = 40  # only questions up to this many characters are remembered


def answer_context(settings: Settings) -> dict:
    """Placeholder values for FAQ answers: settings, the code's own limits and rules, and the city's
    office (`office_*`: the chat router puts the bound person's district in their place); others
    keep the engine's defaults. Every number an answer quotes is one of these
    (tests/faq/test_faq_truth.py)."""
    return {
        "hotline": settings.hotline,
        "photo_max_kb": settings.photo_max_kb,
        "photo_min_kb": settings.photo_min_kb,
        "photo_width_px": settings.photo_width_px,
        "photo_height_px": settings.photo_height_px,
        "photo_dpi": settings.photo_dpi,
        "photo_backgrounds": colours(spec_from_settings(settings).backgrounds),
        "file_max_kb": settings.upload_max_mb * 1024,
        "file_max_mb": settings.upload_max_mb,
        "ce_required_credits": settings.ce_required_credits,
        "ce_professional_share": share_words(settings.ce_professional_share),
        "ce_consecutive_years": CONSECUTIVE,
        "ce_cumulative_years": CUMULATIVE,
        "assessment_first_year": settings.assessment_first_year,
        "assessment_lapse_years": LAPSE_YEARS,
        "recovery_per_account_day": PER_ACCOUNT_DAY,
        "recovery_per_number_day": PER_ID_NUMBER_DAY,
        **office_context(deployment_districts(settings).city),
    }


_DIGITS = "零一二三四五六七八九十"


def share_words(share: str) -> str:
    """A share as people read it: "2/3" -> 三分之二, "0.6" -> 五分之三, else a percentage."""
    value = Fraction(share.strip()).limit_denominator(10)
    if abs(float(value) - float(Fraction(share.strip()))) < 1e-3 and 0 < value.numerator <= 10:
        return f"{_DIGITS[value.denominator]}分之{_DIGITS[value.numerator]}" if value.denominator > 1 else "全部"
    return f"{float(Fraction(share.strip())) * 100:.0f}%"


def build_engine(extra_topics: list[dict]) -> FaqEngine:
    """An engine for these staff entries, built once per process per content (thread-safe enough)."""
    fingerprint = hashlib.sha1(
        json.dumps(extra_topics, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()
    engine = _CACHE.get(fingerprint)
    if engine is None:
        engine = FaqEngine.load(extra_topics=extra_topics)
        _CACHE[fingerprint] = engine
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return engine


@dataclass
class Snapshot:
    """One loaded engine, the staff version it reflects, its rendered answers and recent matches."""

    engine: FaqEngine
    version: int
    context: dict
    answers: dict[str, str] = field(default_factory=dict)
    matches: dict[str, MatchResult] = field(default_factory=dict)

    def match(self, text: str) -> MatchResult:
        """The engine's match; short questions (which people repeat a lot) are remembered."""
        result = self.matches.get(text)
        if result is None:
            result = self.engine.match(text)
            if len(text) <= MATCH_CACHE_TEXT:
                if len(self.matches) >= MATCH_CACHE_SIZE:
                    del self.matches[next(iter(self.matches))]  # oldest first
                self.matches[text] = result
        return result

    def answer(self, topic_id: str, overrides: dict | None = None) -> str | None:
        """The rendered answer of an active topic, or None; `overrides` (one person's values, e.g.
        their district's office) are rendered afresh, never cached."""
        if overrides:
            if self.engine.topic(topic_id) is None:
                return None
            return self.engine.render_answer(topic_id, {**self.context, **overrides})
        text = self.answers.get(topic_id)
        if text is None:
            if self.engine.topic(topic_id) is None:
                return None
            text = self.answers[topic_id] = self.engine.render_answer(topic_id, self.context)
        return text


class FaqService:
    """Holds the process's engine; `start` loads it, `refresh`/`reload` follow staff edits."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(FaqStore)
        self.context = answer_context(services.settings)
        self.snapshot: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def start(self, background: bool) -> None:
        """Load the engine now (jieba warms up in an executor); poll for edits when background."""
        await self.reload()
        if background:
            self.services.spawn(self._watch, "faq-reload")

    @property
    def engine(self) -> FaqEngine:
        """The current engine (start() must have run)."""
        if self.snapshot is None:
            raise RuntimeError("FaqService.start() has not run")
        return self.snapshot.engine

    def match(self, text: str) -> MatchResult:
        """Match a question with the current engine (inline: sub-millisecond)."""
        if self.snapshot is None:
            raise RuntimeError("FaqService.start() has not run")
        return self.snapshot.match(text)

    def answer(self, topic_id: str, overrides: dict | None = None) -> str | None:
        """The rendered answer of an active topic, or None (`overrides`: one person's values)."""
        return self.snapshot.answer(topic_id, overrides) if self.snapshot else None

    def personal(self, topic_id: str) -> bool:
        """Whether a topic's answer names the managing office (so it depends on who asks)."""
        topic = self.engine.topic(topic_id) if self.snapshot else None
        return bool(topic and any("{" + name + "}" in topic.answer for name in OFFICE_PLACEHOLDERS))

    def set_context(self, name: str, value: str) -> None:
        """Set one answer placeholder at run time (a value that is not a setting, e.g. the campaign
        dates: `server/campaigns` pushes it from its cache); rendered answers are dropped when it
        changed (the matches stay: placeholders play no part in matching)."""
        if self.context.get(name) == value:
            return
        self.context[name] = value
        if self.snapshot is not None:
            self.snapshot.answers = {}

    def title(self, topic_id: str) -> str | None:
        """The title of an active topic, or None."""
        topic = self.engine.topic(topic_id)
        return topic.title if topic else None

    async def reload(self) -> None:
        """Rebuild from the database (version first, so a concurrent edit causes another reload)."""
        async with self._lock:
            version = await self.store.version()
            extras = await self.store.extra_topics()
            engine = await asyncio.get_running_loop().run_in_executor(None, build_engine, extras)
            self.snapshot = Snapshot(engine, version, self.context)
            log.info("FAQ engine loaded: version %d, %d topics", version, len(engine.topics()))

    async def refresh(self) -> bool:
        """Reload when the stored version moved; True when it did."""
        if self.snapshot is not None and await self.store.version() == self.snapshot.version:
            return False
        await self.reload()
        return True

    async def _watch(self) -> None:
        """Check the version every FAQ_RELOAD_SECONDS until cancelled."""
        every = max(self.services.settings.faq_reload_seconds, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("FAQ reload failed; keeping the loaded engine")
