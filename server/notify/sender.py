"""The notice sender: claims due notices with an atomic lease and delivers them via WeChat.

Any number of processes may run it against one database. A notice is claimed with one
`services.atomic.update` whose condition names its current delivery state and attempt
count (and the record version, so `outbox_due_at` is recomputed from what is really
there): of two senders only one wins. The claim sets state "sending" with a lease owned
by a fresh token; the outcome is written only while that token still holds the claim.
A sender that dies mid-send leaves a lease that expires: `outbox_due_at` then points at
it and another sender takes the notice over (at-least-once only in that crash window).
Network errors, HTTP 5xx and WeChat busy answers are retried with exponential backoff;
43101 (no subscription left) is final ("skipped"), as is a refused request ("failed").
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import uuid

from pymongo import ASCENDING, IndexModel

from server.db import declare_indexes, utcnow
from server.notify.notices import is_due, next_due
from server.notify.template import subscribe_data
from server.review import audit
from server.wechat import subscribe
from server.wechat.errors import InvalidCode, InvalidRequest, NoSubscription, WeChatError

log = logging.getLogger("kjcj.notify")


LEASE = dt.timedelta(seconds=120)  # longer than a send can take (token wait + HTTP timeout)
POLL_SECONDS = 2.0  # a round is one indexed query (a collection scan on FerretDB v1)
BATCH = 20
MAX_ATTEMPTS = 8
MAX_BACKOFF = 3600.0
RACE_RETRIES = 8
declare_indexes("records", IndexModel([("outbox_due_at", ASCENDING)], name="outbox_due_at_1"))


class NoticeSender:
    """Delivers pending notices of `records` as subscribe messages (one instance per process).

    Decisions made in this process `poke()` it; notices of other processes' decisions and
    retries that come due are found by the poll (at most POLL_SECONDS late).
    """

    def __init__(self, services):
        self.services = services
        self.records = services.db["records"]
        self.settings = services.settings
        self._wake: asyncio.Event | None = None

    def poke(self) -> None:
        """Look for due notices now (called after a decision in this process)."""
        if self._wake is not None:
            self._wake.set()

    async def run_forever(self) -> None:
        """Deliver due notices until cancelled; between rounds wait POLL_SECONDS or a poke."""
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            handled = 0
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notice sender round failed")
            if handled:
                continue  # there may be more than one batch due
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
            except asyncio.TimeoutError:
                pass

    async def run_once(self) -> int:
        """One round over due records; returns how many notices this sender delivered or settled."""
        now = utcnow()
        cursor = self.records.find({"outbox_due_at": {"$lte": now}},
                                   {"notices": 1, "version": 1, "decision": 1, "region_code": 1, "profile.name": 1}) \
            .sort("outbox_due_at", ASCENDING).limit(BATCH)
        handled = 0
        async for rec in cursor:
            await audit.log_decision(self.services, rec)  # repairs a crash between decision and audit
            due = [nid for nid, n in (rec.get("notices") or {}).items() if isinstance(n, dict) and is_due(n, now)]
            for nid in due:
                handled += await self.deliver(rec["_id"], nid)
            if not due:
                await self._repair(rec["_id"])
        return handled

    async def deliver(self, record_id, nid: str) -> int:
        """Claim one notice, send it, record the outcome; 0 when another sender has it."""
        claim = await self._claim(record_id, nid)
        if claim is None:
            return 0
        token, rec = claim
        notice = rec["notices"][nid]
        outcome, error = await self._send(rec, notice)
        await self._finish(record_id, nid, token, outcome, error)
        return 1

    async def _claim(self, record_id, nid: str) -> tuple[str, dict] | None:
        """Take the notice's lease atomically; (lease token, record) or None."""
        for _ in range(RACE_RETRIES):
            rec = await self.records.find_one({"_id": record_id},
                                              {"notices": 1, "version": 1, "openid": 1})
            notice = (rec or {}).get("notices", {}).get(nid)
            now = utcnow()
            if not notice or not is_due(notice, now):
                return None
            d = notice["delivery"]
            token = uuid.uuid4().hex
            new = {**d, "state": "sending", "attempts": int(d.get("attempts") or 0) + 1,
                   "lease_until": now + LEASE, "lease_owner": token}
            after = await self._set_delivery(rec, nid, new, {f"notices.{nid}.delivery.state": d["state"],
                                                             f"notices.{nid}.delivery.attempts": d.get("attempts")})
            if after is not None:
                return token, after
        return None

    async def _set_delivery(self, rec: dict, nid: str, delivery: dict, guard: dict) -> dict | None:
        """Replace a notice's delivery state and the record's `outbox_due_at` together, if the
        record is still at the version read and `guard` holds; the record after, or None."""
        notices = {**rec["notices"], nid: {**rec["notices"][nid], "delivery": delivery}}
        return await self.services.atomic.update(  # (FerretDB v1: no projection here)
            self.records, {"_id": rec["_id"], "version": rec.get("version"), **guard},
            {"$set": {f"notices.{nid}.delivery": delivery, "outbox_due_at": next_due(notices)}})

    async def _send(self, rec: dict, notice: dict) -> tuple[str, str | None]:
        """Send one subscribe message: ("sent" | "retry" | "skipped" | "failed", error text)."""
        openid = rec.get("openid")
        if not openid:
            return "skipped", "记录没有小程序 openid"
        data = subscribe_data(self.settings.subscribe_fields, notice)
        try:
            await subscribe.send(self.services.miniprogram, openid, self.settings.subscribe_template_id, data,
                                 page=self.settings.subscribe_page or None)
        except NoSubscription as exc:
            return "skipped", f"{exc.errcode} 用户未订阅或订阅次数已用完"
        except (InvalidRequest, InvalidCode) as exc:
            return "failed", f"{exc.errcode} {exc.errmsg}"[:200]
        except WeChatError as exc:  # network, 5xx, busy, token trouble: worth another try
            return "retry", f"{exc.errcode} {exc.errmsg}"[:200]
        except Exception as exc:  # e.g. the database while fetching the token
            log.warning("subscribe message send failed: %s", exc)
            return "retry", f"{type(exc).__name__}"
        return "sent", None

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: doubling from NOTIFY_RETRY_SECONDS, jittered, capped."""
        base = self.settings.notify_retry_seconds * (2 ** max(0, attempts - 1))
        return min(MAX_BACKOFF, base) * random.uniform(0.9, 1.1)

    async def _finish(self, record_id, nid: str, token: str, outcome: str, error: str | None) -> None:
        """Record the outcome while our lease token still holds the notice."""
        for _ in range(RACE_RETRIES):
            rec = await self.records.find_one({"_id": record_id}, {"notices": 1, "version": 1})
            notice = (rec or {}).get("notices", {}).get(nid)
            d = (notice or {}).get("delivery") or {}
            if d.get("lease_owner") != token or d.get("state") != "sending":
                log.warning("notice %s lost its lease before the outcome %s was recorded", nid, outcome)
                return
            now = utcnow()
            new = {**d, "lease_until": None, "lease_owner": None, "last_error": error}
            if outcome == "sent":
                new.update(state="sent", sent_at=now, last_error=None)
            elif outcome == "retry" and d["attempts"] < MAX_ATTEMPTS:
                new.update(state="pending", next_at=now + dt.timedelta(seconds=self.backoff(d["attempts"])))
            else:
                new.update(state="skipped" if outcome == "skipped" else "failed")
            after = await self._set_delivery(rec, nid, new, {f"notices.{nid}.delivery.lease_owner": token})
            if after is not None:
                log.info("notice %s: %s (attempt %d)%s", nid, new["state"], d["attempts"],
                         f" {error}" if error else "")
                return

    async def _repair(self, record_id) -> None:
        """A record listed as due with nothing due: recompute its `outbox_due_at`."""
        rec = await self.records.find_one({"_id": record_id}, {"notices": 1, "version": 1, "outbox_due_at": 1})
        if rec is None:
            return
        due = next_due(rec.get("notices"))
        if due != rec.get("outbox_due_at"):
            await self.services.atomic.update(self.records, {"_id": record_id, "version": rec.get("version")},
                                              {"$set": {"outbox_due_at": due}})
