"""A unit's answer about a person (报备确认), as pure functions of the documents.

The first collection (and its archive, once there is one) carries the current answer as
`unit_confirmation: {id, uscc, unit_name, state: "confirmed" | "denied", reason, at, by}`; it
counts only while the person still names that unit as employer: a person who changes employer
is unanswered ("pending") for the new unit. The person's employer is the archive's once there is
one, else the collection's own `employment.unit_credit_code` (a derived field: the current work
period's unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATES = {"pending": "待单位确认", "confirmed": "单位已确认", "denied": "单位未确认"}
ANSWERS = ("confirmed", "denied")
# first collections a unit sees: pending review, or the archive they became
LISTED_STATUSES = ("submitted", "approved")

Doc = Mapping[str, Any]


def employer(data: Doc | None) -> tuple[str, str] | None:
    """(credit code, unit name) of the employer a record's fields name, or None."""
    emp = (data or {}).get("employment") or {}
    code = emp.get("unit_credit_code")
    if not isinstance(code, str) or not code:
        return None
    return code, emp.get("unit_name") or ""


def answer_for(holder: Doc | None, uscc: str | None) -> Doc | None:
    """The stored answer when it is the given unit's, else None."""
    answer = (holder or {}).get("unit_confirmation")
    if not isinstance(answer, Mapping) or not uscc or answer.get("uscc") != uscc:
        return None
    return answer


def state_for(holder: Doc | None, uscc: str | None) -> str | None:
    """ "confirmed", "denied" or "pending" for the unit; None when there is no unit to answer."""
    if not uscc:
        return None
    answer = answer_for(holder, uscc)
    return str(answer["state"]) if answer and answer.get("state") in ANSWERS else "pending"


def list_name(uscc: str, state: str = "*") -> str:
    """The sorted list of the people naming a unit as employer ("*" = any answer)."""
    return f"unit|{uscc}|{state}"


def answer_view(holder: Doc | None, uscc: str | None, unit_name: str = "") -> dict | None:
    """The unit confirmation as the person and staff read it (None when there is no employer code)."""
    state = state_for(holder, uscc)
    if state is None:
        return None
    answer = answer_for(holder, uscc) or {}
    return {
        "uscc": uscc,
        "unit_name": answer.get("unit_name") or unit_name,
        "state": state,
        "state_label": STATES[state],
        "reason": answer.get("reason") or "" if state == "denied" else "",
        "at": answer.get("at"),
    }


def person_view(record: Doc, archive: Doc | None) -> dict | None:
    """The unit confirmation shown to the person with their record or archive (None before submission
    or without an employer code)."""
    if record.get("status") not in LISTED_STATUSES:
        return None
    unit = employer((archive or {}).get("data") if archive else record)
    return answer_view(record, unit[0], unit[1]) if unit else None
