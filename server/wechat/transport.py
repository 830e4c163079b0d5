"""The shared transport: aiohttp calls, errcode → exceptions, the access-token lease.

The access token of each appid is cached in MongoDB (`wechat_tokens`). One process
refreshes it under a lease while the others wait for the new value, so several
processes fetch it once, not once each. A 40001/42001 answer forces one refresh
(only if nobody refreshed meanwhile) and one retry.
Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getStableAccessToken.html
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import uuid

import aiohttp
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from server.atomic import Atomic
from server.db import utcnow
from server.wechat.errors import TokenExpired, WeChatUnavailable, error_for

log = logging.getLogger("kjcj.wechat")

TOKEN_MARGIN = dt.timedelta(minutes=5)  # refresh this long before WeChat's expiry
LEASE = dt.timedelta(seconds=15)


class WeChatTransport:
    """HTTP to the WeChat API for one appid, with a shared access token."""

    def __init__(self, base_url: str, appid: str, secret: str, db: AsyncDatabase, atomic: Atomic, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self.secret = secret
        self.tokens = db["wechat_tokens"]
        self.atomic = atomic
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def request(self, method: str, path: str, params: dict | None = None, json: dict | None = None) -> dict:
        """One call without a token; returns the JSON body or raises a WeChatError."""
        url = self.base_url + path
        try:
            async with self._http().request(method, url, params=params, json=json) as resp:
                if resp.status >= 500:
                    raise WeChatUnavailable(-resp.status, f"HTTP {resp.status}")
                if resp.status >= 400:
                    raise error_for(-resp.status, f"HTTP {resp.status}")
                body = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise WeChatUnavailable(-2, f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(body, dict):
            raise WeChatUnavailable(-3, "answer is not a JSON object")
        errcode = body.get("errcode") or 0
        if errcode:
            raise error_for(int(errcode), str(body.get("errmsg", "")))
        return body

    async def call(self, method: str, path: str, params: dict | None = None, json: dict | None = None) -> dict:
        """One call with the access token; a token error forces one refresh and one retry."""
        token = await self.access_token()
        try:
            return await self.request(method, path, params={**(params or {}), "access_token": token}, json=json)
        except TokenExpired:
            log.info("access token for %s refused; refreshing once", self.appid)
            token = await self.access_token(stale=token)
            return await self.request(method, path, params={**(params or {}), "access_token": token}, json=json)

    async def access_token(self, stale: str | None = None) -> str:
        """The current token; `stale` is one WeChat refused, which forces a refresh."""
        deadline = asyncio.get_running_loop().time() + LEASE.total_seconds() + 5
        while True:
            now = utcnow()
            token = await self._fresh_token(now, stale)
            if token:
                return token
            if await self._take_lease(now):
                try:
                    # Another process may have stored a token between our read and the lease.
                    return await self._fresh_token(utcnow(), stale) or await self._refresh(force=stale is not None)
                finally:
                    await self.tokens.update_one(
                        {"_id": self.appid, "lease_owner": self.owner}, {"$set": {"lease_until": utcnow() - LEASE}}
                    )
            if asyncio.get_running_loop().time() > deadline:
                raise WeChatUnavailable(-4, "timed out waiting for another process to refresh the token")
            await asyncio.sleep(0.05)

    async def _fresh_token(self, now: dt.datetime, stale: str | None) -> str | None:
        """The stored token if it is not the refused one and not about to expire."""
        doc = await self.tokens.find_one({"_id": self.appid})
        if doc and doc.get("token") and doc["token"] != stale and doc["expires_at"] > now + TOKEN_MARGIN:
            return doc["token"]
        return None

    async def _take_lease(self, now: dt.datetime) -> bool:
        """Atomically become the one process that refreshes the token."""
        try:
            await self.tokens.update_one(
                {"_id": self.appid}, {"$setOnInsert": {"lease_until": now - LEASE}}, upsert=True
            )
        except DuplicateKeyError:
            pass
        doc = await self.atomic.update(
            self.tokens,
            {"_id": self.appid, "lease_until": {"$lt": now}},
            {"$set": {"lease_until": now + LEASE, "lease_owner": self.owner}},
        )
        return doc is not None

    async def _refresh(self, force: bool) -> str:
        """Fetch a token from /cgi-bin/stable_token and store it."""
        body = await self.request(
            "POST",
            "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": force,
            },
        )
        token = body["access_token"]
        expires = utcnow() + dt.timedelta(seconds=int(body.get("expires_in", 7200)))
        await self.tokens.update_one(
            {"_id": self.appid}, {"$set": {"token": token, "expires_at": expires, "refreshed_at": utcnow()}}
        )
        log.info("fetched access token for %s", self.appid)
        return token
