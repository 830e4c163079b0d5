"""Staff cookie sessions: random tokens stored only as SHA-256 hashes, expiring, revocable."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from pymongo import ASCENDING, IndexModel

from server.db import declare_indexes, utcnow
from server.districts import deployment_districts
from server.errors import Forbidden, Unauthorized
from server.staff.model import Staff, staff_of
from server.tokens import digest

declare_indexes("staff_sessions", IndexModel([("username", ASCENDING)], name="username_1"), expiring=True)


class StaffSessions:
    """The `staff_sessions` collection: `_id` = sha256(cookie token), plus the XSRF token's hash."""

    def __init__(self, services):
        self.services = services
        self.sessions = services.db["staff_sessions"]
        self.hours = services.settings.staff_session_hours

    async def create(self, username: str) -> tuple[str, str, dt.datetime]:
        """A new session: (cookie token, XSRF token, expiry); only their hashes are stored."""
        token, xsrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = utcnow()
        expires = now + dt.timedelta(hours=self.hours)
        await self.sessions.insert_one(
            {"_id": digest(token), "username": username, "xsrf": digest(xsrf), "created_at": now, "expires_at": expires}
        )
        return token, xsrf, expires

    async def resolve(self, token: str | None, xsrf: str | None = None, require_xsrf: bool = False) -> Staff:
        """The signed-in Staff for a cookie token (401 if none/expired/disabled); checks XSRF if required."""
        if not token or len(token) > 200:
            raise Unauthorized("请先登录", "staff_login_required")
        session = await self.sessions.find_one({"_id": digest(token)})
        if session is None or session["expires_at"] <= utcnow():
            raise Unauthorized("登录已过期，请重新登录", "staff_session_expired")
        if require_xsrf and not (xsrf and hmac.compare_digest(digest(xsrf), session.get("xsrf", ""))):
            raise Forbidden("页面已过期，请刷新后重试", "xsrf_failed")
        doc = await self.services.db["staff"].find_one({"_id": session["username"]}, {"password_hash": 0})
        if doc is None or doc.get("disabled"):
            await self.sessions.delete_one({"_id": session["_id"]})
            raise Unauthorized("账号不可用，请重新登录", "staff_session_expired")
        return staff_of(doc, deployment_districts(self.services.settings), session["_id"])

    async def revoke(self, session_id: str) -> None:
        """End one session (logout)."""
        await self.sessions.delete_one({"_id": session_id})

    async def revoke_user(self, username: str) -> int:
        """End every session of an account; returns how many."""
        return (await self.sessions.delete_many({"username": username})).deleted_count
