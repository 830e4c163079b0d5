"""The person's record: their account and first-collection application, and archive-number claims.

One account per mini-program openid (`accounts`, `_id` = openid) names its first collection
(an application of kind "collection" in `applications`, see server/lifecycle/store.py).
Every write bumps `version`; conditional writes go through `services.atomic.update`. Reads
name one document by `_id` and check the owner in Python. An archive number is claimed by a
unique-key insert into `archive_numbers` (`_id` = number, `record_id`).

A person's claim is also the only way to learn whether an ID number is registered, so
`claim_archive_no` with the claimant's openid is rate-limited (`ClaimLimits`): per account and
per client address, the claims that find the number taken are counted in the database (all
processes), a slot taken before looking so concurrent claims cannot slip past the count. Past
the limit every claim of a new number is refused (429) before looking, so the refusal itself
tells nothing. The 409 neither names nor confirms the holder, and points the real owner to
account recovery (账号找回) or the district bureau.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import asynccontextmanager

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.db import utcnow
from server.errors import Conflict, NotFound
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.store import LifecycleStore
from server.lifecycle.tables import COLLECTION
from server.masking import mask_id_number
from server.ratelimit import SharedLimit
from server.records.fields import LISTS, READ_ONLY, SECTIONS

log = logging.getLogger("kjcj.records")

SECTION_NAMES = tuple(SECTIONS)
EDITABLE = tuple(sorted(COLLECTION.editable_states))
WRITE_RETRIES = 5  # versioned writes retried after a concurrent edit of the same record
# A claim whose record never took the number (crash between claim and write) is freed after this.
STALE_CLAIM = dt.timedelta(minutes=2)


TAKEN = "archive_no_taken"
CLAIM_WINDOW = 3600.0  # seconds: the limits below are per hour


def archive_taken() -> Conflict:
    """The 409 for an archive number another record holds (or is claiming right now): it does not
    say whose, and sends the real owner to account recovery."""
    return Conflict(
        "该证件号码不能在本账号使用：同一证件号码只能登记一份，它可能已登记于其他微信账号。"
        "如确为您本人的证件号码，请申请账号找回，或携本人身份证件联系所在区财政局。",
        TAKEN,
        field="profile.id_number",
    )


class ClaimLimits:
    """How often one account and one client address may find an ID number taken (per hour)."""

    MESSAGE = "证件号码核对过于频繁，请稍后再试。如确为您本人的证件号码却无法登记，请申请账号找回，或联系所在区财政局。"
    CODE = "id_number_checks_exceeded"

    def __init__(self, services):
        s = services.settings
        self.per_account = SharedLimit(
            services, "id-taken-account", s.id_conflicts_per_account_hour, CLAIM_WINDOW, self.MESSAGE, self.CODE
        )
        self.per_address = SharedLimit(
            services, "id-taken-address", s.id_conflicts_per_address_hour, CLAIM_WINDOW, self.MESSAGE, self.CODE
        )

    @asynccontextmanager
    async def lookup(self, openid: str, address: str | None):
        """Hold a slot of each limit for one claim; the slots are kept only when it finds the number taken."""
        slots: list[tuple[SharedLimit, str]] = []
        try:
            slots.append((self.per_account, await self.per_account.take(openid)))
            if address:
                slots.append((self.per_address, await self.per_address.take(address)))
            yield
        except Conflict as exc:
            if exc.code == TAKEN:
                slots.clear()  # counted: the slots stay taken
            raise
        finally:
            for limit, slot in slots:
                await limit.give_back(slot)


def new_record(openid: str, unionid: str | None) -> dict:
    """A fresh first collection (the lifecycle adds state, version and its first step)."""
    return {
        "_id": ObjectId(),
        "kind": "collection",
        "openid": openid,
        "unionid": unionid,
        **{name: {} for name in SECTION_NAMES},
        **{name: [] for name in LISTS},
        "region_code": None,
        "archive_no": None,
        "rare_name": False,
        "documents": {},
        "photo": None,
        "submitted_at": None,
        "decided_at": None,
        "decision": None,
        "chat_openid": None,
    }


class RecordStore:
    """Reads and versioned writes of one person's record."""

    def __init__(self, services):
        self.services = services
        self.lifecycle_store = services.get(LifecycleStore)
        self.records = self.lifecycle_store.applications
        self.accounts = self.lifecycle_store.accounts
        self.claims = services.db["archive_numbers"]
        self.limits = services.get(ClaimLimits)

    async def ensure(self, openid: str, unionid: str | None) -> dict:
        """The record of this openid, created as a draft on first login."""
        account = await self.accounts.find_one({"_id": openid})
        doc = await self.records.find_one({"_id": account["record_id"]}) if account else None
        if doc is None:
            fresh = new_record(openid, unionid)
            try:  # the account first: of two concurrent first logins one insert wins
                await self.accounts.insert_one({"_id": openid, "record_id": fresh["_id"], "created_at": utcnow()})
            except DuplicateKeyError:
                account = await self.accounts.find_one({"_id": openid})
                if account and account["record_id"] != fresh["_id"]:
                    existing = await self.records.find_one({"_id": account["record_id"]})
                    if existing is not None:
                        return await self._link_unionid(existing, unionid)
                    await self.services.atomic.update(
                        self.accounts,
                        {"_id": openid, "record_id": account["record_id"]},
                        {"$set": {"record_id": fresh["_id"]}},
                    )
            doc = await self.services.get(Lifecycle).create(fresh, "create", Actor.applicant(openid))
            if unionid:
                await self._key_unionid(openid, unionid)
        return await self._link_unionid(doc, unionid)

    async def _key_unionid(self, openid: str, unionid: str) -> None:
        """Point the unionid at the account (chat status finds a person by it)."""
        key = f"u:{unionid}"
        await self.lifecycle_store.account_keys.replace_one({"_id": key}, {"_id": key, "openid": openid}, upsert=True)

    async def _link_unionid(self, doc: dict, unionid: str | None) -> dict:
        """Remember the unionid on the record and as a key to the account (chat status finds it)."""
        if unionid and doc.get("unionid") != unionid:
            await self._key_unionid(doc["openid"], unionid)
            doc = (
                await self.services.atomic.update(
                    self.records,
                    {"_id": doc["_id"]},
                    {"$set": {"unionid": unionid, "updated_at": utcnow()}, "$inc": {"version": 1}},
                )
                or doc
            )
        return doc

    async def load(self, record_id: ObjectId, openid: str) -> dict:
        """The caller's record, found by the session's record id and checked against its openid."""
        doc = await self.records.find_one({"_id": record_id})
        if doc is None or doc.get("openid") != openid:
            raise NotFound("未找到您的登记信息，请重新登录", "record_not_found")
        return doc

    async def write(self, doc: dict, update: dict, editable_only: bool = True) -> dict | None:
        """Apply `update` if the record is still at `doc`'s version (and editable); else None."""
        cond: dict = {"_id": doc["_id"], "version": doc["version"]}
        if editable_only:
            cond["status"] = {"$in": list(EDITABLE)}
        update = {**update, "$inc": {"version": 1}}
        update["$set"] = {**update.get("$set", {}), "updated_at": utcnow()}
        return await self.services.atomic.update(self.records, cond, update)

    async def attach_file(self, doc: dict, section: str, key: str | None, entry: dict, also=None) -> dict:
        """Point the editable record at a newly stored file (`photo`, or `documents.<kind>` with
        key), retrying after concurrent edits. The new file is deleted if that fails, the one it
        replaces once it succeeded. `also(doc)` gives more fields to set in the same write (an
        entry's `proof`), or raises. Returns the record as it was just before the write."""
        path = f"{section}.{key}" if key else section
        files = self.services.files
        try:
            for _ in range(WRITE_RETRIES):
                sets = {path: entry, **(also(doc) if also else {})}
                if await self.write(doc, {"$set": sets}) is not None:
                    break
                doc = await self.load(doc["_id"], doc["openid"])
                require_editable(doc)
            else:
                raise Conflict("操作过于频繁，请稍后重试", "version_conflict")
        except BaseException:
            await files.delete(entry["file_id"])
            raise
        old = (doc.get(section) or {}).get(key) if key else doc.get(section)
        if old and old.get("file_id") and old["file_id"] != entry["file_id"]:
            await files.delete(old["file_id"])
        return doc

    async def claim_archive_no(
        self, number: str, record_id: ObjectId, openid: str | None = None, address: str | None = None
    ) -> bool:
        """Claim an archive number for a record; True when newly claimed, Conflict when taken.

        With the claimant's `openid` (a person entering a number; `address` their client address)
        the claim is rate-limited (TooManyRequests, see `ClaimLimits`)."""
        if openid is None:
            return await self._claim(number, record_id)
        async with self.limits.lookup(openid, address):
            return await self._claim(number, record_id)

    async def _claim(self, number: str, record_id: ObjectId) -> bool:
        """The claim itself (unique-key insert; a stale claim of a crashed write is taken over)."""
        now = utcnow()
        try:
            await self.claims.insert_one({"_id": number, "record_id": record_id, "claimed_at": now})
            return True
        except DuplicateKeyError:
            pass
        held = await self.claims.find_one({"_id": number})
        if held is None:  # released meanwhile: one more try
            try:
                await self.claims.insert_one({"_id": number, "record_id": record_id, "claimed_at": now})
                return True
            except DuplicateKeyError:
                raise archive_taken() from None
        if held["record_id"] == record_id:
            return False
        owner = await self.records.find_one({"_id": held["record_id"]}, {"archive_no": 1})
        if (owner is not None and owner.get("archive_no") == number) or held["claimed_at"] > now - STALE_CLAIM:
            log.info("archive number %s already registered", mask_id_number(number))
            raise archive_taken()
        taken = await self.services.atomic.update(
            self.claims,
            {"_id": number, "record_id": held["record_id"], "claimed_at": held["claimed_at"]},
            {"$set": {"record_id": record_id, "claimed_at": now}},
        )
        if taken is None:
            raise archive_taken()
        return True

    async def release_archive_no(self, number: str | None, record_id: ObjectId) -> None:
        """Give up a record's claim on a number it does not hold (no-op when not its own claim)."""
        if (
            not number
            or ((await self.records.find_one({"_id": record_id}, {"archive_no": 1})) or {}).get("archive_no") == number
        ):
            return
        held = await self.claims.find_one({"_id": number})
        if held and held.get("record_id") == record_id:
            await self.claims.delete_one({"_id": number})


def require_editable(doc: dict) -> None:
    """Conflict (409) unless the record is a draft or was rejected."""
    status = doc.get("status")
    if status in EDITABLE:
        return
    if status == "approved":
        raise Conflict(
            "您的信息已审核通过，不能在此修改；信息有变化请在小程序“信息变更”中申请", "record_locked", status=status
        )
    raise Conflict("您的信息已提交，正在审核中，审核完成前不能修改", "record_locked", status=status)


def record_fields(doc: dict) -> dict:
    """The person's part of a record: the five sections, the lists, `legacy` (when the register
    gave one) and region_code."""
    out: dict = {name: dict(doc.get(name) or {}) for name in SECTION_NAMES}
    for name in LISTS:  # absent only in a document not yet moved to the fuller shape (migrate_shape.py)
        if name in doc:
            out[name] = [dict(e) for e in doc.get(name) or [] if isinstance(e, dict)]
    for name in READ_ONLY:
        if isinstance(doc.get(name), dict):
            out[name] = dict(doc[name])
    out["region_code"] = doc.get("region_code")
    return out
