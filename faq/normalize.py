"""Text normalisation: width, case, traditional to simplified, punctuation."""

from __future__ import annotations

import re
import threading
import unicodedata

import opencc

_converter: opencc.OpenCC | None = None
_lock = threading.Lock()
_SPACES = re.compile(r"\s+")
# Colloquial and dialect words people type on phones, as the knowledge base words them.
_COLLOQUIAL = {"咋整": "怎么办", "咋办": "怎么办", "咋": "怎么", "啥": "什么", "木有": "没有", "晓得": "知道"}
_COLLOQUIAL_RE = re.compile("|".join(sorted(_COLLOQUIAL, key=len, reverse=True)))


def _opencc() -> opencc.OpenCC:
    """Return the process-wide traditional-to-simplified converter."""
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                _converter = opencc.OpenCC("t2s")
    return _converter


def to_simplified(text: str) -> str:
    """Traditional Chinese to simplified, with the process-wide converter."""
    return _opencc().convert(text)


def _is_kept(ch: str) -> bool:
    """True for letters, digits and CJK characters; punctuation and symbols are dropped."""
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat == "Mn"


def normalize(text: str) -> str:
    """Full-width to half-width, lowercase, traditional to simplified, colloquial words, punctuation to spaces."""
    if not text:
        return ""
    # Lone surrogates (from broken JSON escapes) would make OpenCC's UTF-8 encoding fail.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFKC", text).lower()
    text = to_simplified(text)
    text = _COLLOQUIAL_RE.sub(lambda m: _COLLOQUIAL[m.group()], text)
    text = "".join(ch if _is_kept(ch) else " " for ch in text)
    return _SPACES.sub(" ", text).strip()


def is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph (basic block and extensions)."""
    cp = ord(ch)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x3134F or 0xF900 <= cp <= 0xFAFF
