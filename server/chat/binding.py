"""Linking an official-account chat user to their record with a short one-time code.

The mini-program asks for a code (`issue`); the person sends "绑定 123456" in the chat
(`redeem`). Codes are 6 digits, stored only as an HMAC under SECRET_KEY, one-time and
valid for 10 minutes; wrong guesses are limited per chat user. A link is kept in
`chat_links` (chat openid → record id) and copied to the record's `chat_openid` (`$set` by `_id`
through `services.atomic`; linking is not an edit of the record, so its version does not move).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from bson import ObjectId
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from server.db import declare_indexes, utcnow
from server.errors import Busy
from server.lifecycle.store import APPLICATIONS

log = logging.getLogger("kjcj.chat.binding")

CODES = "chat_binding_codes"
LINKS = "chat_links"
ATTEMPTS = "chat_binding_attempts"
CODE_TTL = dt.timedelta(minutes=10)
ATTEMPT_WINDOW = dt.timedelta(hours=1)
MAX_FAILED_ATTEMPTS = 5
declare_indexes(CODES, IndexModel([("openid", ASCENDING)], name="openid"), expiring=True)
declare_indexes(ATTEMPTS, expiring=True)


@dataclass(frozen=True)
class Redeemed:
    """Outcome of a binding attempt: "bound", "bad_code" or "too_many"; `record` when one exists."""

    outcome: str
    record: dict | None = None


class ChatBinding:
    """Issues and redeems binding codes; finds the record linked to a chat user."""

    def __init__(self, services):
        self.services = services
        self.secret = services.settings.secret_key.encode()
        self.codes = services.db[CODES]
        self.links = services.db[LINKS]
        self.attempts = services.db[ATTEMPTS]
        self.records = services.db[APPLICATIONS]

    def _digest(self, code: str) -> str:
        """The stored form of a code (HMAC-SHA256 under SECRET_KEY)."""
        return hmac.new(self.secret, code.encode(), hashlib.sha256).hexdigest()

    async def issue(self, openid: str, record_id: ObjectId) -> dict:
        """A fresh 6-digit code for a mini-program user's record (their older codes stop working)."""
        await self.codes.delete_many({"openid": openid})
        now = utcnow()
        for _ in range(8):
            code = f"{secrets.randbelow(10**6):06d}"
            try:
                await self.codes.insert_one(
                    {
                        "_id": self._digest(code),
                        "openid": openid,
                        "record_id": record_id,
                        "created_at": now,
                        "expires_at": now + CODE_TTL,
                    }
                )
            except DuplicateKeyError:  # another person's live code: draw again
                continue
            return {"code": code, "expires_at": now + CODE_TTL, "expires_in": int(CODE_TTL.total_seconds())}
        raise Busy("绑定码生成繁忙，请稍后重试", "binding_busy")

    async def redeem(self, chat_openid: str, code: str) -> Redeemed:
        """Use a code sent in the chat: link this chat user to the code's owner."""
        now = utcnow()
        tries = await self.attempts.find_one({"_id": chat_openid})
        if tries and tries["expires_at"] > now and tries.get("count", 0) >= MAX_FAILED_ATTEMPTS:
            return Redeemed("too_many")
        digest = self._digest(code)
        doc = await self.codes.find_one({"_id": digest})
        if not doc or doc["expires_at"] < now or (await self.codes.delete_one({"_id": digest})).deleted_count != 1:
            await self._failed(chat_openid, now)
            return Redeemed("bad_code")
        record = await self.link(chat_openid, doc["record_id"])
        log.info("chat user %s linked to a mini-program user", chat_openid[:6] + "***")
        return Redeemed("bound", record)

    async def link(self, chat_openid: str, record_id: ObjectId) -> dict | None:
        """Store the link and set `chat_openid` on the record (cleared on any other record)."""
        previous = await self.links.find_one({"_id": chat_openid})
        await self.links.replace_one({"_id": chat_openid}, {"record_id": record_id, "linked_at": utcnow()}, upsert=True)
        atomic = self.services.atomic
        if previous and previous.get("record_id") != record_id:  # the link names one record at a time
            await atomic.update(
                self.records,
                {"_id": previous["record_id"], "chat_openid": chat_openid},
                {"$set": {"chat_openid": None}},
            )
        return await atomic.update(self.records, {"_id": record_id}, {"$set": {"chat_openid": chat_openid}})

    async def linked(self, chat_openid: str) -> tuple[bool, dict | None]:
        """(linked?, record) by the link (`chat_links`, keyed by the chat openid)."""
        link = await self.links.find_one({"_id": chat_openid})
        if link:
            return True, await self.records.find_one({"_id": link["record_id"]})
        return False, None

    async def _failed(self, chat_openid: str, now: dt.datetime) -> None:
        """Count a wrong code for this chat user within the attempt window."""
        doc = await self.services.atomic.update(
            self.attempts,
            {"_id": chat_openid},
            {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": now + ATTEMPT_WINDOW}},
            upsert=True,
        )
        if doc and doc["expires_at"] < now:  # an old window not swept yet: start a new one
            await self.attempts.replace_one({"_id": chat_openid}, {"count": 1, "expires_at": now + ATTEMPT_WINDOW})
