"""Read models: the slim rows of every staff list, kept in sorted lists (server/lists.py).

Each application is listed under its kind, state and district, and under "*" for "every
state" and "every district", so each filter of the queues is one list whose page costs a
few `_id` reads on any database. First collections are also listed under each character
of the name, per district: a name search reads the shortest of its characters' lists. A submitted or approved
first collection naming an employer (its unified social credit code) is also listed for that unit,
under every answer and its current one (`unit|<code>|*`, `unit|<code>|<state>`: server/units/answers.py). The lists an application is in are remembered on it (`listed`), so a sync
removes exactly the entries it no longer belongs to. A sync runs under a per-application
mutex from the application as it is now, so it is idempotent and order does not matter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import unicodedata
from typing import Any

from server.lifecycle.store import Doc, LifecycleStore
from server.lists import SortedList
from server.masking import mask_id_number, mask_mobile
from server.records.names import is_rare
from server.units import answers

ALL = "*"


def stamp(value: Any) -> str:
    """A sortable UTC timestamp ("0" for none: it sorts before every year, so those come first)."""
    if not isinstance(value, dt.datetime):
        return "0"
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def queue_name(kind: str, status: str, region: str) -> str:
    """The list of one kind, state ("*" = any) and district ("*" = any)."""
    return f"apps|{kind}|{status}|{region}"


def chars_name(region: str, char: str) -> str:
    """The first collections of a district whose name has this character (substring search)."""
    return f"chars|{region}|{char}"


def audit_name(region: str) -> str:
    """The audit entries of a district ("*" = every district), ordered by time."""
    return f"audit|{region}"


# kinds whose rows show the archive they act on (a transfer in carries the person's fields itself)
ON_ARCHIVE = frozenset({"change", "transfer_within", "transfer_out", "recovery"})


def person(app: Doc, archive: Doc | None) -> Doc:
    """The person's current fields: the archive's when there is one, else the application's."""
    if archive and archive.get("data"):
        return archive["data"]
    if app.get("kind") in ON_ARCHIVE:
        return {}
    return app


def shows_archive(app: Doc) -> bool:
    """True when an application's rows show its archive's fields: a change or a transfer of an
    archive, or an approved first collection (before its approval a first collection shows its own)."""
    return app.get("kind") in ON_ARCHIVE or app.get("status") == "approved"


def row(app: Doc, archive: Doc | None = None) -> Doc:
    """The list row of an application (ID number and mobile masked)."""
    data = person(app, archive)
    profile = data.get("profile") or {}
    payload = app.get("payload") or {}
    name = profile.get("name") or payload.get("applicant_name") or ""  # a unit administrator's own name
    unit = answers.employer(data) if (app.get("kind") or "collection") == "collection" else None
    return {
        "id": str(app["_id"]),
        "kind": app.get("kind") or "collection",
        "name": name,
        "rare_name": bool(app.get("rare_name")) or (bool(name) and is_rare(name)),
        "id_number": mask_id_number(profile.get("id_number")),
        "mobile": mask_mobile((data.get("contact") or {}).get("mobile")),
        "unit_name": (data.get("employment") or {}).get("unit_name") or payload.get("unit_name") or "",
        "unit_credit_code": unit[0] if unit else payload.get("uscc"),  # a unit administrator's unit
        "unit_confirmation": answers.state_for(app, unit[0] if unit else None),
        "region_code": app.get("region_code"),
        "to_region": app.get("to_region"),
        "status": app.get("status"),
        "version": app.get("version"),
        "archive_no_tail": (app.get("archive_no") or "")[-4:],
        "submitted_at": app.get("submitted_at"),
        "decided_at": app.get("decided_at"),
    }


def wanted(app: Doc, archive: Doc | None) -> dict[str, str]:
    """{list name: key} of every list the application belongs in now."""
    region = app.get("region_code")
    if not region:
        return {}
    kind, status = app.get("kind") or "collection", app.get("status") or ""
    key = f"{stamp(app.get('submitted_at'))}|{app['_id']}"
    regions = {region, app.get("to_region") or region, ALL}  # a transfer is in both districts' queues
    out = {queue_name(kind, s, r): key for s in (status, ALL) for r in regions}
    name = (person(app, archive).get("profile") or {}).get("name")
    unit = answers.employer(person(app, archive)) if kind == "collection" else None
    if unit and status in answers.LISTED_STATUSES and not (archive or {}).get("transferred_out"):
        # the people of a unit (报备确认): every answer state, and the current one
        state = answers.state_for(app, unit[0]) or "pending"
        out[answers.list_name(unit[0])] = key
        out[answers.list_name(unit[0], state)] = key
    if kind == "collection" and name:
        for char in set(unicodedata.normalize("NFC", name).casefold()) - {" "}:
            out[chars_name(region, char)] = key
    return out


class ReadModels:
    """Keeps an application's list entries in step with the application."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(LifecycleStore)

    def list(self, name: str) -> SortedList:
        """One sorted list by name."""
        return SortedList(self.services.db, self.services.atomic, name)

    async def sync(self, app_id: Any) -> None:
        """Put the application in the lists it belongs in now and out of the others."""
        async with self.services.atomic.mutex(f"lists:{app_id}", wait=15.0):
            app = await self.store.application(app_id)
            if app is None:
                return
            archive = await self.store.archive(app.get("archive_no")) if shows_archive(app) else None
            want = wanted(app, archive)
            have: dict[str, str] = app.get("listed") or {}
            the_row = row(app, archive)
            puts: dict[str, list[tuple[str, dict]]] = {name: [(key, the_row)] for name, key in want.items()}
            removes: dict[str, list[str]] = {}
            for name, key in have.items():
                if want.get(name) != key:
                    removes.setdefault(name, []).append(key)
            # one locked change per list, the lists at once (each list has its own mutex)
            await asyncio.gather(
                *[
                    self.list(name).apply(puts.get(name, []), removes.get(name, []))
                    for name in puts.keys() | removes.keys()
                ]
            )
            if want != have:
                await self.services.atomic.update(
                    self.store.applications, {"_id": app["_id"]}, {"$set": {"listed": want}}
                )
