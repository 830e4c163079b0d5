"""Continuing-education reminders (继续教育提醒): in the months of CE_REMINDER_SCHEDULE (by default
October, November and December, China time), everyone whose standing shows the year's credits
missing gets one notice a month: a subscribe message through the outbox, and the same message in
the mini-program's inbox (the notice id is kept on the person's account, as the recovery's notice
to an old account is).

Who: the `standings` documents (written by the standing runner, server/duties/runner.py) whose
`years` entry for the current year is not complete; the archive (read by `_id`) gives the
account and the name. An archive transferred out, or without an account, is not reminded.

Once per person and month, whatever the number of processes:
- the month's round is held by a lease (`ce_reminder_rounds`, `_id` "YYYY-MM"; server/duties/
  lease.py, the shape of the campaign reminder's and the file sweep's): one process walks the
  standings at a time, in `_id` order, recording its cursor; a process that dies leaves a lease
  that runs out and the next round goes on from the cursor; a round pauses while the sender has
  a backlog (BACKLOG_MAX, as the campaign reminder does) and a later one goes on;
- each reminder is claimed before it is sent by a unique-key insert into `ce_reminders`
  (`_id` "ce-reminder:<archive number>:<YYYY-MM>"), state "claimed" then "queued" once the
  notice is in the outbox. A claim left "claimed" by a dead process is taken over after LEASE
  (conditionally on its owner), and the notice's `_id` is fixed per person and month, so the
  outbox writes it once and the sender delivers it once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import time
from typing import Any

from pymongo.errors import DuplicateKeyError

from server.campaigns.reminders import BACKLOG_MAX
from server.db import utcnow
from server.districts import deployment_districts
from server.duties.lease import JobLease, LeaseLost
from server.lifecycle.store import ACCOUNTS, ARCHIVES
from server.notify.notices import render
from server.notify.outbox import Outbox
from server.notify.template import CHINA

log = logging.getLogger("kjcj.duties")

TEMPLATE = "ce_reminder"
STANDINGS = "standings"
ROUNDS = "ce_reminder_rounds"
CLAIMS = "ce_reminders"
FROM_HOUR = 9  # China time: no reminder is queued before this hour of the day
PAGE = 200  # standings handled between two cursor records
CONCURRENCY = 25  # people handled at once (archive read, claim, outbox writes)
LEASE = dt.timedelta(minutes=10)  # renewed every quarter of it; FerretDB sorts `standings` before the first batch
POLL_SECONDS = 300.0  # how often each process looks whether a round is due
PROJECTION = {"years": 1, "region_code": 1}
_PLAIN_ID = re.compile(r"[A-Za-z0-9]{1,40}")


def claim_id(archive_no: str, month: str) -> str:
    return f"ce-reminder:{archive_no}:{month}"


def notice_id(archive_no: str, month: str) -> str:
    """The notice's `_id` (also the inbox message id: letters, digits, - and _ only)."""
    key = archive_no if _PLAIN_ID.fullmatch(archive_no) else hashlib.sha256(archive_no.encode()).hexdigest()[:24]
    return f"ce-remind-{month.replace('-', '')}-{key}"


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _credits(value: float) -> str:
    return f"{value:g}"


def missing_entry(standing: dict, year: int) -> dict | None:
    """The standing's entry of `year` when its credits are missing, else None."""
    for entry in standing.get("years") or []:
        if isinstance(entry, dict) and entry.get("year") == year:
            return None if entry.get("complete") else entry
    return None


def reminder_text(year: int, entry: dict) -> str:
    """What is missing, in one sentence: the template's {reason}."""
    total, required = _num(entry.get("credits_total")), _num(entry.get("required_total"))
    prof, required_prof = _num(entry.get("credits_professional")), _num(entry.get("required_professional"))
    text = f"您{year}年度继续教育已取得{_credits(total)}学分，还差{_credits(max(0.0, required - total))}学分"
    if required_prof > prof:
        text += f"（其中专业科目还差{_credits(required_prof - prof)}学分）"
    return text


class CeReminders:
    """The monthly reminder rounds (see module doc); one instance per process."""

    def __init__(self, services):
        self.services = services
        self.schedule = services.settings.ce_reminder_days  # read once
        self.rounds = services.db[ROUNDS]
        self.claims = services.db[CLAIMS]
        self.standings = services.db[STANDINGS]
        self.archives = services.db[ARCHIVES]
        self.accounts = services.db[ACCOUNTS]
        self.outbox = services.get(Outbox)
        self.districts = deployment_districts(services.settings)

    def due_month(self, now: dt.datetime) -> str | None:
        """The month ("YYYY-MM") whose reminders are due at `now`, if any (China time)."""
        local = now.astimezone(CHINA)
        for month, day in self.schedule:
            if local.month == month and local.day >= day and local.hour >= FROM_HOUR:
                return f"{local.year}-{month:02d}"
        return None

    async def remind_once(self, now: dt.datetime | None = None) -> int:
        """Queue the reminders due at `now` if this process takes the month's round; how many it queued."""
        now = now or utcnow()
        month = self.due_month(now)
        if month is None:
            return 0
        seen = await self.rounds.find_one({"_id": month}, {"done_at": 1})
        if seen is not None and seen.get("done_at"):
            return 0
        lease = JobLease(self.services, self.rounds, month, LEASE)
        state = await lease.take(now, due_only=False, queued=0, cursor=None, done_at=None, started_at=now)
        if state is None or state.get("done_at"):
            if state is not None:
                await lease.release()
            return 0
        mine = 0
        try:
            mine = await self._walk(lease, month, state.get("cursor"), int(state.get("queued") or 0))
        except LeaseLost:
            log.warning("ce reminders %s: lease lost after %d notices", month, mine)
        return mine

    async def _walk(self, lease: JobLease, month: str, cursor: str | None, queued: int) -> int:
        year = int(month[:4])
        mine = 0
        query = {"_id": {"$gt": cursor}} if cursor else {}
        batch: list[dict] = []
        renewed = time.monotonic()

        async def flush() -> int:
            done = 0
            for at in range(0, len(batch), CONCURRENCY):
                done += sum(
                    await asyncio.gather(*[self._remind(s, month, year, lease) for s in batch[at : at + CONCURRENCY]])
                )
            return done

        async for standing in self.standings.find(query, PROJECTION, batch_size=PAGE).sort("_id", 1):
            if missing_entry(standing, year) is not None:
                batch.append(standing)
            if len(batch) >= PAGE or time.monotonic() - renewed > LEASE.total_seconds() / 4:
                mine += await flush()
                await lease.renew(cursor=standing["_id"], queued=queued + mine)  # everything up to here is done
                renewed, batch = time.monotonic(), []
                if await self.outbox.deliveries.estimated_document_count() > BACKLOG_MAX:
                    await lease.release()  # the cursor stays: a later round (any process) goes on
                    log.info("ce reminders %s: paused while the sender catches up", month)
                    return mine
        mine += await flush()
        await lease.release(queued=queued + mine, done_at=utcnow(), cursor=None)
        log.info("ce reminders %s: round done (%d queued by this process)", month, mine)
        return mine

    async def _remind(self, standing: dict, month: str, year: int, lease: JobLease) -> int:
        """One person's reminder of the month, if not claimed already; 1 when this call queued it."""
        archive_no = standing["_id"]
        entry = missing_entry(standing, year)
        if entry is None:
            return 0
        archive = await self.archives.find_one(
            {"_id": archive_no}, {"openid": 1, "region_code": 1, "transferred_out": 1, "data.profile.name": 1}
        )
        if archive is None or not archive.get("openid") or archive.get("transferred_out"):
            return 0
        if not await self._claim(archive_no, month, archive["openid"], lease):
            return 0
        district = self.districts.get(archive.get("region_code") or "") or {}
        name = ((archive.get("data") or {}).get("profile") or {}).get("name") or ""
        nid = notice_id(archive_no, month)
        notice = render(
            TEMPLATE,
            nid,
            archive["openid"],
            None,
            reminder_text(year, entry),
            name,
            district.get("office", ""),
            utcnow(),
        )
        notice.update({"archive_no": archive_no, "ce_year": year, "ce_month": month})
        await self.outbox.put(notice)
        await self.services.atomic.update(self.accounts, {"_id": archive["openid"]}, {"$addToSet": {"notices": nid}})
        await self.claims.update_one(
            {"_id": claim_id(archive_no, month)}, {"$set": {"state": "queued", "notice_id": nid}}
        )
        return 1

    async def _claim(self, archive_no: str, month: str, openid: str, lease: JobLease) -> bool:
        """Claim the person's reminder of the month: a unique-key insert, or the takeover of a claim
        left unfinished by a process that no longer holds the round (only the holder claims)."""
        key = claim_id(archive_no, month)
        token = lease.token
        try:
            await self.claims.insert_one(
                {
                    "_id": key,
                    "archive_no": archive_no,
                    "month": month,
                    "openid": openid,
                    "state": "claimed",
                    "owner": token,
                    "claimed_at": utcnow(),
                }
            )
            return True
        except DuplicateKeyError:
            pass
        seen = await self.claims.find_one({"_id": key})
        if seen is None or seen.get("state") != "claimed" or seen.get("owner") == token:
            return False
        round_ = await self.rounds.find_one({"_id": month}, {"lease_owner": 1})
        if (round_ or {}).get("lease_owner") == seen.get("owner"):
            return False  # its claimer still holds the round: it is finishing it
        taken = await self.services.atomic.update(
            self.claims,
            {"_id": key, "state": "claimed", "owner": seen.get("owner")},
            {"$set": {"owner": token, "claimed_at": utcnow()}},
        )
        return taken is not None

    async def run_forever(self, every: float = POLL_SECONDS) -> None:
        """Look every `every` seconds whether a round is due, and take it; until cancelled."""
        if not self.schedule:
            return
        while True:
            try:
                await self.remind_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ce reminder round failed")
            await asyncio.sleep(every)
