"""Continuing-education credits (继续教育学分): the `ce_credits` store and staff's manual entries.

`ce_credits` (`_id` archive number): {entries: [entry], updated_at}, one document per archive so
that a person's years are one `_id` read. An entry is {key, year, credits, type (professional |
general), source (import | claim | manual), provider, course, import_id?, claim_id?, by, at, note?}.
`key` makes writes idempotent: an import row's key is a digest of (year, type, provider, course),
so the same row imported again is not added twice; a claim's is "claim-<application id>"; a manual
entry's is random. Each archive's document is changed under its mutex (read, change, replace),
so concurrent writers of one archive never lose each other's entries, on MongoDB and FerretDB.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from faq.normalize import to_simplified
from server.db import utcnow
from server.duties import standing as rules
from server.lifecycle.store import Doc
from server.records.identifiers import archive_no_for
from server.review import audit
from server.staff.model import Staff

log = logging.getLogger("kjcj.duties")

CREDITS = "ce_credits"
SOURCES = {"import": "培训机构报送", "claim": "视同继续教育", "manual": "财政局录入"}
CREDITS_MAX = 200  # credits in one entry, at most
TEXT_MAX = 100
NOTE_MAX = 200
EARLIEST_YEAR = 2000
TYPE_WORDS = {
    "professional": rules.PROFESSIONAL,
    "专业": rules.PROFESSIONAL,
    "专业科目": rules.PROFESSIONAL,
    "专业课": rules.PROFESSIONAL,
    "general": rules.GENERAL,
    "公需": rules.GENERAL,
    "公需科目": rules.GENERAL,
    "公需课": rules.GENERAL,
}


def fold(text: Any) -> str:
    """Text compared loosely: NFKC, traditional -> simplified, no spaces, case folded."""
    if not isinstance(text, str):
        return ""
    return to_simplified("".join(unicodedata.normalize("NFKC", text).split())).casefold()


def credit_type(value: Any) -> str | None:
    """professional / general from a code or its Chinese word (traditional accepted), else None."""
    return TYPE_WORDS.get(fold(value)) if isinstance(value, str) else None


def parse_credits(value: Any) -> float | None:
    """Credits of one entry: a number > 0 and <= CREDITS_MAX with at most one decimal, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or value != value:
        return None
    if not 0 < value <= CREDITS_MAX or abs(round(value, 1) - value) > 1e-9:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 1)


def parse_year(value: Any, this_year: int) -> int | None:
    """A year from EARLIEST_YEAR to this year (ints, whole floats, "2025", "2025年"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip().removesuffix("年度").removesuffix("年").strip()
        value = int(text) if len(text) == 4 and text.isdigit() else None
    if isinstance(value, int) and EARLIEST_YEAR <= value <= this_year:
        return value
    return None


def number_of(id_number: Any) -> str | None:
    """The archive number an ID number names (as the record's rule makes it), or None."""
    if not isinstance(id_number, str) or not id_number.strip() or len(id_number) > 40:
        return None
    return archive_no_for(None, unicodedata.normalize("NFKC", id_number))


def row_key(year: int, ctype: str, provider: str, course: str) -> str:
    """The idempotency key of a provider's row for one archive."""
    raw = "\x1f".join([str(year), ctype, fold(provider), fold(course)])
    return "i-" + hashlib.sha256(raw.encode()).hexdigest()[:20]


def entry_view(e: Doc) -> Doc:
    """One entry as staff and the person see it."""
    return {
        "key": e.get("key"),
        "year": e.get("year"),
        "credits": e.get("credits"),
        "type": e.get("type"),
        "type_label": rules.TYPE_LABELS.get(e.get("type") or "", ""),
        "source": e.get("source"),
        "source_label": SOURCES.get(e.get("source") or "", ""),
        "provider": e.get("provider") or "",
        "course": e.get("course") or "",
        "note": e.get("note") or "",
        "import_id": str(e["import_id"]) if e.get("import_id") else None,
        "claim_id": str(e["claim_id"]) if e.get("claim_id") else None,
        "at": e.get("at"),
    }


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


class CreditStore:
    """Reads and writes of `ce_credits` (see module doc)."""

    def __init__(self, services):
        self.services = services
        self.collection = services.db[CREDITS]

    async def get(self, number: str) -> Doc | None:
        return await self.collection.find_one({"_id": number})

    async def entries(self, number: str) -> list[Doc]:
        return list(((await self.get(number)) or {}).get("entries") or [])

    async def change(self, number: str, fn: Callable[[list[Doc]], list[Doc] | None]) -> tuple[list[Doc], list[Doc]]:
        """Apply `fn` to an archive's entries under its mutex: (before, after). `fn` returns the new
        list, or None for no change (nothing is written)."""
        async with self.services.atomic.mutex(f"{CREDITS}:{number}", wait=15.0):
            doc = await self.get(number)
            before = list((doc or {}).get("entries") or [])
            after = fn(list(before))
            if after is None:
                return before, before
            if after:
                await self.collection.replace_one(
                    {"_id": number}, {"_id": number, "entries": after, "updated_at": utcnow()}, upsert=True
                )
            elif doc is not None:
                await self.collection.delete_one({"_id": number})
            return before, after

    async def add(self, number: str, new: Iterable[Doc]) -> int:
        """Add entries whose key the archive does not have yet; how many were added."""
        new = list(new)
        added = 0

        def fn(entries: list[Doc]) -> list[Doc] | None:
            nonlocal added
            have = {e.get("key") for e in entries}
            fresh = [e for e in new if e["key"] not in have]
            added = len(fresh)
            return entries + fresh if fresh else None

        await self.change(number, fn)
        return added

    async def remove(self, number: str, test: Callable[[Doc], bool]) -> int:
        """Remove the entries for which `test` is true; how many were removed."""
        removed = 0

        def fn(entries: list[Doc]) -> list[Doc] | None:
            nonlocal removed
            kept = [e for e in entries if not test(e)]
            removed = len(entries) - len(kept)
            return kept if removed else None

        await self.change(number, fn)
        return removed


class CreditAudit:
    """Staff acts on credits, in the audit log (kind `ce_credits`, listed per district)."""

    def __init__(self, services):
        self.services = services

    async def write(self, staff: Staff, action: str, archive: Doc | None, detail: Doc) -> None:
        now = utcnow()
        profile = ((archive or {}).get("data") or {}).get("profile") or {}
        number = (archive or {}).get("_id") or ""
        entry: Doc = {
            "_id": f"ce-{now.strftime('%Y%m%d%H%M%S%f')}-{secrets.token_hex(3)}",
            "record_id": str((archive or {}).get("record_id") or ""),
            "kind": "ce_credits",
            "region_code": (archive or {}).get("region_code"),
            "to_region": None,
            "name": profile.get("name") or "",
            "archive_no_tail": number[-4:],
            "actor": staff.username,
            "actor_role": staff.role,
            "at": now,
            "action": action,
            "reason": detail.get("summary") or "",
            "reason_codes": [],
            "before": {},
            "after": {k: v for k, v in detail.items() if k != "summary"},
            "notice_id": None,
        }
        await audit.append(self.services, entry)
