"""New city-wide announcements pushed to bound chat followers, through the outbox, once each.

WeChat's rule: the official account may send a follower a customer-service message (客服消息)
only within 48 hours of that follower's last interaction (`server/chat/last_seen.py`). So a
city-wide announcement published with `push: true` goes, once it is current, to every chat
follower who is bound to a record (`chat_links`, and the record still names that follower)
and wrote within the last 48 hours.

Two steps, each safe with any number of processes:

- **fan-out**: one process claims the announcement's push (`push.state` pending → running,
  with a lease, by `services.atomic.update`), then writes one outbox notice per follower to
  `notices` with `_id` = "ann-<announcement>-<chat openid>" (writing it again is a no-op) and
  lists it in `chat_deliveries` (what is still to send, like `deliveries` for the subscribe
  messages); then marks the push done. A process that dies in between leaves a lease that
  runs out; the next fan-out finds the notices already written and adds none.
- **delivery**: `ChatNoticeSender` is the outbox's `NoticeSender` (its atomic claim of each
  notice, lease, retries with backoff, outcome recorded under the lease) reading
  `chat_deliveries` and sending a customer-service text message instead of a subscribe
  message. Right before sending it checks that the announcement is still current, the
  follower still bound and still within the 48 hours; otherwise the notice is "skipped".

`AnnouncementPusher.run_forever` runs both (server/app.py starts it with the other
background tasks); a write of an announcement in this process wakes it at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError

from server.announcements.model import state_at
from server.announcements.service import Announcements
from server.chat.binding import LINKS
from server.chat.last_seen import LastSeen
from server.db import utcnow
from server.lifecycle.store import APPLICATIONS
from server.notify.loop import PokedLoop
from server.notify.outbox import NOTICES
from server.notify.sender import NoticeSender
from server.wechat.errors import InvalidCode, InvalidRequest, WeChatError

log = logging.getLogger("kjcj.announcements.push")

CHAT_DELIVERIES = "chat_deliveries"
FANOUT_LEASE = dt.timedelta(minutes=5)  # longer than a fan-out takes (key lookups per recent follower)
POLL_SECONDS = 2.0
BATCH = 100  # followers looked up and notices written together
TEXT_BYTES = 2000  # WeChat takes at most 2048 bytes of text in a customer-service message
CUSTOM_SEND = "/cgi-bin/message/custom/send"
# errcodes that will not change by retrying: the follower is out of reach for this message
FINAL = {
    45015: "超过48小时未与公众号互动",
    43004: "已取消关注公众号",
    45047: "客服消息条数已达上限",
    40003: "openid 无效",
}


def notice_id(announcement_id: str, chat_openid: str) -> str:
    """The outbox `_id` of one announcement's message to one follower (deterministic: written once)."""
    return f"ann-{announcement_id}-{chat_openid}"


def message_text(doc: dict) -> str:
    """The customer-service message: the title and body, cut to WeChat's length with a pointer to the rest."""
    head = f"【公告】{doc['title']}\n"
    text = head + doc["body"]
    if len(text.encode()) <= TEXT_BYTES:
        return text
    tail = "…\n（全文请在小程序“通知公告”中查看）"
    budget = TEXT_BYTES - len(head.encode()) - len(tail.encode())
    return head + doc["body"].encode()[:budget].decode("utf-8", "ignore") + tail


class ChatNoticeSender(NoticeSender):
    """The outbox sender for chat notices (see module doc): claims, leases and retries of NoticeSender."""

    def __init__(self, services):
        super().__init__(services)
        self.deliveries = services.db[CHAT_DELIVERIES]
        self.announcements = services.db["announcements"]
        self.last_seen = services.get(LastSeen)
        self.links = services.db[LINKS]
        self.records = services.db[APPLICATIONS]

    async def bound(self, chat_openid: str) -> bool:
        """True when the follower is linked to a record that still names them (two `_id` reads)."""
        link = await self.links.find_one({"_id": chat_openid})
        if not link:
            return False
        record = await self.records.find_one({"_id": link.get("record_id")}, {"chat_openid": 1})
        return bool(record) and record.get("chat_openid") == chat_openid

    async def _send(self, notice: dict) -> tuple[str, str | None]:
        """Send one customer-service text message: ("sent" | "retry" | "skipped" | "failed", error text)."""
        openid = notice.get("chat_openid")
        if not openid:
            return "skipped", "没有公众号 openid"
        try:
            now = utcnow()
            doc = await self.announcements.find_one({"_id": notice.get("announcement_id")})
            if doc is None or state_at(doc, now) != "current":
                return "skipped", "公告已撤回或已过期"
            if not await self.bound(openid):
                return "skipped", "已解除绑定"
            if not await self.last_seen.within_window(openid, now):
                return "skipped", FINAL[45015]
            await self.services.official_account.call(
                "POST", CUSTOM_SEND, json={"touser": openid, "msgtype": "text", "text": {"content": notice["body"]}}
            )
        except WeChatError as exc:
            if exc.errcode in FINAL:
                return "skipped", f"{exc.errcode} {FINAL[exc.errcode]}"
            if isinstance(exc, (InvalidRequest, InvalidCode)):
                return "failed", f"{exc.errcode} {exc.errmsg}"[:200]
            return "retry", f"{exc.errcode} {exc.errmsg}"[:200]  # network, 5xx, busy, token trouble
        except Exception as exc:  # the database, for one
            log.warning("customer-service message not sent: %s", type(exc).__name__)
            return "retry", type(exc).__name__
        return "sent", None


class AnnouncementPusher(PokedLoop):
    """Fans new city-wide announcements out to the outbox and delivers them (one per process)."""

    poll_seconds = POLL_SECONDS
    label = "announcement push round"

    def __init__(self, services):
        self.services = services
        self.announcements = services.get(Announcements)
        self.sender = services.get(ChatNoticeSender)
        self.last_seen = services.get(LastSeen)
        self.coll = self.announcements.coll
        self.notices = services.db[NOTICES]
        self.deliveries = services.db[CHAT_DELIVERIES]
        self.announcements.on_change(self.poke)  # an announcement written in this process

    async def run_once(self) -> int:
        """One round: fan out the pushes that are due, then deliver due messages; how much was done."""
        return await self.fan_out_due() + await self.sender.run_once()

    async def fan_out_due(self) -> int:
        """Fan out every current city-wide announcement whose push is pending (or whose fan-out died)."""
        now = utcnow()
        done = 0
        for doc in await self.announcements.all():
            push = doc.get("push") or {}
            if doc.get("region_code") is not None or not push.get("requested") or state_at(doc, now) != "current":
                continue
            state = str(push.get("state"))
            stalled = state == "running" and (push.get("lease_until") or now) < now
            if state == "pending" or stalled:
                done += await self.fan_out(doc["_id"], state)
        return done

    async def fan_out(self, announcement_id: str, expected: str) -> int:
        """Claim one announcement's fan-out and write its notices; 0 when another process has it."""
        now = utcnow()
        token = uuid.uuid4().hex
        cond: dict = {"_id": announcement_id, "status": "published", "push.state": expected}
        if expected == "running":
            cond["push.lease_until"] = {"$lt": now}
        claimed = await self.services.atomic.update(
            self.coll,
            cond,
            {"$set": {"push.state": "running", "push.lease_until": now + FANOUT_LEASE, "push.lease_owner": token}},
        )
        if claimed is None:
            return 0
        await self.announcements.changed()
        recipients = await self._queue(claimed, now)
        finished = await self.services.atomic.update(
            self.coll,
            {"_id": announcement_id, "push.lease_owner": token},
            {
                "$set": {
                    "push.state": "done",
                    "push.recipients": recipients,
                    "push.done_at": utcnow(),
                    "push.lease_until": None,
                    "push.lease_owner": None,
                }
            },
        )
        await self.announcements.changed()
        if finished is None:
            log.warning("announcement %s lost its push lease before the fan-out finished", announcement_id)
        log.info("announcement %s: %d chat followers queued", announcement_id, recipients)
        return 1

    async def _queue(self, doc: dict, now: dt.datetime) -> int:
        """Write the notices of every bound follower within the window; how many followers that is."""
        openids = await self.last_seen.recent(now)
        total = 0
        for i in range(0, len(openids), BATCH):
            batch = openids[i : i + BATCH]
            bound = await asyncio.gather(*(self.sender.bound(o) for o in batch))
            chosen = [o for o, ok in zip(batch, bound, strict=True) if ok]
            total += len(chosen)
            await self._put([self._notice(doc, o, now) for o in chosen], now)
        return total

    @staticmethod
    def _notice(doc: dict, chat_openid: str, now: dt.datetime) -> dict:
        """An outbox notice to one chat follower (the shape of server/notify/notices.py, for a chat openid)."""
        nid = notice_id(doc["_id"], chat_openid)
        return {
            "_id": nid,
            "id": nid,
            "kind": "announcement",
            "channel": "chat",
            "chat_openid": chat_openid,
            "openid": None,  # not a mini-program message: no one's inbox lists it
            "announcement_id": doc["_id"],
            "application_id": None,
            "title": doc["title"],
            "body": message_text(doc),
            "data": {},
            "created_at": now,
            "read_at": None,
            "delivery": {
                "state": "pending",
                "attempts": 0,
                "next_at": now,
                "lease_until": None,
                "last_error": None,
                "sent_at": None,
            },
        }

    async def _put(self, notices: list[dict], now: dt.datetime) -> None:
        """Insert the notices (an existing `_id` is left as it is) and list those still to send."""
        if not notices:
            return
        to_send = [n["_id"] for n in notices]
        try:
            await self.notices.insert_many(notices, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            existing = {notices[e["index"]]["_id"] for e in errors}
            to_send = [nid for nid in to_send if nid not in existing]
            for nid in existing:  # written by an interrupted fan-out: listed again only if still unsent
                stored = await self.notices.find_one({"_id": nid}, {"delivery": 1})
                if ((stored or {}).get("delivery") or {}).get("state") in ("pending", "sending"):
                    to_send.append(nid)
        if to_send:
            await self.deliveries.bulk_write(
                [ReplaceOne({"_id": nid}, {"_id": nid, "due_at": now}, upsert=True) for nid in to_send], ordered=False
            )
