"""The outbox: notices of every kind, the person's inbox, and what waits for the sender.

`notices` (`_id` = "<application id>-<step n>", so deriving a notice twice writes it once)
holds each notice with its delivery state; `deliveries` (`_id` = notice id, `due_at`) lists
only the notices the sender still has to handle, so the sender's poll reads a small
collection however many notices exist. Reads of `notices` are by `_id` alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pymongo.errors import DuplicateKeyError

from server.db import utcnow
from server.errors import NotFound

NOTICES = "notices"
DELIVERIES = "deliveries"
EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def message_view(notice: dict) -> dict:
    """One inbox message as the mini-program sees it (delivery internals left out)."""
    return {
        "id": notice.get("id"),
        "kind": notice.get("kind"),
        "title": notice.get("title"),
        "body": notice.get("body"),
        "data": notice.get("data") or {},
        "created_at": notice.get("created_at"),
        "read_at": notice.get("read_at"),
        "read": bool(notice.get("read_at")),
    }


class Outbox:
    """Writes notices once, reads a person's inbox, marks messages read."""

    def __init__(self, services):
        self.services = services
        self.notices = services.db[NOTICES]
        self.deliveries = services.db[DELIVERIES]

    async def put(self, notice: dict) -> None:
        """Store a pending notice and its delivery entry (idempotent on the notice id)."""
        try:
            await self.notices.insert_one(notice)
        except DuplicateKeyError:
            stored = await self.notices.find_one({"_id": notice["_id"]}, {"delivery": 1})
            if not stored or (stored.get("delivery") or {}).get("state") not in ("pending", "sending"):
                return
        await self.deliveries.replace_one(
            {"_id": notice["_id"]}, {"_id": notice["_id"], "due_at": notice["delivery"]["next_at"]}, upsert=True
        )

    async def get(self, notice_id: str) -> dict | None:
        """One notice by id."""
        return await self.notices.find_one({"_id": notice_id})

    async def many(self, ids: Iterable[str]) -> list[dict]:
        """The notices of these ids that exist, newest first."""
        found = [await self.get(i) for i in dict.fromkeys(ids)]
        notices = [n for n in found if n is not None]
        notices.sort(key=lambda n: n.get("created_at") or EPOCH, reverse=True)
        return notices

    async def inbox(self, openid: str, ids: Iterable[str]) -> dict:
        """The caller's messages among these notice ids, newest first, with the unread count."""
        items = [message_view(n) for n in await self.many(ids) if n.get("openid") == openid]
        return {"messages": items, "unread": sum(1 for m in items if not m["read"])}

    async def mark_read(self, openid: str, notice_id: str) -> dict:
        """Mark one of the caller's messages read (idempotent: the first read time is kept)."""
        notice = await self.get(notice_id)
        if notice is None or notice.get("openid") != openid:
            raise NotFound("消息不存在", "message_not_found")
        if notice.get("read_at") is None:
            notice = (
                await self.services.atomic.update(
                    self.notices, {"_id": notice_id, "read_at": None}, {"$set": {"read_at": utcnow()}}
                )
                or await self.get(notice_id)
                or notice
            )
        return message_view(notice)
