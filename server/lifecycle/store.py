"""The lifecycle's collections and their reads: applications, archives, accounts, jobs.

Every read here names one document by `_id` alone: FerretDB v1 on SQLite answers only
that shape from its key (any other filter reads and decodes the whole collection), and
MongoDB answers it from the `_id` index. Ownership and jurisdiction are checked in Python
on the document read.

- `applications` (`_id` ObjectId): one request of a kind (see tables.py). The first
  collection keeps the record's shape: the five sections, `region_code`, `documents`,
  `photo`, `archive_no`; every kind has `kind`, `openid`, `status`, `version`,
  `history` (the steps: n, action, from, status, at, by, role, reason) and `effects_done`.
- `archives` (`_id` archive number): the approved truth, versioned (`versions`).
- `accounts` (`_id` mini-program openid): the person's collection application.
- `account_keys` (`_id` "u:<unionid>"): the account of a unionid (chat status).
- `lifecycle_jobs` (`_id` "<application id>-<step n>-<random>"): steps whose effects may be pending,
  written before the step itself, so a crash leaves a job for the worker (a small collection).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from server.db import utcnow
from server.lifecycle.tables import kind_of
from server.lifecycle.types import Application, Archive, Step

APPLICATIONS = "applications"
ARCHIVES = "archives"
ACCOUNTS = "accounts"
ACCOUNT_KEYS = "account_keys"
JOBS = "lifecycle_jobs"

Doc = dict[str, Any]


def oid(value: Any) -> ObjectId | None:
    """An ObjectId from a string or ObjectId, None when it is not one."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


def step_key(app_id: Any, n: int) -> str:
    """The id shared by a step's job, audit entry and notice."""
    return f"{app_id}-{n}"


def new_step(
    n: int, action: str, before: str | None, after: str, by: str, role: str, at: dt.datetime, **extra: Any
) -> Step:
    """One history entry: the step n of an application (`from` is the state before it)."""
    step: Step = {"n": n, "action": action, "from": before, "status": after, "at": at, "by": by, "role": role}
    step.update({k: v for k, v in extra.items() if v not in (None, "", [])})  # type: ignore[typeddict-item]
    return step


class LifecycleStore:
    """Collections of the lifecycle and their `_id` reads."""

    def __init__(self, services):
        self.services = services
        db = services.db
        self.applications = db[APPLICATIONS]
        self.archives = db[ARCHIVES]
        self.accounts = db[ACCOUNTS]
        self.account_keys = db[ACCOUNT_KEYS]
        self.jobs = db[JOBS]

    async def application(self, app_id: Any, projection: dict | None = None) -> Application | None:
        """An application by id (None when the id is malformed or unknown)."""
        key = oid(app_id)
        return None if key is None else await self.applications.find_one({"_id": key}, projection)

    async def archive(self, number: str | None) -> Archive | None:
        """An archive by its number."""
        return await self.archives.find_one({"_id": number}) if number else None

    async def archive_of(self, record: Mapping[str, Any] | None) -> Archive | None:
        """The archive a first collection became (None before its approval, or when the number's
        archive is another record's)."""
        if not record or record.get("status") != "approved":
            return None
        archive = await self.archive(record.get("archive_no"))
        return archive if archive is not None and archive.get("record_id") == record.get("_id") else None

    async def account(self, openid: str) -> Doc | None:
        """The account of a mini-program openid."""
        return await self.accounts.find_one({"_id": openid})

    async def account_by_unionid(self, unionid: str) -> Doc | None:
        """The account that logged in with a unionid (None if none did)."""
        key = await self.account_keys.find_one({"_id": f"u:{unionid}"})
        return await self.account(key["openid"]) if key else None

    async def applications_of(
        self, archive: Mapping[str, Any] | None, record: Mapping[str, Any] | None
    ) -> list[Application]:
        """The person's applications: the collection, every later application of their archive (changes,
        transfers), and their transfers in, oldest first."""
        ids = ([record["_id"]] if record else []) + list((archive or {}).get("changes") or [])
        ids += list((record or {}).get("transfers_in") or [])
        found = [await self.application(i) for i in dict.fromkeys(ids)]
        return [a for a in found if a is not None]

    async def owned(self, ids: Iterable[Any] | None, openid: str, kind: str) -> list[Application]:
        """The applications among ids (in order, once each) that this account made and that are of this kind."""
        found = [await self.application(i) for i in dict.fromkeys(ids or [])]
        return [a for a in found if a and a.get("openid") == openid and a.get("kind") == kind]

    async def account_and_owned(self, openid: str, field: str, kind: str) -> tuple[Doc, list[Application]]:
        """(the account, {} when none; the applications of this kind it lists under `field` and made)."""
        account = await self.account(openid) or {}
        return account, await self.owned(account.get(field), openid, kind)

    async def add_job(self, app_id: Any, n: int) -> str:
        """Record that step n of an application may have effects to apply (before writing it).

        Each attempt has its own job (two racers for the same step must not share one: the
        loser drops its job, the winner's stays until its effects are derived)."""
        key = f"{step_key(app_id, n)}-{secrets.token_hex(4)}"
        await self.jobs.insert_one({"_id": key, "app_id": app_id, "n": n, "created_at": utcnow()})
        return key

    async def drop_job(self, key: str) -> None:
        """Forget a job (its effects are applied, or its step was never written)."""
        await self.jobs.delete_one({"_id": key})


def notice_ids(apps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Ids of every notice the steps of these applications produced (migrated ones included)."""
    out: list[str] = []
    for app in apps:
        out += list(app.get("legacy_notices") or [])
        kind = kind_of(app.get("kind") or "collection")
        for step in app.get("history") or []:
            t = kind.transition(step.get("from") or "", step.get("action") or "") if kind else None
            if t and t.notice and isinstance(step.get("n"), int):
                out.append(step_key(app["_id"], step["n"]))
    return out
