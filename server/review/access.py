"""Finding an application within the caller's jurisdiction (anything else is NotFound)."""

from __future__ import annotations

from server.lifecycle.engine import Actor, Lifecycle, not_found
from server.lifecycle.tables import COLLECTION
from server.records.names import is_rare
from server.staff.model import Staff

STATUS_LABELS = COLLECTION.states  # the first collection's states, as the record list shows them
DECISIONS = {t.action: t.to for t in COLLECTION.table if t.actor == "reviewer"}  # approve -> approved ...


def status_label(status: str | None) -> str:
    """The Chinese label of a first collection's state (unknown ones as they are)."""
    return COLLECTION.state_label(status)


def rare_name(doc: dict) -> bool:
    """Flagged as a rare-character name, or a name with characters outside GB 2312."""
    name = (doc.get("profile") or {}).get("name") or ""
    return bool(doc.get("rare_name")) or (bool(name) and is_rare(name))


def record_not_found():
    """The one answer for a missing record and for one outside the caller's districts."""
    return not_found()


async def visible_record(services, staff: Staff, record_id: str, projection: dict | None = None) -> dict:
    """The application if it exists and is in the caller's districts, else NotFound."""
    return await services.get(Lifecycle).visible(Actor.reviewer(staff), record_id)
