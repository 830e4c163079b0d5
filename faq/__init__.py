"""FAQ matching for the accountants' chat bot: a pure library (no web, no database)."""

from .engine import FaqEngine, MatchResult
from .kb import Topic
from .tokens import warm

__all__ = ["FaqEngine", "MatchResult", "Topic", "warm"]
