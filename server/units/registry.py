"""The units of each district for staff: a sorted list per district (and city-wide "*") of the
units with a verified administrator, each shown with its administrators and the counts of its
people per answer (confirmed / denied / unanswered), every read by `_id`."""

from __future__ import annotations

import asyncio

from server.districts import district_name
from server.lifecycle.readmodel import ALL
from server.lists import SortedList, counts, merged_page
from server.review.queue import regions_of
from server.staff.model import Staff
from server.units.admins import UnitAdminService
from server.units.confirmations import UnitConfirmations
from server.units.store import Doc, UnitStore

MAX_PAGE_SIZE = 100


def units_list_name(region: str) -> str:
    """The units registered in a district ("*" = every district), by name."""
    return f"units|{region}"


class UnitRegistry:
    def __init__(self, services):
        self.services = services
        self.units = services.get(UnitStore)

    def list(self, region: str) -> SortedList:
        return SortedList(self.services.db, self.services.atomic, units_list_name(region))

    async def listed(self, unit: Doc) -> None:
        """Put a unit in its district's list and the city's (idempotent)."""
        key = f"{unit.get('name') or ''}|{unit['_id']}"
        row = {"uscc": unit["_id"], "name": unit.get("name") or "", "region_code": unit.get("region_code")}
        for region in dict.fromkeys([unit.get("region_code") or ALL, ALL]):
            await self.list(region).put(key, row)

    async def list_for_staff(self, staff: Staff, region: str | None, page: int, page_size: int) -> Doc:
        """A page of the units of the caller's districts (or one of them)."""
        page_size = min(page_size, MAX_PAGE_SIZE)
        lists = [self.list(r) for r in regions_of(self.services.settings, staff, region)]
        rows = await merged_page(lists, (page - 1) * page_size, page_size) if lists else []
        admins = self.services.get(UnitAdminService)
        confirmations = self.services.get(UnitConfirmations)

        async def item(uscc: str) -> Doc | None:
            unit = await self.units.unit(uscc)
            if unit is None:
                return None
            view, people = await asyncio.gather(admins.unit_view(unit), confirmations.counts(unit["_id"]))
            for admin in view["admins"]:
                admin.pop("is_me", None)
            region = district_name(self.services.settings, unit.get("region_code"))
            return {**view, "region_name": region, "people": people}

        found = await asyncio.gather(*[item(row["uscc"]) for _, row in rows])  # the units of the page at once
        items = [i for i in found if i is not None]
        return {"items": items, "page": page, "page_size": page_size, "total": sum(await counts(lists))}
