"""Bearer and cookie tokens are stored only as their SHA-256 (mini-program and staff sessions)."""

from __future__ import annotations

import hashlib


def digest(token: str) -> str:
    """The stored form of a token: hex sha256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
