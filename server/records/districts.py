"""Districts (GB/T 2260 codes) served by one deployment, loaded from a JSON file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CODE_RE = re.compile(r"^\d{6}$")
DISTRICT_KEYS = ("code", "name", "office", "phone", "address")


class DistrictsConfigError(ValueError):
    """The districts config file is malformed."""


@dataclass(frozen=True)
class Districts:
    """The deployment's city and its districts, in config order."""

    city: dict[str, Any]
    districts: tuple[dict[str, str], ...] = field(default_factory=tuple)

    @property
    def codes(self) -> frozenset[str]:
        """Set of the 6-digit district codes."""
        return frozenset(d["code"] for d in self.districts)

    def get(self, code: str) -> dict[str, str] | None:
        """The district entry with this code, or None."""
        for d in self.districts:
            if d["code"] == code:
                return d
        return None

    def options(self) -> list[dict[str, str]]:
        """Districts as `{"code", "label"}` options (label = district name)."""
        return [{"code": d["code"], "label": d["name"]} for d in self.districts]


# What validate_patch accepts as the set of served districts.
DistrictsLike = Districts | Iterable[str] | Iterable[Mapping[str, Any]]


def parse_districts(data: Any) -> Districts:
    """Build Districts from already-decoded JSON, raising DistrictsConfigError."""
    if not isinstance(data, dict) or not isinstance(data.get("city"), dict):
        raise DistrictsConfigError("districts config must be an object with a 'city' object")
    items = data.get("districts")
    if not isinstance(items, list) or not items:
        raise DistrictsConfigError("'districts' must be a non-empty list")
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise DistrictsConfigError(f"districts[{i}] must be an object")
        for key in DISTRICT_KEYS:
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise DistrictsConfigError(f"districts[{i}].{key} must be a non-empty string")
        code = item["code"]
        if not _CODE_RE.match(code):
            raise DistrictsConfigError(f"districts[{i}].code must be 6 digits: {code!r}")
        if code in seen:
            raise DistrictsConfigError(f"duplicate district code {code}")
        seen.add(code)
        out.append({k: item[k] for k in DISTRICT_KEYS})
    return Districts(city=dict(data["city"]), districts=tuple(out))


def load_districts(path: str | Path) -> Districts:
    """Load and check the districts config at `path` (e.g. config/districts.json)."""
    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise DistrictsConfigError(f"{path}: invalid JSON: {exc}") from exc
    return parse_districts(data)


def district_codes(districts: DistrictsLike | None) -> frozenset[str] | None:
    """Normalise any accepted districts argument to a set of codes (None = unchecked)."""
    if districts is None:
        return None
    if isinstance(districts, Districts):
        return districts.codes
    if isinstance(districts, Mapping):
        if "districts" in districts:
            return parse_districts(districts).codes
        return frozenset(str(k) for k in districts)
    codes: set[str] = set()
    for d in districts:
        codes.add(str(d["code"]) if isinstance(d, Mapping) else str(d))
    return frozenset(codes)
