"""The pre-deadline reminder of a campaign window: one notice per person whose first collection is
still a draft (or was returned), put into the outbox once whatever the number of processes.

Who has a draft is read from the review lists (`apps|collection|draft|*` and
`apps|collection|rejected|*`, server/lifecycle/readmodel.py), in key order, a page at a time:
no scan of `applications`. Each row's application is then read by `_id` (its openid, and its
state now). A draft without a district yet is in no list and is not reminded.

Once across processes: the window document carries `reminder` {end, owner, lease_until, cursor,
queued, done_at}, taken by a conditional update (`services.atomic`) naming the owner seen; the
owner renews the lease and records its cursor after every page, and sets `done_at` (and the
window's `reminded_at`) at the end. A process that dies mid-way leaves a lease that runs out; the
next round takes over from the cursor (as after a pause while the sender has a backlog,
BACKLOG_MAX). Notices are idempotent anyway (`_id`
"remind-<window>-<end>-<application>"), so a page handled twice writes nothing twice, and the
sender delivers each notice once under its own lease. Moving a window's end arms a new reminder
for the new deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

from server.campaigns.rules import Window, day_label
from server.db import utcnow
from server.districts import deployment_districts
from server.lifecycle.readmodel import ALL, ReadModels, queue_name
from server.lifecycle.store import Doc, LifecycleStore
from server.notify.notices import render
from server.notify.outbox import Outbox

log = logging.getLogger("kjcj.campaigns")

TEMPLATE = "collection_reminder"
STATES = ("draft", "rejected")  # a first collection still to be (re)submitted
PAGE = 200
CONCURRENCY = 50  # application reads and outbox writes at once
LEASE = dt.timedelta(seconds=120)
# The sender reads every entry of `deliveries` each poll (it is meant to stay small): a round
# pauses while more than this many notices wait to be sent, and a later round (any process)
# goes on from the cursor. A city's reminders are thus queued as fast as they are sent.
BACKLOG_MAX = 1000


def notice_id(window: Window, app_id) -> str:
    return f"remind-{window.id}-{window.end.isoformat()}-{app_id}"


class Reminder:
    """One window's reminder round in this process (see module doc)."""

    def __init__(self, services, collection, window: Window):
        self.services = services
        self.collection = collection
        self.window = window
        self.end = window.end.isoformat()
        self.store = services.get(LifecycleStore)
        self.outbox = services.get(Outbox)
        self.lists = services.get(ReadModels)
        self.districts = deployment_districts(services.settings)
        self.token = f"{services.atomic.owner}-{uuid.uuid4().hex[:8]}"

    async def run(self) -> int:
        """Queue the window's reminders if this process takes the round; how many notices it queued."""
        state = await self._claim()
        if state is None:
            return 0
        queued = int(state.get("queued") or 0)
        cursor = state.get("cursor") or {}
        mine = 0
        first = STATES.index(cursor["list"]) if cursor.get("list") in STATES else 0
        for i, status in enumerate(STATES[first:], first):
            lst = self.lists.list(queue_name("collection", status, ALL))
            lo = cursor["after"] + "\x00" if i == first and cursor.get("after") else ""
            while True:
                if await self.outbox.deliveries.estimated_document_count() > BACKLOG_MAX:
                    await self._pause(queued + mine)
                    return mine
                page = await lst.range(lo, None, PAGE)
                if not page:
                    break
                for at in range(0, len(page), CONCURRENCY):
                    done = await asyncio.gather(*[self._remind(row) for _, row in page[at : at + CONCURRENCY]])
                    mine += sum(done)
                lo = page[-1][0] + "\x00"
                if not await self._progress({"list": status, "after": page[-1][0]}, queued + mine):
                    log.warning("campaign %s: reminder lease lost after %d notices", self.window.id, mine)
                    return mine
                if len(page) < PAGE:
                    break
        now = utcnow()
        await self.services.atomic.update(
            self.collection,
            {"_id": self.window.id, "reminder.owner": self.token},
            {"$set": {"reminder.done_at": now, "reminder.lease_until": None, "reminded_at": now}},
        )
        log.info("campaign %s: reminders queued (%d by this process)", self.window.id, mine)
        return mine

    async def _claim(self) -> Doc | None:
        """Take the round (a fresh one for this end date, or one whose owner's lease ran out)."""
        doc = await self.collection.find_one({"_id": self.window.id})
        if doc is None or doc.get("end") != self.end:
            return None  # deleted or moved meanwhile: the next round sees the new dates
        seen = doc.get("reminder") or {}
        now = utcnow()
        resume = seen.get("end") == self.end
        if resume and (seen.get("done_at") or (seen.get("lease_until") and seen["lease_until"] > now)):
            return None
        state = {
            "end": self.end,
            "owner": self.token,
            "lease_until": now + LEASE,
            "started_at": seen.get("started_at") if resume else now,
            "cursor": seen.get("cursor") if resume else None,
            "queued": seen.get("queued", 0) if resume else 0,
            "done_at": None,
        }
        taken = await self.services.atomic.update(
            self.collection,
            {"_id": self.window.id, "end": self.end, "reminder.owner": seen.get("owner")},
            {"$set": {"reminder": state}},
        )
        return state if taken is not None else None

    async def _progress(self, cursor: dict, queued: int) -> bool:
        """Record the cursor and renew the lease; False when another process holds the round now."""
        after = await self.services.atomic.update(
            self.collection,
            {"_id": self.window.id, "reminder.owner": self.token},
            {"$set": {"reminder.cursor": cursor, "reminder.queued": queued, "reminder.lease_until": utcnow() + LEASE}},
        )
        return after is not None

    async def _pause(self, queued: int) -> None:
        """Give the round up until the sender has caught up (the lease ends now, the cursor stays)."""
        await self.services.atomic.update(
            self.collection,
            {"_id": self.window.id, "reminder.owner": self.token},
            {"$set": {"reminder.queued": queued, "reminder.lease_until": utcnow()}},
        )
        log.info("campaign %s: reminders paused while the sender catches up", self.window.id)

    async def _remind(self, row: dict) -> int:
        """The notice of one listed application, if it is still a first collection to submit."""
        app = await self.store.application(row.get("id"))
        if app is None or (app.get("kind") or "collection") != "collection" or app.get("status") not in STATES:
            return 0
        if not app.get("openid"):
            return 0
        district = self.districts.get(app.get("region_code") or "") or {}
        name = (app.get("profile") or {}).get("name") or ""
        notice = render(
            TEMPLATE,
            notice_id(self.window, app["_id"]),
            app["openid"],
            app["_id"],
            day_label(self.window.end),
            name,
            district.get("office", ""),
            utcnow(),
        )
        notice["campaign_id"] = self.window.id
        await self.outbox.put(notice)
        return 1
