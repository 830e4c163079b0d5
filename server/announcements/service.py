"""Announcements (公告): staff publish, edit and withdraw them; people read the current ones.

Who may write: a city administrator city-wide or for any district, a district reviewer for
their own districts only (403 `announcement_scope_forbidden` otherwise); another district's
announcement is 404 to a reviewer, a city-wide one is shown to them but not editable. Every
publish, edit and withdrawal is an audit entry (kind "announcement").

Reads stay cheap however often they come: announcements are few (hundreds), so each process
keeps all of them in memory and reloads them only when they changed. Every write replaces a
random token in one small document (`announcement_stamps`, `_id` "announcements") after
writing the announcement; a reader compares that token (one `_id` read) with the one its
copy was loaded at, at most every CACHE_SECONDS for the mini-program and public reads, on
every request for staff (so a staff member sees their own write whatever process answers),
and reads the collection again only when it differs. A writer's own process drops its copy
at once. Whether an announcement is shown is decided from its times at each read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable

from bson import ObjectId
from pymongo.errors import PyMongoError

from server.announcements.model import (
    CITY,
    public_view,
    scope_name,
    staff_view,
    state_at,
    validate,
)
from server.db import utcnow
from server.districts import deployment_districts
from server.errors import Conflict, Forbidden, NotFound
from server.review import audit
from server.staff.model import Staff

log = logging.getLogger("kjcj.announcements")

COLLECTION = "announcements"
STAMPS = "announcement_stamps"
STAMP_ID = "announcements"
CACHE_SECONDS = 3.0  # how stale a mini-program or public read may be (another process's write)
MAX_PAGE_SIZE = 100


def _in_reading_order(docs: list[dict]) -> list[dict]:
    """Pinned first, then the newest publication first (then the newest id: a stable order)."""
    docs.sort(key=lambda d: d["_id"], reverse=True)
    docs.sort(key=lambda d: d["publish_at"], reverse=True)
    docs.sort(key=lambda d: not d.get("pinned"))  # stable: each group keeps the order above
    return docs


class Announcements:
    """The announcements service (one per process: it holds the cache)."""

    def __init__(self, services):
        self.services = services
        self.coll = services.db[COLLECTION]
        self.stamps = services.db[STAMPS]
        self.districts = deployment_districts(services.settings)
        self._docs: list[dict] = []  # every announcement, pinned and newest first
        self._token: str | None = None  # the stamp the copy was loaded at (None: not loaded)
        self._checked = float("-inf")  # monotonic time of the last stamp check
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every write in this process (the push worker's poke)."""
        self._listeners.append(listener)

    # --- the cache ---

    async def all(self, max_age: float = CACHE_SECONDS) -> list[dict]:
        """Every announcement document, from this process's copy when its stamp was checked within `max_age` s."""
        if time.monotonic() - self._checked < max_age:
            return self._docs
        async with self._lock:
            if time.monotonic() - self._checked < max_age:  # refreshed while this reader waited
                return self._docs
            started = time.monotonic()
            try:
                stamp = await self.stamps.find_one({"_id": STAMP_ID})
                token = str((stamp or {}).get("token", ""))
                if token != self._token:
                    self._docs, self._token = _in_reading_order([d async for d in self.coll.find({})]), token
            except PyMongoError as exc:
                if self._token is None or max_age <= 0:  # nothing loaded yet, or a staff read: no stale answer
                    raise
                log.warning("announcements not refreshed (%s); serving the copy in memory", type(exc).__name__)
            self._checked = started
        return self._docs

    async def changed(self) -> None:
        """After a write: a new stamp for every process, this process's copy dropped, listeners told."""
        await self.stamps.replace_one(
            {"_id": STAMP_ID}, {"token": uuid.uuid4().hex, "changed_at": utcnow()}, upsert=True
        )
        self._token = None
        self._checked = float("-inf")
        for listener in self._listeners:
            listener()

    # --- people ---

    async def current(self, region_code: str | None, now: dt.datetime | None = None) -> list[dict]:
        """The announcements shown now to a person of this district: city-wide ones and the district's own."""
        now = now or utcnow()
        docs = await self.all()
        return [
            public_view(d, self.districts)
            for d in docs
            if (d.get("region_code") is None or d.get("region_code") == region_code) and state_at(d, now) == "current"
        ]

    # --- staff ---

    def _may_edit(self, staff: Staff, doc: dict) -> bool:
        region = doc.get("region_code")
        return staff.is_city_admin if region is None else staff.can_see(region)

    def _visible(self, staff: Staff, doc: dict) -> bool:
        """City-wide announcements and those of the caller's districts."""
        return doc.get("region_code") is None or staff.can_see(doc.get("region_code"))

    def _scope_allowed(self, staff: Staff, region_code: str | None) -> None:
        """403 unless the caller may publish for this scope."""
        if region_code is None and not staff.is_city_admin:
            raise Forbidden("只有市级管理员可以发布全市公告", "announcement_scope_forbidden")
        if region_code is not None and not staff.can_see(region_code):
            raise Forbidden("只能发布本人所辖区的公告", "announcement_scope_forbidden")

    def view(self, staff: Staff, doc: dict, now: dt.datetime | None = None) -> dict:
        return staff_view(doc, self.districts, now or utcnow(), self._may_edit(staff, doc))

    async def list_for(self, staff: Staff, page: int, page_size: int, state: str | None = None) -> dict:
        """The caller's announcements (city-wide ones and their districts'), newest first, paged."""
        page_size = min(page_size, MAX_PAGE_SIZE)
        now = utcnow()
        docs = [d for d in await self.all(max_age=0) if self._visible(staff, d)]
        if state:
            docs = [d for d in docs if state_at(d, now) == state]
        docs = sorted(docs, key=lambda d: (d.get("created_at") or d["publish_at"], d["_id"]), reverse=True)
        offset = (page - 1) * page_size
        return {
            "items": [self.view(staff, d, now) for d in docs[offset : offset + page_size]],
            "page": page,
            "page_size": page_size,
            "total": len(docs),
        }

    async def _load(self, staff: Staff, announcement_id: str) -> dict:
        """One announcement the caller may see (fresh from the database), else 404."""
        doc = await self.coll.find_one({"_id": announcement_id})
        if doc is None or not self._visible(staff, doc):
            raise NotFound("公告不存在", "announcement_not_found")
        return doc

    async def get(self, staff: Staff, announcement_id: str) -> dict:
        return self.view(staff, await self._load(staff, announcement_id))

    async def create(self, staff: Staff, data: dict) -> dict:
        """Publish an announcement (now, or at its `publish_at`)."""
        now = utcnow()
        values = validate(data, None, self.districts, now)
        self._scope_allowed(staff, values["region_code"])
        push = bool(values.pop("push", False))
        doc = {
            "_id": str(ObjectId()),
            "title": values["title"],
            "body": values["body"],
            "region_code": values["region_code"],
            "publish_at": values.get("publish_at") or now,
            "expire_at": values["expire_at"],
            "pinned": bool(values.get("pinned", False)),
            "status": "published",
            "version": 1,
            "created_at": now,
            "created_by": staff.username,
            "created_role": staff.role,
            "updated_at": now,
            "updated_by": staff.username,
            "push": {"requested": push, "state": "pending" if push else "none"},
        }
        await self.coll.insert_one(doc)
        await self.changed()
        await self._audit(staff, doc, f"{doc['_id']}-published", "announcement_published", None, "published", now)
        log.info("announcement %s published by %s (%s)", doc["_id"], staff.username, scope_name(doc, self.districts))
        return self.view(staff, doc, now)

    async def update(self, staff: Staff, announcement_id: str, data: dict) -> dict:
        """Edit an announcement that is not withdrawn (only what `data` names changes)."""
        doc = await self._load(staff, announcement_id)
        if not self._may_edit(staff, doc):
            raise Forbidden("只有市级管理员可以修改全市公告", "announcement_scope_forbidden")
        if doc.get("status") == "withdrawn":
            raise Conflict("公告已撤回，不能再修改", "announcement_withdrawn")
        now = utcnow()
        values = validate(data, doc, self.districts, now)
        if "version" in data and data["version"] != doc.get("version", 1):
            raise Conflict("公告已被他人修改，请刷新后重试", "announcement_changed")
        if not values:  # nothing to change
            return self.view(staff, doc, now)
        if "region_code" in values:
            self._scope_allowed(staff, values["region_code"])
        sets: dict = {k: v for k, v in values.items() if k != "push"}
        push = doc.get("push") or {}
        if "push" in values and values["push"] != bool(push.get("requested")):
            if push.get("state") not in (None, "none", "pending"):
                raise Conflict("已开始推送，不能再更改推送设置", "push_started")
            sets["push"] = {"requested": values["push"], "state": "pending" if values["push"] else "none"}
        sets.update(updated_at=now, updated_by=staff.username)
        after = await self.services.atomic.update(
            self.coll,
            {"_id": doc["_id"], "version": doc.get("version", 1), "status": "published"},
            {"$set": sets, "$inc": {"version": 1}},
        )
        if after is None:
            raise Conflict("公告已被他人修改，请刷新后重试", "announcement_changed")
        await self.changed()
        await self._audit(
            staff,
            after,
            f"{doc['_id']}-v{after['version']}-edited",
            "announcement_edited",
            "published",
            "published",
            now,
        )
        return self.view(staff, after, now)

    async def withdraw(self, staff: Staff, announcement_id: str) -> dict:
        """Withdraw an announcement: no one sees it any more, pushes not yet sent are dropped (idempotent)."""
        doc = await self._load(staff, announcement_id)
        if not self._may_edit(staff, doc):
            raise Forbidden("只有市级管理员可以撤回全市公告", "announcement_scope_forbidden")
        now = utcnow()
        if doc.get("status") != "withdrawn":
            after = await self.services.atomic.update(
                self.coll,
                {"_id": doc["_id"], "status": "published"},
                {
                    "$set": {"status": "withdrawn", "withdrawn_at": now, "withdrawn_by": staff.username},
                    "$inc": {"version": 1},
                },
            )
            doc = after or await self._load(staff, announcement_id)
            await self.changed()
            if after is not None:
                await self._audit(
                    staff, doc, f"{doc['_id']}-withdrawn", "announcement_withdrawn", "published", "withdrawn", now
                )
                log.info("announcement %s withdrawn by %s", doc["_id"], staff.username)
        return self.view(staff, doc, now)

    async def _audit(
        self, staff: Staff, doc: dict, key: str, action: str, before: str | None, after: str, at: dt.datetime
    ) -> None:
        """One audit entry (listed in the announcement's district and city-wide); a failure is logged."""
        region = doc.get("region_code")
        entry = {
            "_id": f"announcement-{key}",
            "record_id": doc["_id"],
            "kind": "announcement",
            "region_code": region,
            "to_region": None,
            "name": doc["title"],
            "archive_no_tail": "",
            "actor": staff.username,
            "actor_role": staff.role,
            "at": at,
            "action": action,
            "reason": f"{scope_name(doc, self.districts)}：{doc['title']}",
            "reason_codes": [],
            "before": {"status": before, "version": None},
            "after": {"status": after, "version": doc.get("version")},
            "notice_id": None,
            "scope": region or CITY,
        }
        try:
            await audit.append(self.services, entry)
        except Exception:
            log.exception("audit entry %s not written", entry["_id"])
