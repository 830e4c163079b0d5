"""The notice sender: claims due notices with an atomic lease and delivers them via WeChat.

Any number of processes may run it against one database. It polls `deliveries` (only the
notices still to handle, so a small collection) and claims a notice with one
`services.atomic.update` whose condition names its current delivery state and attempt
count: of two senders only one wins. The claim sets state "sending" with a lease owned
by a fresh token; the outcome is written only while that token still holds the claim.
A sender that dies mid-send leaves a lease that expires; the delivery entry then points at
it and another sender takes the notice over (at-least-once only in that crash window).
Network errors, HTTP 5xx and WeChat busy answers are retried with exponential backoff;
43101 (no subscription left) is final ("skipped"), as is a refused request ("failed").
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid

from server.db import utcnow
from server.notify.loop import PokedLoop
from server.notify.notices import due_at, is_due
from server.notify.outbox import DELIVERIES, NOTICES
from server.notify.template import subscribe_data
from server.wechat import subscribe
from server.wechat.errors import InvalidCode, InvalidRequest, NoSubscription, WeChatError

log = logging.getLogger("kjcj.notify")


LEASE = dt.timedelta(seconds=120)  # longer than a send can take (token wait + HTTP timeout)
POLL_SECONDS = 2.0  # a round reads `deliveries`, which holds only notices still to handle
BATCH = 20
MAX_ATTEMPTS = 8
MAX_BACKOFF = 3600.0
RACE_RETRIES = 8


class NoticeSender(PokedLoop):
    """Delivers pending notices of the outbox as subscribe messages (one instance per process).

    Steps taken in this process `poke()` it; notices of other processes and retries that
    come due are found by the poll (at most POLL_SECONDS late).
    """

    poll_seconds = POLL_SECONDS
    label = "notice sender round"

    def __init__(self, services):
        self.services = services
        self.notices = services.db[NOTICES]
        self.deliveries = services.db[DELIVERIES]
        self.settings = services.settings

    async def run_once(self) -> int:
        """One round over due deliveries; returns how many notices this sender delivered or settled."""
        now = utcnow()
        entries = [d async for d in self.deliveries.find({})]  # small: only what is still to handle
        due = sorted((d for d in entries if d.get("due_at") and d["due_at"] <= now), key=lambda d: d["due_at"])
        handled = 0
        for entry in due[:BATCH]:
            handled += await self.deliver(entry["_id"])
        return handled

    async def deliver(self, nid: str) -> int:
        """Claim one notice, send it, record the outcome; 0 when another sender has it."""
        claim = await self._claim(nid)
        if claim is None:
            return 0
        token, notice = claim
        outcome, error = await self._send(notice)
        await self._finish(nid, token, outcome, error)
        return 1

    async def _claim(self, nid: str) -> tuple[str, dict] | None:
        """Take the notice's lease atomically; (lease token, notice) or None."""
        for _ in range(RACE_RETRIES):
            notice = await self.notices.find_one({"_id": nid})
            now = utcnow()
            if not notice or not is_due(notice, now):
                await self._settle_entry(nid, notice)
                return None
            d = notice["delivery"]
            token = uuid.uuid4().hex
            new = {
                **d,
                "state": "sending",
                "attempts": int(d.get("attempts") or 0) + 1,
                "lease_until": now + LEASE,
                "lease_owner": token,
            }
            after = await self._set_delivery(
                nid, new, {"delivery.state": d["state"], "delivery.attempts": d.get("attempts")}
            )
            if after is not None:
                return token, after
        return None

    async def _set_delivery(self, nid: str, delivery: dict, guard: dict) -> dict | None:
        """Replace a notice's delivery state if `guard` holds, and move its `deliveries` entry."""
        after = await self.services.atomic.update(self.notices, {"_id": nid, **guard}, {"$set": {"delivery": delivery}})
        if after is not None:
            await self._settle_entry(nid, after)
        return after

    async def _settle_entry(self, nid: str, notice: dict | None) -> None:
        """Point the notice's `deliveries` entry at its next due time, or drop it when nothing is due."""
        when = due_at(notice) if notice else None
        if when is None:
            await self.deliveries.delete_one({"_id": nid})
        else:
            await self.deliveries.replace_one({"_id": nid}, {"_id": nid, "due_at": when}, upsert=True)

    async def _send(self, notice: dict) -> tuple[str, str | None]:
        """Send one subscribe message: ("sent" | "retry" | "skipped" | "failed", error text)."""
        openid = notice.get("openid")
        if not openid:
            return "skipped", "没有小程序 openid"
        data = subscribe_data(self.settings.subscribe_fields, notice)
        try:
            await subscribe.send(
                self.services.miniprogram,
                openid,
                self.settings.subscribe_template_id,
                data,
                page=self.settings.subscribe_page or None,
            )
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

    async def _finish(self, nid: str, token: str, outcome: str, error: str | None) -> None:
        """Record the outcome while our lease token still holds the notice."""
        for _ in range(RACE_RETRIES):
            notice = await self.notices.find_one({"_id": nid})
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
            after = await self._set_delivery(nid, new, {"delivery.lease_owner": token})
            if after is not None:
                log.info("notice %s: %s (attempt %d)%s", nid, new["state"], d["attempts"], f" {error}" if error else "")
                return
