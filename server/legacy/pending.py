"""Staff see, per district, the register people who have not collected yet (masked, paged).

The list is computed the way the public lists are (`PublicQuery.not_collected`,
server/publicquery.py): a job reads the district's register rows in batches, checks each
person's archive by `_id`, and appends the masked rows in phone-book order to a new sorted list
(server/lists.py), whose pages cost a few `_id` reads on FerretDB. Unlike a publication it is
only for staff and is recomputed by itself after every confirmed import that touched the
district (and when staff ask: `refresh`); it is a snapshot, `computed_at` says of when.

`legacy_pending`, `_id` = district code: `{region_code, state: "building" | "ready" | "failed",
gen, list (the served list, None before the first build), building_list, total (people not
collected), scanned (register people of the district), requested_by, requested_at,
computed_at, error}`. A new build replaces `gen`; the older job stops at its next batch.
"""

from __future__ import annotations

import logging
import secrets

from server.db import utcnow
from server.districts import deployment_districts, district_name
from server.errors import Forbidden, Invalid, NotFound
from server.lists import SortedList, build_and_swap, start_build
from server.publicquery import PublicQuery
from server.staff import Staff

log = logging.getLogger("kjcj.legacy")

PENDING = "legacy_pending"
BUILDING, READY, FAILED = "building", "ready", "failed"


def list_name(region: str, gen: str) -> str:
    return f"legacy-not-collected:{region}:{gen}"


class LegacyPending:
    """Counts and pages of the register people not yet collected, per district."""

    def __init__(self, services):
        self.services = services
        self.db = services.db
        self.docs = services.db[PENDING]
        self.districts = deployment_districts(services.settings)

    def _region(self, staff: Staff, region: object) -> str:
        if not isinstance(region, str) or region not in self.districts.codes:
            raise Invalid([{"field": "region_code", "code": "unknown_region", "message": "请选择本市的区"}])
        if not staff.can_see(region):
            raise Forbidden("只能查看本人所辖区的名单", "region_forbidden")
        return region

    def view(self, region: str, doc: dict | None) -> dict:
        doc = doc or {}
        return {
            "region_code": region,
            "region_name": district_name(self.services.settings, region),
            "state": doc.get("state"),
            "ready": bool(doc.get("list")),
            "not_collected": int(doc.get("total") or 0),
            "register_people": int(doc.get("scanned") or 0) if doc.get("list") else 0,
            "scanned": int(doc.get("scanned") or 0),
            "computed_at": doc.get("computed_at"),
            "requested_at": doc.get("requested_at"),
            "error": doc.get("error"),
        }

    async def overview(self, staff: Staff) -> list[dict]:
        """One line per district of the caller (`_id` reads: one document per district)."""
        out = []
        for region in staff.regions:
            out.append(self.view(region, await self.docs.find_one({"_id": region})))
        return out

    async def page(self, staff: Staff, region: object, page: int, page_size: int) -> dict:
        """A page of a district's list (NotFound before its first build)."""
        code = self._region(staff, region)
        doc = await self.docs.find_one({"_id": code})
        if doc is None or not doc.get("list"):
            raise NotFound("该区的名单尚未生成", "pending_list_not_ready")
        entries = await SortedList(self.db, self.services.atomic, doc["list"]).page((page - 1) * page_size, page_size)
        total = int(doc.get("total") or 0)
        return {
            **self.view(code, doc),
            "page": page,
            "page_size": page_size,
            "pages": -(-total // page_size),
            "items": [row for _, row in entries],
        }

    async def refresh(self, staff: Staff, region: object) -> dict:
        """Recompute a district's list now (answers at once; the job runs in the background)."""
        code = self._region(staff, region)
        return self.view(code, await self._start(code, staff.username))

    def refresh_later(self, regions: list[str], username: str) -> None:
        """Recompute these districts' lists (after an import changed their register rows)."""
        for region in regions:
            if region in self.districts.codes:
                self.services.spawn(lambda r=region: self._start(r, username), f"legacy-pending-{region}")

    async def _start(self, region: str, username: str) -> dict:
        gen = secrets.token_hex(8)
        doc = await start_build(
            self.services.atomic,
            self.db,
            self.docs,
            region,
            {
                "state": BUILDING,
                "gen": gen,
                "building_list": list_name(region, gen),
                "scanned": 0,
                "requested_by": username,
                "requested_at": utcnow(),
                "error": None,
            },
        )
        self.services.spawn(lambda: self._build(region, gen), f"legacy-pending-build-{region}")
        return doc

    async def _progress(self, region: str, gen: str, scanned: int) -> bool:
        done = await self.services.atomic.update(self.docs, {"_id": region, "gen": gen}, {"$set": {"scanned": scanned}})
        return done is not None

    async def _build(self, region: str, gen: str) -> None:
        name = list_name(region, gen)
        total = await build_and_swap(
            self.db,
            self.services.atomic,
            self.docs,
            {"_id": region, "gen": gen},
            name,
            lambda: self.services.get(PublicQuery).not_collected(
                region, name, lambda scanned: self._progress(region, gen, scanned)
            ),
            lambda total: {
                "state": READY,
                "list": name,
                "building_list": None,
                "total": total,
                "computed_at": utcnow(),
            },
            log,
            f"legacy not-collected list of {region}",
        )
        if total is None:
            return
        log.info("legacy not-collected list of %s: %d people", region, total)
