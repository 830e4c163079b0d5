"""The deployment's districts (settings.districts_file), loaded once per file and shared by every service."""

from __future__ import annotations

from functools import lru_cache

from server.records.districts import Districts, load_districts
from settings import Settings


@lru_cache(maxsize=8)
def _load(path: str) -> Districts:
    return load_districts(path)


def deployment_districts(settings: Settings) -> Districts:
    """The city and its districts served by this deployment."""
    return _load(settings.districts_file)


def district_name(settings: Settings, code: str | None) -> str:
    """The Chinese name of a district code ("" when unknown or None)."""
    entry = deployment_districts(settings).get(code) if code else None
    return entry["name"] if entry else ""
