"""Staff login attempt limits: an attempt is claimed atomically before its password is checked.

Counters are documents of `staff_login_failures` (`_id` = key, expiring):

- `addr:<a>`: every client address, whatever the username (limit STAFF_LOGIN_ADDRESS_LIMIT),
  then slowed down;
- `user:<name>:usual:<a>`: a username at one of its usual addresses (those it logged in from
  successfully, a bounded list on the staff document), locked there for
  STAFF_LOGIN_LOCK_MINUTES after STAFF_LOGIN_LIMIT failures;
- `user:<name>:other`: a username from any other address (strangers share it), slowed down
  after STAFF_LOGIN_LIMIT failures: each further attempt waits twice as long as the one
  before (1 s, 2 s, 4 s ... STAFF_LOGIN_MAX_DELAY_SECONDS) instead of a lock, so strangers
  cannot lock a person out of their usual address.

`<a>` is an HMAC of the client address (SECRET_KEY), never the address itself. A claim is
`Atomic.update` conditional on the count being under the limit (or, once slowed down, on the
wait being over, which the claim moves forward in the same write), so of any number of
concurrent attempts only the allowed ones reach the password check; the rest are 429 at
once. A refusal that can be read without a claim (locked, waiting) costs one `_id` read and
no mutex. Counts are of failures: an attempt whose password is right, or that was never
checked (the other counter refused it, the pools were busy), gives its slot back; a right
password also clears the username's counter at that usual address. A counter restarts after
STAFF_LOGIN_LOCK_MINUTES without attempts. Locks and slow-downs of existing accounts, and a
city administrator's unlock, are written to the audit log (kind "staff", city list only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import uuid
from dataclasses import dataclass

from pymongo.errors import DuplicateKeyError

from server.db import declare_indexes, utcnow
from server.errors import AppError, Busy, Forbidden, NotFound, TooManyRequests, Unauthorized
from server.staff.model import Staff

log = logging.getLogger("kjcj.staff")

COLLECTION = "staff_login_failures"
MAX_USUAL_ADDRESSES = 8  # the most recent addresses of successful logins kept per account
REMEMBER_EVERY = dt.timedelta(hours=1)  # a usual address's time is refreshed at most this often
FIRST_DELAY = 1.0  # seconds to wait after the limit is reached; doubles with each further attempt
CLAIM_ROUNDS = 4

declare_indexes(COLLECTION, expiring=True)


@dataclass(frozen=True)
class Policy:
    """How one kind of counter limits attempts."""

    name: str  # "address" | "usual" | "other"
    limit: int
    idle: dt.timedelta  # a counter restarts after this long without attempts; a lock lasts this long
    max_delay: float  # seconds, the longest wait once slowed down
    lock: bool  # True: locked after `limit` failures; False: slowed down

    def delay(self, count: int) -> dt.timedelta:
        """The wait before the next attempt once `count` attempts are held (slowing down)."""
        steps = min(max(0, count - self.limit), 30)
        return dt.timedelta(seconds=min(self.max_delay, FIRST_DELAY * 2**steps))


@dataclass(frozen=True)
class Claim:
    """One claimed slot of a counter (window: the counter's identity, renewed when it restarts)."""

    key: str
    policy: Policy
    window: str
    count: int
    open_at: dt.datetime


def wait_text(seconds: int) -> str:
    """'30秒' or '15分钟'."""
    return f"{seconds}秒" if seconds < 60 else f"{math.ceil(seconds / 60)}分钟"


def throttled(seconds: float) -> TooManyRequests:
    """429 `login_throttled`: wait before the next attempt (Retry-After)."""
    s = max(1, math.ceil(seconds))
    exc = TooManyRequests(f"登录尝试过于频繁，请{wait_text(s)}后再试", "login_throttled", retry_after=s)
    exc.extra["retry_after_seconds"] = s
    return exc


def locked(seconds: float) -> TooManyRequests:
    """429 `account_locked`: the username is locked at this (usual) address."""
    s = max(1, math.ceil(seconds))
    exc = TooManyRequests(
        f"登录失败次数过多，账号在此地址已锁定，请{wait_text(s)}后再试，或请市级管理员解锁",
        "account_locked",
        retry_after=s,
    )
    exc.extra["retry_after_seconds"] = s
    return exc


def busy(retry_after: int) -> TooManyRequests:
    """429 `login_busy`: too many logins at this moment; the attempt was not checked."""
    s = max(1, retry_after)
    exc = TooManyRequests("登录请求过多，请稍后再试", "login_busy", retry_after=s)
    exc.extra["retry_after_seconds"] = s
    return exc


def bad_credentials(left: int) -> Unauthorized:
    """401: wrong username or password (the same for unknown usernames)."""
    left = max(0, left)
    return Unauthorized(f"用户名或密码错误，再失败{left}次将暂停登录一段时间", "bad_credentials", attempts_left=left)


class LoginGuard:
    """The attempt counters of staff logins (see module doc)."""

    def __init__(self, services):
        self.services = services
        self.coll = services.db[COLLECTION]
        self.staff = services.db["staff"]
        self.atomic = services.atomic
        s = services.settings
        idle = dt.timedelta(minutes=s.staff_login_lock_minutes)
        delay = float(s.staff_login_max_delay_seconds)
        self.address_policy = Policy("address", s.staff_login_address_limit, idle, delay, lock=False)
        self.usual_policy = Policy("usual", s.staff_login_limit, idle, delay, lock=True)
        self.other_policy = Policy("other", s.staff_login_limit, idle, delay, lock=False)
        self._secret = s.secret_key.encode("utf-8")

    # --- addresses ---

    def address_id(self, address: str | None) -> str:
        """The stored form of a client address (keyed hash: counters and staff documents hold no addresses)."""
        return hmac.new(self._secret, (address or "").encode("utf-8"), hashlib.sha256).hexdigest()[:24]

    def is_usual(self, doc: dict | None, address_id: str) -> bool:
        """True when the account logged in successfully from this address before."""
        return doc is not None and address_id in (doc.get("known_addresses") or {})

    async def remember(self, doc: dict, address: str | None) -> None:
        """Add the address of a successful login to the account's usual ones (the newest few kept)."""
        aid = self.address_id(address)
        known = dict(doc.get("known_addresses") or {})
        now = utcnow()
        last = known.get(aid)
        if isinstance(last, dt.datetime) and now - last < REMEMBER_EVERY:
            return
        known[aid] = now
        oldest_first = sorted(known, key=lambda k: known[k] if isinstance(known[k], dt.datetime) else now)
        drop = oldest_first[: max(0, len(known) - MAX_USUAL_ADDRESSES)]
        update: dict = {"$set": {f"known_addresses.{aid}": now}}
        if drop:
            update["$unset"] = {f"known_addresses.{k}": "" for k in drop}
        # A plain write by _id, not a check-and-set: two logins racing here each add their own
        # address; a trim racing another only removes an old entry, never a new one.
        await self.staff.update_one({"_id": doc["_id"]}, update)

    # --- one attempt ---

    async def begin(self, username: str, doc: dict | None, address: str | None) -> Attempt:
        """Claim the attempt's slots (address, then username); 429 when either refuses."""
        aid = self.address_id(address)
        usual = self.is_usual(doc, aid)
        user_key = f"user:{username}:usual:{aid}" if usual else f"user:{username}:other"
        user_policy = self.usual_policy if usual else self.other_policy
        try:
            await self.peek(user_key, user_policy)  # a locked or waiting username costs a read, no claim
            addr = await self.claim(f"addr:{aid}", self.address_policy, None)
        except Busy as exc:
            raise busy(exc.retry_after) from None
        try:
            user = await self.claim(user_key, user_policy, username)
        except BaseException as exc:
            await self.give_back(addr)  # not checked: the address keeps no failure for it
            if isinstance(exc, Busy):
                raise busy(exc.retry_after) from None
            raise
        return Attempt(self, username, doc, address, addr, user)

    async def peek(self, key: str, policy: Policy) -> None:
        """Raise the refusal a counter would give now, without claiming."""
        doc = await self.coll.find_one({"_id": key})
        now = utcnow()
        if doc is not None and doc["expires_at"] > now:
            refusal = self._refusal(doc, policy, now)
            if refusal is not None:
                raise refusal

    async def claim(self, key: str, policy: Policy, username: str | None) -> Claim:
        """Take one slot of a counter atomically, or raise its refusal (429)."""
        doc: dict | None = None
        for _ in range(CLAIM_ROUNDS):
            now = utcnow()
            doc = await self.coll.find_one({"_id": key})
            if doc is None or doc["expires_at"] <= now:  # none, or restarting after a quiet spell
                fresh = self._fresh(policy, username, now)
                if doc is None:
                    try:
                        await self.coll.insert_one({"_id": key, **fresh})  # a unique-key insert: atomic everywhere
                    except DuplicateKeyError:
                        continue
                    return Claim(key, policy, fresh["window"], 1, fresh["open_at"])
                after = await self.atomic.update(
                    self.coll, {"_id": key, "window": doc["window"], "expires_at": {"$lte": now}}, {"$set": fresh}
                )
            else:
                refusal = self._refusal(doc, policy, now)
                if refusal is not None:
                    raise refusal
                filter_, update = self._claim_update(key, doc, policy, now)
                after = await self.atomic.update(self.coll, filter_, update)
            if after is not None:
                return Claim(key, policy, after["window"], after["count"], after["open_at"])
        # Lost every race: others hold the slots at this moment.
        refusal = self._refusal(doc, policy, utcnow()) if doc is not None else None
        raise refusal or throttled(1)

    def _fresh(self, policy: Policy, username: str | None, now: dt.datetime) -> dict:
        """A counter's fields when it (re)starts with one claimed attempt."""
        return {
            "window": uuid.uuid4().hex[:16],
            "policy": policy.name,
            "username": username,
            "count": 1,
            "locks": 0,
            "first_at": now,
            "last_at": now,
            # slowing down: the first attempt past the limit waits from the last one within it
            "open_at": now if policy.lock else now + policy.delay(policy.limit),
            "expires_at": now + policy.idle,
        }

    def _claim_update(self, key: str, doc: dict, policy: Policy, now: dt.datetime) -> tuple[dict, dict]:
        """The conditional write that takes the next slot of an open counter."""
        if doc["count"] < policy.limit:
            filter_: dict = {"_id": key, "window": doc["window"], "count": {"$lt": policy.limit}}
            sets: dict = {"last_at": now, "expires_at": now + policy.idle}
            if policy.lock:
                filter_["open_at"] = {"$lte": now}
            else:
                sets["open_at"] = now + policy.delay(policy.limit)
            return filter_, {"$inc": {"count": 1}, "$set": sets}
        # Slowed down and the wait is over: this attempt goes, the next one waits twice as long.
        open_at = now + policy.delay(doc["count"] + 1)
        filter_ = {"_id": key, "window": doc["window"], "count": {"$gte": policy.limit}, "open_at": {"$lte": now}}
        update = {
            "$inc": {"count": 1},
            "$set": {"last_at": now, "open_at": open_at, "expires_at": open_at + policy.idle},
        }
        return filter_, update

    @staticmethod
    def _refusal(doc: dict, policy: Policy, now: dt.datetime) -> AppError | None:
        """Why a live counter refuses an attempt now, or None."""
        wait = (doc["open_at"] - now).total_seconds()
        if policy.lock:
            if wait > 0:
                return locked(wait)
            if doc["count"] >= policy.limit:
                return throttled(1)  # the last attempts are being checked; one of them may lock
            return None
        if doc["count"] >= policy.limit and wait > 0:
            return throttled(wait)
        return None

    async def give_back(self, claim: Claim) -> None:
        """Return a slot (a right password, or an attempt never checked); best effort."""
        try:
            await self.atomic.update(
                self.coll, {"_id": claim.key, "window": claim.window, "count": {"$gt": 0}}, {"$inc": {"count": -1}}
            )
        except Exception as exc:  # the slot stays counted: the safe side
            log.warning("staff login slot %s not given back: %s", claim.key, exc)

    async def reset(self, key: str) -> None:
        """Forget a counter."""
        await self.coll.delete_one({"_id": key})

    async def failed(self, attempt: Attempt) -> AppError:
        """The answer to a wrong password once both counters hold it; locks or slows down at the limit."""
        user, addr = attempt.user, attempt.addr
        refusals: list[TooManyRequests] = []
        now = utcnow()
        if user.count >= user.policy.limit:
            if user.policy.lock:
                until = now + user.policy.idle
                after = await self.atomic.update(
                    self.coll,
                    {"_id": user.key, "window": user.window, "count": {"$gte": user.policy.limit}},
                    {
                        "$set": {"count": 0, "open_at": until, "expires_at": until, "locked_at": now},
                        "$inc": {"locks": 1},
                    },
                )
                if after is not None:
                    log.warning(
                        "staff login %s locked at a usual address after %d failures", attempt.username, user.count
                    )
                    await self._audit_event(
                        attempt,
                        f"staff-locked-{user.window}-{after['locks']}",
                        "staff_locked",
                        f"从常用地址连续{user.count}次密码错误，在该地址锁定{wait_text(int(user.policy.idle.total_seconds()))}",
                        "locked",
                    )
                    refusals.append(locked((until - now).total_seconds()))
            else:
                if user.count == user.policy.limit:
                    log.warning(
                        "staff login %s slowed down after %d failures from other addresses",
                        attempt.username,
                        user.count,
                    )
                    await self._audit_event(
                        attempt,
                        f"staff-throttled-{user.window}",
                        "staff_throttled",
                        f"从非常用地址连续{user.count}次密码错误，此后登录须等待（最长{wait_text(int(user.policy.max_delay))}）",
                        "throttled",
                    )
                refusals.append(throttled((user.open_at - now).total_seconds()))
        if addr.count >= addr.policy.limit:
            if addr.count == addr.policy.limit:
                log.warning("staff logins from one address slowed down after %d failures", addr.count)
            refusals.append(throttled((addr.open_at - now).total_seconds()))
        if refusals:
            return max(refusals, key=lambda e: e.retry_after)
        return bad_credentials(min(user.policy.limit - user.count, addr.policy.limit - addr.count))

    async def _audit_event(self, attempt: Attempt, entry_id: str, action: str, reason: str, after: str) -> None:
        """Log a lock or slow-down of an existing account (one entry per event; never fails the login)."""
        if attempt.doc is None:  # unknown usernames are not logged: anyone could fill the log with them
            return
        await self.audit(
            entry_id, attempt.username, action, reason, "system", "system", "active", after, attempt.address
        )

    async def audit(
        self,
        entry_id: str,
        username: str,
        action: str,
        reason: str,
        actor: str,
        actor_role: str,
        before: str,
        after: str,
        address: str | None = None,
    ) -> None:
        """Append a staff-account entry to the audit log (city-wide list only); errors are logged."""
        from server.review import audit  # late: the review package imports the staff model

        entry: dict[str, object] = {
            "_id": entry_id,
            "record_id": username,
            "kind": "staff",
            "region_code": None,
            "to_region": None,
            "name": username,
            "archive_no_tail": "",
            "actor": actor,
            "actor_role": actor_role,
            "at": utcnow(),
            "action": action,
            "reason": reason,
            "reason_codes": [],
            "before": {"status": before, "version": None},
            "after": {"status": after, "version": None},
            "notice_id": None,
            "address": address or "",
        }
        try:
            await audit.append(self.services, entry)
        except Exception:
            log.exception("audit entry %s not written", entry_id)

    # --- administration ---

    async def clear(self, username: str) -> int:
        """Delete every counter of a username, and of its usual addresses; how many were removed."""
        removed = (await self.coll.delete_many({"username": username})).deleted_count
        doc = await self.staff.find_one({"_id": username}, {"known_addresses": 1})
        for aid in (doc or {}).get("known_addresses") or {}:
            removed += (await self.coll.delete_one({"_id": f"addr:{aid}"})).deleted_count
        return removed

    async def unlock(self, staff: Staff, username: str) -> dict:
        """A city administrator clears an account's lock and slow-downs (audit-logged)."""
        if not staff.is_city_admin:
            raise Forbidden("只有市级管理员可以解锁账号", "city_admin_only")
        doc = await self.staff.find_one({"_id": username}, {"_id": 1})
        if doc is None:
            raise NotFound("没有这个账号", "staff_not_found")
        cleared = await self.clear(username)
        now = utcnow()
        await self.audit(
            f"staff-unlocked-{username}-{now.strftime('%Y%m%dT%H%M%S%f')}",
            username,
            "staff_unlocked",
            f"市级管理员解除登录限制（清除{cleared}个计数）",
            staff.username,
            staff.role,
            "locked",
            "active",
        )
        log.info("staff login limits of %s cleared by %s (%d counters)", username, staff.username, cleared)
        return {"username": username, "cleared": cleared, "unlocked_at": now}


class Attempt:
    """A login attempt holding its two slots until the password check's outcome."""

    def __init__(
        self, guard: LoginGuard, username: str, doc: dict | None, address: str | None, addr: Claim, user: Claim
    ):
        self.guard, self.username, self.doc, self.address = guard, username, doc, address
        self.addr, self.user = addr, user

    async def succeeded(self) -> None:
        """The password was right: the slots are given back and the usual address's counter cleared."""
        if self.user.policy.lock:
            await self.guard.reset(self.user.key)
        else:
            await self.guard.give_back(self.user)
        await self.guard.give_back(self.addr)

    async def unchecked(self) -> None:
        """The password was never checked (pool busy): both slots are given back."""
        await self.guard.give_back(self.user)
        await self.guard.give_back(self.addr)

    async def failed(self) -> AppError:
        """The password was wrong: the error to answer (401, or 429 at a limit)."""
        return await self.guard.failed(self)
