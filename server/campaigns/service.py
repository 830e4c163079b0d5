"""Collection campaign windows (采集时间窗口): stored, cached, and read by every rule that needs them.

`campaigns` (`_id` a slug or an ObjectId's hex): {title, start, end (ISO dates, China time),
kinds, late_rule, freeze_transfers, reminder_days, version, created_by/at, updated_by/at,
reminder {...}, reminded_at}. A city has a handful: they are read whole and cached per process
for CACHE_SECONDS, and read again at once after a write in this process (other processes see it
within CACHE_SECONDS, or REFRESH_SECONDS for the FAQ's sentence).

Readers (the rules themselves are in `rules.py`):
- the "collection_window" guard of the first collection's submit rows: outside every window the
  governing window's `late_rule` refuses (409 `outside_collection_window`) or lets it through; a
  resubmission after the district returned the application is always let through (the window
  governs the first submission);
- lateness (`late_of`): computed when read, from the first submission's time against the
  windows as they are now (so extending a window clears the mark of what it now covers);
- transfers: a window with `freeze_transfers` refuses transfers during its dates (409
  `transfer_frozen`, as the TRANSFER_FREEZE setting does);
- GET /api/v1/campaign and the FAQ's `{collection_period}` (pushed into the FAQ's answer context
  whenever the cache is loaded: no database read per chat message);
- the reminder job (`run_forever`, `remind_once`; see `reminders.py`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.campaigns.reminders import Reminder
from server.campaigns.rules import (
    CHINA,
    Window,
    check_window,
    china_day,
    decide,
    frozen_conflict,
    sentence,
    shown_window,
    transfer_freeze,
    validate,
)
from server.chat.faq_service import FaqService
from server.db import utcnow
from server.errors import Conflict, Forbidden, NotFound
from server.notify.sender import NoticeSender
from server.staff.model import Staff

log = logging.getLogger("kjcj.campaigns")

CAMPAIGNS = "campaigns"
CACHE_SECONDS = 5.0
REFRESH_SECONDS = 10.0  # the background job reloads (and re-renders the FAQ sentence) this often
REMIND_SECONDS = 60.0  # and looks for a reminder to send this often
REMIND_FROM_HOUR = 9  # China time: no reminder is queued before this hour of the day
FAQ_PLACEHOLDER = "collection_period"


def _require_admin(staff: Staff) -> None:
    """Only a city admin sets the windows (they govern every district)."""
    if not staff.is_city_admin:
        raise Forbidden("只有市级管理员可以设置采集时间", "campaign_admin_only")


def _not_found() -> NotFound:
    return NotFound("采集时间窗口不存在", "campaign_not_found")


def first_submitted_at(app: dict) -> dt.datetime | None:
    """When the application was first submitted (its first submit step), else `submitted_at`."""
    for step in app.get("history") or []:
        if step.get("action") == "submit" and isinstance(step.get("at"), dt.datetime):
            return step["at"]
    at = app.get("submitted_at")
    return at if isinstance(at, dt.datetime) else None


class Campaigns:
    """The city's campaign windows, cached in this process."""

    def __init__(self, services):
        self.services = services
        self.collection = services.db[CAMPAIGNS]
        self._docs: list[dict] = []
        self._windows: list[Window] = []
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    # --- the cache ------------------------------------------------------------------------

    async def windows(self, fresh: bool = False) -> list[Window]:
        """Every stored window (read again when older than CACHE_SECONDS, or `fresh`)."""
        asked = time.monotonic()
        if fresh or self._loaded_at is None or asked - self._loaded_at > CACHE_SECONDS:
            async with self._lock:
                if self._loaded_at is None or self._loaded_at < asked:  # not reloaded while we waited
                    await self._load()
        return self._windows

    async def _load(self) -> None:
        docs = [d async for d in self.collection.find({})]  # a handful of documents
        windows = []
        for doc in docs:
            window = Window.of(doc)
            if window is None:
                log.warning("campaign %s is not a usable window; ignored", doc.get("_id"))
            else:
                windows.append(window)
        self._docs, self._windows = docs, windows
        self._loaded_at = time.monotonic()
        self.publish()

    def publish(self, now: dt.datetime | None = None) -> None:
        """Give the FAQ the sentence on the collection period as of now (its `{collection_period}`)."""
        text = sentence(self._windows, china_day(now or utcnow()))
        self.services.get(FaqService).set_context(FAQ_PLACEHOLDER, text)

    # --- rules read by others ---------------------------------------------------------------

    def register_guards(self, lifecycle) -> None:
        """The "collection_window" guard of the first collection's submit rows."""

        async def collection_window(app: dict, body: dict) -> None:
            if app.get("status") == "rejected":
                return  # returned by the district: the window governed the first submission
            decision = decide(await self.windows(), china_day(utcnow()))
            if not decision.allowed:
                raise decision.refusal()

        lifecycle.register_guard("collection_window", collection_window)

    async def is_late(self, when: dt.datetime) -> bool:
        """True when a first submission at `when` is late under the windows as they are now."""
        return decide(await self.windows(), china_day(when)).late

    async def late_of(self, app: dict) -> bool:
        """Whether a first collection was submitted late: a stored `late` if the submit path kept
        one, else computed from its first submission (False when never submitted)."""
        if isinstance(app.get("late"), bool):
            return app["late"]
        when = first_submitted_at(app)
        return await self.is_late(when) if when else False

    async def check_transfers_allowed(self, now: dt.datetime | None = None) -> None:
        """409 `transfer_frozen` naming the dates when a window freezing transfers is open."""
        window = transfer_freeze(await self.windows(), china_day(now or utcnow()))
        if window is not None:
            raise frozen_conflict(window)

    async def freeze_view(self, now: dt.datetime | None = None) -> list[dict[str, str]]:
        """The windows freezing transfers that have not ended (the shape of TRANSFER_FREEZE's view)."""
        today = china_day(now or utcnow())
        frozen = sorted(
            (w for w in await self.windows() if w.freeze_transfers and w.end >= today), key=lambda w: w.start
        )
        return [{"start": w.start.isoformat(), "end": w.end.isoformat(), "label": w.label} for w in frozen]

    async def current(self, now: dt.datetime | None = None) -> dict:
        """GET /api/v1/campaign: the open (else next, else last) window and today's rule."""
        windows = await self.windows()
        today = china_day(now or utcnow())
        decision = decide(windows, today)
        shown = shown_window(windows, today)
        return {
            "today": today.isoformat(),
            "always_open": decision.rule == "always_open",
            "open": decision.rule == "open",
            "window": shown.view(today) if shown else None,
            "submission": {
                "allowed": decision.allowed,
                "late": decision.late,
                "rule": decision.rule,
                "window_id": decision.window.id if decision.window else None,
            },
            "message": sentence(windows, today),
        }

    # --- staff ------------------------------------------------------------------------------

    def admin_view(self, doc: dict, today: dt.date) -> dict:
        """A stored window as staff see it."""
        window = Window.of(doc)
        base = window.view(today) if window else {"id": str(doc["_id"]), "title": doc.get("title") or ""}
        reminder = doc.get("reminder") or {}
        on = window.reminder_on if window else None
        return {
            **base,
            "reminder_days": int(doc.get("reminder_days") or 0),
            "reminder_on": on.isoformat() if on else None,
            "reminder": {
                "end": reminder.get("end"),
                "queued": int(reminder.get("queued") or 0),
                "started_at": reminder.get("started_at"),
                "done_at": reminder.get("done_at"),
            }
            if reminder
            else None,
            "reminded_at": doc.get("reminded_at"),
            "version": int(doc.get("version") or 1),
            "created_by": doc.get("created_by"),
            "created_at": doc.get("created_at"),
            "updated_by": doc.get("updated_by"),
            "updated_at": doc.get("updated_at"),
        }

    async def overview(self, staff: Staff) -> dict:
        """Every window, latest first, with today's rule (every staff member may read)."""
        await self.windows(fresh=True)
        today = china_day(utcnow())
        docs = sorted(self._docs, key=lambda d: (str(d.get("start")), str(d["_id"])), reverse=True)
        return {
            "campaigns": [self.admin_view(d, today) for d in docs],
            "current": await self.current(),
            "can_edit": staff.is_city_admin,
        }

    async def get(self, staff: Staff, campaign_id: str) -> dict:
        """One window."""
        doc = await self.collection.find_one({"_id": campaign_id})
        if doc is None:
            raise _not_found()
        return self.admin_view(doc, china_day(utcnow()))

    async def create(self, staff: Staff, body: Any) -> dict:
        """Add a window (city admin); 422 naming each bad field, or an overlap."""
        _require_admin(staff)
        fields = validate(body if isinstance(body, dict) else {}, create=True)
        now = utcnow()
        doc = {
            "_id": fields.pop("id", None) or str(ObjectId()),
            **fields,
            "version": 1,
            "created_by": staff.username,
            "created_at": now,
            "updated_by": staff.username,
            "updated_at": now,
            "reminded_at": None,
        }
        async with self.services.atomic.mutex(CAMPAIGNS):  # the overlap check and the write, one at a time
            check_window(doc, await self.windows(fresh=True))
            try:
                await self.collection.insert_one(doc)
            except DuplicateKeyError:
                raise Conflict("该编号的采集时间窗口已存在", "campaign_exists") from None
            await self.windows(fresh=True)
        log.info("campaign %s created by %s: %s..%s", doc["_id"], staff.username, doc["start"], doc["end"])
        return self.admin_view(doc, china_day(now))

    async def update(self, staff: Staff, campaign_id: str, body: Any) -> dict:
        """Change a window (city admin); `version` in the body, when given, must be the current one."""
        _require_admin(staff)
        changes = validate(body if isinstance(body, dict) else {}, create=False)
        expected = changes.pop("version", None)
        async with self.services.atomic.mutex(CAMPAIGNS):
            doc = await self.collection.find_one({"_id": campaign_id})
            if doc is None:
                raise _not_found()
            version = int(doc.get("version") or 1)
            if expected is not None and expected != version:
                raise Conflict("该采集时间窗口已被他人修改，请刷新后重试", "campaign_changed", version=version)
            merged = {**doc, **changes}
            check_window(merged, [w for w in await self.windows(fresh=True) if w.id != campaign_id])
            now = utcnow()
            after = await self.services.atomic.update(
                self.collection,
                {"_id": campaign_id, "version": doc.get("version")},
                {"$set": {**changes, "version": version + 1, "updated_by": staff.username, "updated_at": now}},
            )
            if after is None:
                raise Conflict("该采集时间窗口已被他人修改，请刷新后重试", "campaign_changed")
            await self.windows(fresh=True)
        log.info("campaign %s changed by %s: %s", campaign_id, staff.username, sorted(changes))
        return self.admin_view(after, china_day(now))

    async def delete(self, staff: Staff, campaign_id: str) -> None:
        """Remove a window (city admin)."""
        _require_admin(staff)
        async with self.services.atomic.mutex(CAMPAIGNS):
            result = await self.collection.delete_one({"_id": campaign_id})
            await self.windows(fresh=True)
        if not result.deleted_count:
            raise _not_found()
        log.info("campaign %s deleted by %s", campaign_id, staff.username)

    # --- the background job -------------------------------------------------------------------

    async def remind_once(self, now: dt.datetime | None = None) -> int:
        """Queue the reminders due today (each window once across processes); how many notices
        this process queued. `now` sets the calendar day and hour (tests)."""
        local = (now or utcnow()).astimezone(CHINA)
        if local.hour < REMIND_FROM_HOUR:
            return 0
        queued = 0
        for window in await self.windows(fresh=True):
            on = window.reminder_on
            if on is not None and on <= local.date() <= window.end:
                queued += await Reminder(self.services, self.collection, window).run()
        if queued:
            self.services.get(NoticeSender).poke()
        return queued

    async def run_forever(self, every: float = REFRESH_SECONDS, remind_every: float = REMIND_SECONDS) -> None:
        """Reload the windows (and the FAQ's sentence) every `every` seconds, and send the reminders
        that are due every `remind_every` seconds, until cancelled."""
        next_remind = 0.0
        while True:
            try:
                await self.windows(fresh=True)
                if time.monotonic() >= next_remind:
                    next_remind = time.monotonic() + remind_every
                    await self.remind_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("campaign round failed")
            await asyncio.sleep(every)
