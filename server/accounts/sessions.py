"""Mini-program sessions: random bearer tokens, stored only as SHA-256 hashes, expiring.

A token is `secrets.token_urlsafe(32)`; the collection `user_sessions` keeps
`_id` = sha256(token) with the openid, the record id and `expires_at` (checked on
every read, swept by `server.db.sweep_forever`). The token itself is never stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from bson import ObjectId

from server.db import declare_indexes, utcnow
from server.errors import BadRequest, Invalid, Locked, Unauthorized
from server.records.store import RecordStore
from server.tokens import digest
from server.wechat import login as wxlogin
from server.wechat.errors import InvalidCode

log = logging.getLogger("kjcj.accounts")

COLLECTION = "user_sessions"
MAX_CODE_LENGTH = 256
MAX_TOKEN_LENGTH = 128
# Only the expires_at index: lookups are by _id (FerretDB v1 also drops the connection when one
# createIndexes call re-creates two or more existing indexes, so collections keep few of them).
declare_indexes(COLLECTION, expiring=True)


@dataclass(frozen=True)
class SessionUser:
    """Who is calling: the mini-program openid and their record's id."""

    openid: str
    record_id: ObjectId
    session_id: str


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or Unauthorized."""
    if not header:
        raise Unauthorized("请先登录", "token_missing")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("登录凭证格式不正确，请重新登录", "token_invalid")
    return token


class SessionService:
    """Login with a wx.login code, resolve and revoke bearer tokens."""

    def __init__(self, services):
        self.services = services
        self.sessions = services.db[COLLECTION]
        self.records = services.get(RecordStore)

    async def login(self, body: dict) -> dict:
        """Exchange a wx.login code for a session: {token, expires_at, record_status}."""
        code = body.get("code")
        problems = [{"field": k, "code": "unknown_field", "message": "不支持的字段"} for k in body if k != "code"]
        if not isinstance(code, str) or not code.strip():
            problems.insert(0, {"field": "code", "code": "required", "message": "缺少微信登录凭证 code"})
        elif len(code) > MAX_CODE_LENGTH:
            problems.insert(0, {"field": "code", "code": "too_long", "message": "微信登录凭证 code 过长"})
        if problems or not isinstance(code, str):
            raise Invalid(problems)
        try:
            wx = await wxlogin.code2session(self.services.miniprogram, code.strip())
        except InvalidCode as exc:
            if exc.errcode == 45011:
                raise Locked("登录过于频繁，请稍后再试", "wechat_rate_limited") from None
            raise Unauthorized("微信登录凭证无效或已过期，请重新进入小程序", "wechat_code_invalid") from None
        if not wx.openid:
            raise BadRequest("微信未返回用户标识，请重新登录", "wechat_no_openid")
        record = await self.records.ensure(wx.openid, wx.unionid)
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires_at = now + dt.timedelta(days=self.services.settings.session_days)
        await self.sessions.insert_one(
            {
                "_id": digest(token),
                "openid": wx.openid,
                "record_id": record["_id"],
                "created_at": now,
                "expires_at": expires_at,
            }
        )
        log.info("mini-program login", extra={"fields": {"record_id": str(record["_id"])}})
        return {"token": token, "expires_at": expires_at, "record_status": record["status"]}

    async def authenticate(self, header: str | None) -> SessionUser:
        """The caller behind an Authorization header; Unauthorized when missing, unknown or expired."""
        token = bearer_token(header)
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("登录凭证无效，请重新登录", "token_invalid")
        session = await self.sessions.find_one({"_id": digest(token)})
        if session is None:
            raise Unauthorized("登录凭证无效，请重新登录", "token_invalid")
        if session["expires_at"] <= utcnow():
            await self.sessions.delete_one({"_id": session["_id"]})
            raise Unauthorized("登录已过期，请重新登录", "token_expired")
        # valid only while the account still points at the record the session was opened for:
        # an account recovery moves the record to another account and ends these sessions at once
        account = await self.records.accounts.find_one({"_id": session["openid"]}, {"record_id": 1})
        if account is None or account.get("record_id") != session["record_id"]:
            await self.sessions.delete_one({"_id": session["_id"]})
            raise Unauthorized("登录状态已失效，请重新登录", "session_revoked")
        return SessionUser(session["openid"], session["record_id"], session["_id"])

    async def logout(self, user: SessionUser) -> None:
        """Revoke the caller's session."""
        await self.sessions.delete_one({"_id": user.session_id})
