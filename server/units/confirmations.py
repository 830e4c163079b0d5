"""Employment confirmation (报备确认): a unit's administrators see the people whose archive, or
first collection awaiting review, names the unit as employer, and confirm or deny each.

The people of a unit are a sorted list per unit and answer state, kept by the read models
(server/lifecycle/readmodel.py, names from server/units/answers.py), so a page costs a few `_id`
reads whatever the number of archives. An answer is recorded on the person's first collection
(`unit_confirmation`, see answers.py) through the lifecycle (Archives.record_unit_answer), the
lists follow, and the person is told (inbox and subscribe message through the outbox). A person
the unit may not see (another employer, a draft, an archive transferred out) is a 404, exactly
like an unknown id.

A district may require the unit's confirmation before a first collection is approved
(`unit_settings`, `_id` district code: {require_confirmation, updated_by, updated_at}): the
collection's approve row then has the guard "unit_confirmation" (409 `unit_confirmation_required`).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.districts import deployment_districts, district_name
from server.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from server.lifecycle.archive import Archives
from server.lifecycle.engine import Lifecycle
from server.lifecycle.readmodel import ReadModels
from server.lifecycle.store import Doc, LifecycleStore
from server.lists import SortedList, counts
from server.masking import mask_id_number
from server.notify.notices import render
from server.notify.outbox import Outbox
from server.notify.sender import NoticeSender
from server.staff.model import Staff
from server.units import answers
from server.units.access import admin_application
from server.units.admins import parse_reason

SETTINGS = "unit_settings"
MAX_PAGE_SIZE = 100
PERSON_NOT_FOUND = "该人员不存在，或未填写本单位为工作单位"
PERSON_STATUS = {"submitted": "采集待审核", "approved": "已入库"}


def state_filter(state: str | None) -> str:
    """The answer state to list ("*" = every one), or a 400."""
    if not state:
        return "*"
    if state not in answers.STATES:
        raise BadRequest(f"确认状态只能是 {'、'.join(answers.STATES)}", "invalid_state")
    return state


def person_row(entry_row: Doc) -> Doc:
    """A list row as the unit reads it (the read model's row: ID number already masked)."""
    state = entry_row.get("unit_confirmation") or "pending"
    return {
        "id": entry_row.get("id"),
        "name": entry_row.get("name") or "",
        "id_number": entry_row.get("id_number") or "",
        "status": entry_row.get("status"),
        "status_label": PERSON_STATUS.get(entry_row.get("status") or "", ""),
        "confirmation": state,
        "confirmation_label": answers.STATES.get(state, ""),
        "submitted_at": entry_row.get("submitted_at"),
    }


class UnitConfirmations:
    """The units' answers about their people, and the districts' setting."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.store = services.get(LifecycleStore)
        self.district_settings = services.db[SETTINGS]

    def list(self, uscc: str, state: str = "*") -> SortedList:
        return SortedList(self.services.db, self.services.atomic, answers.list_name(uscc, state))

    def register_guards(self, lifecycle: Lifecycle) -> None:
        lifecycle.register_guard("unit_confirmation", self.guard)

    # -- the district setting -------------------------------------------------------------

    async def required(self, region: str | None) -> bool:
        """True when the district requires the unit's confirmation before approving a first collection."""
        doc = await self.district_settings.find_one({"_id": region}) if region else None
        return bool((doc or {}).get("require_confirmation"))

    async def settings_for(self, staff: Staff) -> Doc:
        """The setting of each of the caller's districts."""
        items = []
        for code in staff.regions:
            doc = await self.district_settings.find_one({"_id": code}) or {}
            items.append(
                {
                    "region_code": code,
                    "region_name": district_name(self.settings, code),
                    "require_unit_confirmation": bool(doc.get("require_confirmation")),
                    "updated_by": doc.get("updated_by"),
                    "updated_at": doc.get("updated_at"),
                }
            )
        return {"items": items}

    async def set_required(self, staff: Staff, region: str, body: Any) -> Doc:
        """A district's reviewer (or a city administrator) turns the requirement on or off."""
        if region not in deployment_districts(self.settings).codes or not staff.can_see(region):
            raise NotFound("区划不存在或不在本人辖区", "region_not_found")
        value = body.get("require_unit_confirmation") if isinstance(body, dict) else None
        unknown = [k for k in (body if isinstance(body, dict) else {}) if k != "require_unit_confirmation"]
        if not isinstance(value, bool) or unknown:
            field = unknown[0] if unknown else "require_unit_confirmation"
            message = "require_unit_confirmation 应为 true 或 false"
            raise Invalid([{"field": field, "code": "invalid", "message": message}], message, "invalid_setting")
        now = utcnow()
        await self.district_settings.replace_one(
            {"_id": region},
            {"_id": region, "require_confirmation": value, "updated_by": staff.username, "updated_at": now},
            upsert=True,
        )
        return next(i for i in (await self.settings_for(staff))["items"] if i["region_code"] == region)

    async def guard(self, app: Doc, body: dict) -> None:
        """The collection's approve row: 409 while the district requires a confirmation not given."""
        unit = answers.employer(app)
        if unit is None or not await self.required(app.get("region_code")):
            return
        if answers.state_for(app, unit[0]) != "confirmed":
            raise Conflict(
                "本区要求工作单位确认后才能审核通过，该人员的工作单位尚未确认",
                "unit_confirmation_required",
                unit_confirmation=answers.state_for(app, unit[0]),
            )

    # -- the unit's side ----------------------------------------------------------------------

    async def people(self, unit: Doc, state: str | None, page: int, page_size: int) -> Doc:
        """A page of the unit's people (newest submission first), with the counts per answer."""
        wanted = state_filter(state)
        page_size = min(page_size, MAX_PAGE_SIZE)
        listed = self.list(unit["_id"], wanted)
        rows, total, per_state = await asyncio.gather(  # the page, its total and the counts at once
            listed.page((page - 1) * page_size, page_size, reverse=True), listed.count(), self.counts(unit["_id"])
        )
        return {
            "items": [person_row(r) for _, r in rows],
            "page": page,
            "page_size": page_size,
            "total": total,
            "counts": per_state,
        }

    async def counts(self, uscc: str) -> Doc:
        """How many people the unit has, per answer state."""
        states = [*answers.STATES, "*"]
        found = await counts([self.list(uscc, s) for s in states])  # the heads read at once
        return {("total" if s == "*" else s): n for s, n in zip(states, found, strict=True)}

    async def _person(self, unit: Doc, record_id: str) -> tuple[Doc, Doc | None, Doc]:
        """(first collection, archive, fields) of one of the unit's people, else 404."""
        app = await self.store.application(record_id)
        if app is None or (app.get("kind") or "collection") != "collection":
            raise NotFound(PERSON_NOT_FOUND, "person_not_found")
        archive = await self.store.archive_of(app)
        data = (archive or {}).get("data") if archive else app
        employer = answers.employer(data)
        if (
            app.get("status") not in answers.LISTED_STATUSES
            or (app.get("status") == "approved" and archive is None)
            or (archive or {}).get("transferred_out")
            or employer is None
            or employer[0] != unit["_id"]
        ):
            raise NotFound(PERSON_NOT_FOUND, "person_not_found")
        return app, archive, data or {}

    def person_view(self, unit: Doc, app: Doc, archive: Doc | None, data: Doc) -> Doc:
        """One person as the unit sees them: the employment they declared, masked ID number, the answer."""
        profile = data.get("profile") or {}
        emp = data.get("employment") or {}
        return {
            "id": str(app["_id"]),
            "name": profile.get("name") or "",
            "id_number": mask_id_number(profile.get("id_number")),
            "status": app.get("status"),
            "status_label": PERSON_STATUS.get(app.get("status") or "", ""),
            "archive_no_tail": (app.get("archive_no") or "")[-4:] if archive else "",
            "employment": {
                "unit_name": emp.get("unit_name") or "",
                "unit_credit_code": emp.get("unit_credit_code"),
                "post": emp.get("post"),
                "accounting_since": emp.get("accounting_since"),
            },
            "confirmation": answers.answer_view(app, unit["_id"], unit.get("name") or ""),
            "submitted_at": app.get("submitted_at"),
        }

    async def person(self, unit: Doc, record_id: str) -> Doc:
        app, archive, data = await self._person(unit, record_id)
        return self.person_view(unit, app, archive, data)

    async def answer(self, user: SessionUser, unit: Doc, record_id: str, state: str, body: Any) -> Doc:
        """Confirm or deny (reason required) one of the unit's people; the person's view after it."""
        reason = parse_reason(body, required=state == "denied") if state == "denied" else ""
        app, archive, data = await self._person(unit, record_id)
        admin = await admin_application(self.services, user, unit)
        if admin is None:  # revoked between the request's check and now
            raise Forbidden("您不是该单位的已认证管理员", "not_unit_admin")
        current = answers.answer_for(app, unit["_id"])
        if current and current.get("state") == state and (current.get("reason") or "") == reason:
            return self.person_view(unit, app, archive, data)  # the same answer again: nothing changes
        now = utcnow()
        entry = {
            "id": uuid.uuid4().hex,
            "uscc": unit["_id"],
            "unit_name": unit.get("name") or "",
            "state": state,
            "reason": reason,
            "at": now,
            "by": str(admin["_id"]),
        }
        await self.services.get(Archives).record_unit_answer(app["_id"], entry)
        # the lists follow the answer (each list locks itself) while the person is told
        await asyncio.gather(self.services.get(ReadModels).sync(app["_id"]), self._tell(app, data, entry))
        after = await self.store.application(app["_id"]) or app
        return self.person_view(unit, after, archive, data)

    async def _tell(self, app: Doc, data: Doc, entry: Doc) -> None:
        """The person's notice of the answer (inbox and subscribe message)."""
        openid = app.get("openid")
        if not openid:
            return
        key = f"unit-{entry['id']}"
        template = "unit_confirmed" if entry["state"] == "confirmed" else "unit_denied"
        reason = entry["unit_name"] if entry["state"] == "confirmed" else entry["reason"]
        name = (data.get("profile") or {}).get("name") or ""
        notice = render(template, key, openid, app["_id"], reason, name, "", entry["at"])
        await self.services.get(Outbox).put(notice)
        await self.services.atomic.update(
            self.store.accounts, {"_id": openid}, {"$addToSet": {"notices": key}}, upsert=True
        )
        self.services.get(NoticeSender).poke()

    # -- staff --------------------------------------------------------------------------------

    async def staff_view(self, app: Doc) -> Doc | None:
        """The unit confirmation of a first collection for the reviewer (None without an employer code)."""
        if (app.get("kind") or "collection") != "collection":
            return None
        archive = await self.store.archive_of(app)
        unit = answers.employer((archive or {}).get("data") if archive else app)
        if unit is None:
            return None
        view = answers.answer_view(app, unit[0], unit[1]) or {}
        return {
            **view,
            "required_before_approval": await self.required(app.get("region_code")),
            "history": [
                {k: a.get(k) for k in ("uscc", "unit_name", "state", "reason", "at")}
                for a in app.get("unit_answers") or []
            ],
        }
