"""The effects of the unit-administrator table's steps (registered by name with the engine).

- unit_admin_verified: the unit's document exists (created with the applicant's name for the
  unit and the verifying district) and lists the administrator; the notice is linked to the
  applicant's inbox.
- unit_admin_revoked: the administrator leaves the unit's list; the notice is linked.
- unit_admin_noticed: only the notice link (a rejection).
Notices of these steps are kept on the applicant's account (`notices`): a unit administrator
need not have a record of their own. Each write sets a final value, so deriving twice is harmless.
"""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from server.lifecycle.engine import Lifecycle
from server.lifecycle.store import Doc, LifecycleStore, step_key
from server.lifecycle.tables import UNIT_ADMIN
from server.units.registry import UnitRegistry
from server.units.store import UnitStore


class UnitAdminEffects:
    def __init__(self, services):
        self.services = services
        self.store = services.get(LifecycleStore)
        self.units = services.get(UnitStore)

    def register(self, lifecycle: Lifecycle) -> None:
        lifecycle.register_effect("unit_admin_verified", self.verified)
        lifecycle.register_effect("unit_admin_revoked", self.revoked)
        lifecycle.register_effect("unit_admin_noticed", self.link_notice)

    async def link_notice(self, app: Doc, step: Doc) -> None:
        """Put the step's notice in the applicant's inbox (the account's notice list)."""
        t = UNIT_ADMIN.transition(step.get("from") or "", step.get("action") or "")
        if t is None or not t.notice or not app.get("openid"):
            return
        await self.services.atomic.update(
            self.store.accounts,
            {"_id": app["openid"]},
            {"$addToSet": {"notices": step_key(app["_id"], step["n"])}},
            upsert=True,
        )

    async def verified(self, app: Doc, step: Doc) -> None:
        payload = app.get("payload") or {}
        code = payload.get("uscc")
        entry = {
            "application_id": app["_id"],
            "openid": app.get("openid"),
            "name": payload.get("applicant_name") or "",
            "mobile": payload.get("mobile") or "",
            "since": step["at"],
        }
        async with self.services.atomic.mutex(f"unit:{code}", wait=15.0):
            unit = await self.units.unit(code)
            if unit is None:
                doc = {
                    "_id": code,
                    "name": payload.get("unit_name") or "",
                    "region_code": app.get("region_code"),
                    "admins": [entry],
                    "created_at": step["at"],
                    "updated_at": step["at"],
                }
                try:
                    await self.units.units.insert_one(doc)
                except DuplicateKeyError:  # a unit of another process's first administrator
                    unit = await self.units.unit(code)
            if unit is not None and not any(a.get("application_id") == app["_id"] for a in unit.get("admins") or []):
                admins = [*(unit.get("admins") or []), entry]
                await self.units.units.update_one({"_id": code}, {"$set": {"admins": admins, "updated_at": step["at"]}})
        await self.services.get(UnitRegistry).listed(await self.units.unit(code) or {"_id": code})
        await self.link_notice(app, step)

    async def revoked(self, app: Doc, step: Doc) -> None:
        code = (app.get("payload") or {}).get("uscc")
        async with self.services.atomic.mutex(f"unit:{code}", wait=15.0):
            unit = await self.units.unit(code)
            admins = [a for a in (unit or {}).get("admins") or [] if a.get("application_id") != app["_id"]]
            if unit is not None and len(admins) != len(unit.get("admins") or []):
                await self.units.units.update_one({"_id": code}, {"$set": {"admins": admins, "updated_at": step["at"]}})
        await self.link_notice(app, step)
