"""Finding an application within the caller's jurisdiction (anything else is NotFound)."""

from __future__ import annotations

from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.tables import COLLECTION
from server.records.names import is_rare
from server.staff.model import Staff

STATUS_LABELS = COLLECTION.states  # the first collection's states, as the record list and stats show them


def rare_name(doc: dict) -> bool:
    """Flagged as a rare-character name, or a name with characters outside GB 2312."""
    name = (doc.get("profile") or {}).get("name") or ""
    return bool(doc.get("rare_name")) or (bool(name) and is_rare(name))


async def visible_record(services, staff: Staff, record_id: str) -> dict:
    """The application if it exists and is in the caller's districts, else NotFound."""
    return dict(await services.get(Lifecycle).visible(Actor.reviewer(staff), record_id))
