"""The units' collections and their `_id` reads.

- `units` (`_id` unified social credit code): {name, region_code (the district where the unit
  is registered: it verifies the unit's administrators), admins: [{application_id, openid, name,
  mobile, since}] (the verified administrators now), created_at, updated_at}. Written only by
  the unit-administrator steps' effects (server/units/effects.py); an entry here is a hint,
  the administrator's application (status "verified") is the truth checked on every request.
- `unit_confirmations` (`_id` the first collection's id as a string): the current unit's answer
  about that person, see server/units/confirmations.py.
"""

from __future__ import annotations

from typing import Any

UNITS = "units"
CONFIRMATIONS = "unit_confirmations"

Doc = dict[str, Any]


class UnitStore:
    """The `units` and `unit_confirmations` collections."""

    def __init__(self, services):
        self.services = services
        self.units = services.db[UNITS]
        self.confirmations = services.db[CONFIRMATIONS]

    async def unit(self, uscc: str | None) -> Doc | None:
        """A unit by its credit code."""
        return await self.units.find_one({"_id": uscc}) if uscc else None

    async def confirmation(self, record_id: Any) -> Doc | None:
        """The unit answer stored for a person (their first collection's id)."""
        return await self.confirmations.find_one({"_id": str(record_id)}) if record_id else None
