"""The standing service: applies the rules (server/duties/standing.py) to archives and keeps
`standings` (`_id` archive number; the contract in /work/notes/shape.md, read by reports).

When it runs:
- on a change of a fact, for the archives concerned: an import, its undo, a manual entry, an
  approved claim (`recompute(numbers)`); the assessments' writer calls it too;
- nightly (CE_STANDING_HOUR, China time) over every archive, in one process only: a lease in
  `ce_standing_runs` (`_id` "nightly": lease_until, lease_owner, next_at, runs, last), taken and
  renewed with `services.atomic.update` (server/duties/lease.py, the file sweep's shape); a holder that dies blocks nobody
  longer than the lease.

Shaped for FerretDB: the nightly run reads `archives` once as a stream (a projection of the fields
the rules read), and for each batch of BATCH archives reads their `ce_credits`, `standings` and
assessments by `_id` (never a filter other than `_id`), computes, and writes only the standings
that changed (bulk replace, at most 50 a command); the loop is given back between batches.

Each change of standing is one notice (inbox + subscribe message through the outbox): its id is
"standing-<archive>-<n>" with n the standing's change counter, so two runs that see the same
change write one notice. The notice is kept on the account (`accounts.notices`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import struct
import time
from collections.abc import Iterable
from typing import Any, Protocol

from pymongo import UpdateOne

from server.db import utcnow
from server.districts import deployment_districts
from server.duties import standing as rules
from server.duties.assessed import assessed_years, assessment_of, stream_assessed
from server.duties.credits import CreditStore
from server.duties.lease import JobLease
from server.lifecycle.store import Doc, LifecycleStore
from server.notify.notices import render
from server.notify.outbox import Outbox
from server.notify.sender import NoticeSender
from server.notify.template import CHINA

log = logging.getLogger("kjcj.duties.standing")

STANDINGS = "standings"
RUNS = "ce_standing_runs"
NIGHTLY = "nightly"
LEASE = dt.timedelta(minutes=5)
BATCH = 200
READS_AT_ONCE = 50
WRITES_PER_COMMAND = 50
POLL_SECONDS = 300.0
RENEW_SECONDS = 30.0
START_DELAY = 90.0
# the archive fields the rules read (a projection: the versions and documents are left in the database)
PROJECTION = {
    "region_code": 1,
    "openid": 1,
    "transferred_out": 1,
    "data.profile.name": 1,
    "data.qualification": 1,
    "data.qualifications": 1,
    "data.employment": 1,
    "data.work_history": 1,
    "data.legacy.ce_years": 1,
    "created_at": 1,
}
KEPT = ("standing", "incomplete_years", "abnormal_years", "missing_assessment_years", "years", "first_year")


def today_china() -> dt.date:
    return dt.datetime.now(CHINA).date()


def next_night(now: dt.datetime, hour: int) -> dt.datetime:
    """The next `hour` o'clock China time after `now` (UTC)."""
    local = now.astimezone(CHINA)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += dt.timedelta(days=1)
    return at.astimezone(dt.UTC)


Totals = dict[int, tuple[int, int]]  # year -> (total, professional) in tenths of credits
Summary = tuple[bytes, int, str]  # a stored standing: (fingerprint, change counter, standing)


def fingerprint(result: Doc, region: Any) -> bytes:
    """A short digest of what a standing says (its rules' fields and district): equal when unchanged."""
    kept = repr(([result.get(k) for k in KEPT], region)).encode()
    return hashlib.blake2b(kept, digest_size=12).digest()


def summary(doc: Doc) -> Summary:
    return (fingerprint(doc, doc.get("region_code")), int(doc.get("changes") or 0), doc.get("standing") or rules.NORMAL)


def pack(totals: Totals) -> bytes:
    """Year totals in 12 bytes a year (tenths of credits), for the nightly run's memory."""
    flat = [v for y, (t, p) in sorted(totals.items()) for v in (y, t, p)]
    return struct.pack(f"<{len(flat)}i", *flat)


def unpack(data: bytes) -> Totals:
    flat = struct.unpack(f"<{len(data) // 4}i", data)
    return {flat[i]: (flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)}


async def read_by_id(collection, numbers: list[str], projection: dict | None = None) -> dict[str, Doc]:
    """Documents by `_id`, READS_AT_ONCE at a time (FerretDB answers only `_id` filters from its index)."""
    out: dict[str, Doc] = {}
    for at in range(0, len(numbers), READS_AT_ONCE):
        part = numbers[at : at + READS_AT_ONCE]
        found = await asyncio.gather(*[collection.find_one({"_id": n}, projection) for n in part])
        out.update({d["_id"]: d for d in found if d is not None})
    return out


class Inputs(Protocol):
    """Where a batch's facts come from: {number: totals}, {number: stored summary}, {number: assessments}."""

    async def get(self, archives: list[Doc]) -> tuple[dict[str, Totals], dict[str, Summary], dict[str, dict]]: ...


class ById:
    """A few archives (a fact changed): each input read by `_id`."""

    def __init__(self, service: StandingService):
        self.service = service

    async def get(self, archives: list[Doc]) -> tuple[dict[str, Totals], dict[str, Summary], dict[str, dict]]:
        numbers = [a["_id"] for a in archives]
        svc = self.service
        credits, stored, assessed = await asyncio.gather(
            read_by_id(svc.credits.collection, numbers, {"entries": 1}),
            read_by_id(svc.standings, numbers, {k: 1 for k in (*KEPT, "region_code", "changes")}),
            assessed_years(svc.services, archives),
        )
        totals = {n: rules.year_totals(d.get("entries") or []) for n, d in credits.items()}
        return totals, {n: summary(d) for n, d in stored.items()}, assessed


class Scanned:
    """Every archive (the nightly run): each input collection streamed once into compact summaries
    (packed year totals, stored standings' fingerprints, assessment years): about 300 bytes an
    archive instead of a query per archive and input."""

    def __init__(self, service: StandingService) -> None:
        self.service = service
        self.totals: dict[str, bytes] = {}
        self.stored: dict[str, Summary] = {}
        # None: the assessments are read by `_id` a batch at a time; else packed (see `pack_assessed`)
        self.assessed: dict[str, bytes] | None = {}
        self.labels: list[str] = []

    @classmethod
    async def load(cls, service: StandingService, pause) -> Scanned:
        self = cls(service)
        n = 0

        async def step() -> None:
            nonlocal n
            n += 1
            if n % BATCH == 0:
                await (pause() if pause else asyncio.sleep(0))

        async for doc in service.credits.collection.find({}, {"entries": 1}, batch_size=BATCH):
            self.totals[doc["_id"]] = pack(rules.year_totals(doc.get("entries") or []))
            await step()
        projection = {k: 1 for k in (*KEPT, "region_code", "changes")}
        async for doc in service.standings.find({}, projection, batch_size=BATCH):
            self.stored[doc["_id"]] = summary(doc)
            await step()
        stream = stream_assessed(service.services)
        if stream is None:
            self.assessed = None
        else:
            async for number, years in stream:
                self.assessed[number] = self.pack_assessed(years)  # type: ignore[index]
                await step()
        return self

    async def get(self, archives: list[Doc]) -> tuple[dict[str, Totals], dict[str, Summary], dict[str, dict]]:
        numbers = [a["_id"] for a in archives]
        totals = {n: unpack(self.totals[n]) for n in numbers if n in self.totals}
        stored = {n: self.stored[n] for n in numbers if n in self.stored}
        if self.assessed is None:
            assessed = await assessed_years(self.service.services, archives)
        else:
            assessed = {n: self.unpack_assessed(self.assessed[n]) for n in numbers if n in self.assessed}
        return totals, stored, assessed

    def pack_assessed(self, years: dict[int, str]) -> bytes:
        """{year: result label} in 4 bytes a year (the labels numbered: there are a handful)."""
        flat = []
        for year, label in sorted(years.items()):
            if label not in self.labels:
                self.labels.append(label)
            flat += [int(year), self.labels.index(label)]
        return struct.pack(f"<{len(flat)}H", *flat)

    def unpack_assessed(self, data: bytes) -> dict[int, str]:
        flat = struct.unpack(f"<{len(data) // 2}H", data)
        return {flat[i]: self.labels[flat[i + 1]] for i in range(0, len(flat), 2)}


class StandingService:
    """Computes and stores standings (see module doc); one instance per process."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.standings = services.db[STANDINGS]
        self.runs = services.db[RUNS]
        self.credits = services.get(CreditStore)
        self.store = services.get(LifecycleStore)
        self.outbox = services.get(Outbox)
        self.requirement = rules.Requirement.of(
            self.settings.ce_required_credits, rules.parse_share(self.settings.ce_professional_share)
        )
        self._renewed = 0.0

    # ---- the rules on one archive ----

    def facts(self, archive: Doc, totals: Totals, assessments: dict[int, str], today: dt.date) -> rules.Facts:
        data = archive.get("data") or {}
        return rules.Facts(
            first_year=rules.first_year(data),
            records_from=rules.records_from(archive.get("created_at")),
            legacy_years=rules.legacy_years(data),
            totals=totals,
            legacy_done=rules.legacy_complete(data, self.requirement),
            assessments=assessments,
            assessment=assessment_of(self.settings, data, assessments, today),
        )

    def evaluate(self, archive: Doc, totals: Totals, assessments: dict[int, str], today: dt.date) -> Doc:
        return rules.evaluate(self.facts(archive, totals, assessments, today), self.requirement, today)

    async def preview(self, archive: Doc, entries: list[Doc] | None = None) -> Doc:
        """The standing of one archive computed now from its facts (for a view), with the stored one's time."""
        if entries is None:
            entries = await self.credits.entries(archive["_id"])
        assessed = (await assessed_years(self.services, [archive])).get(archive["_id"], {})
        result = self.evaluate(archive, rules.year_totals(entries), assessed, today_china())
        stored = await self.standings.find_one({"_id": archive["_id"]}, {"computed_at": 1})
        return {
            **result,
            "reason": rules.reason(result),
            "what_to_do": rules.what_to_do(result),
            "computed_at": (stored or {}).get("computed_at"),
        }

    # ---- runs ----

    async def recompute(self, numbers: Iterable[str]) -> int:
        """Recompute the standings of these archives now (after a fact changed); how many changed.
        Their inputs are read by `_id`."""
        numbers = list(dict.fromkeys(n for n in numbers if n))
        inputs = ById(self)
        changed = 0
        for at in range(0, len(numbers), BATCH):
            found = await read_by_id(self.store.archives, numbers[at : at + BATCH], PROJECTION)
            changed += await self._batch(list(found.values()), today_china(), inputs)
            await asyncio.sleep(0)
        return changed

    async def recompute_records(self, record_ids: Iterable[Any]) -> int:
        """`recompute` for people named by their first collection's id (the assessments' writer)."""
        ids = list(dict.fromkeys(record_ids))
        numbers: list[str] = []
        for at in range(0, len(ids), READS_AT_ONCE):
            found = await asyncio.gather(
                *[self.store.application(i, {"archive_no": 1, "status": 1}) for i in ids[at : at + READS_AT_ONCE]]
            )
            numbers += [a["archive_no"] for a in found if a and a.get("status") == "approved" and a.get("archive_no")]
        return await self.recompute(numbers)

    async def run_all(self, renew: bool = False) -> Doc:
        """Every archive once (the nightly run's body): {archives, changed, seconds}. Each input
        collection is read once as a stream into compact per-archive summaries (see `Scanned`),
        then `archives` is streamed and computed in batches."""
        started = time.monotonic()
        self._renewed = time.monotonic()
        today = today_china()
        inputs = await Scanned.load(self, self._pause if renew else None)
        seen = changed = 0
        batch: list[Doc] = []
        async for archive in self.store.archives.find({}, PROJECTION, batch_size=BATCH):
            batch.append(archive)
            if len(batch) >= BATCH:
                changed += await self._batch(batch, today, inputs)
                seen += len(batch)
                batch = []
                await self._pause() if renew else await asyncio.sleep(0)
        if batch:
            changed += await self._batch(batch, today, inputs)
            seen += len(batch)
        return {"archives": seen, "changed": changed, "seconds": round(time.monotonic() - started, 3)}

    async def _pause(self) -> None:
        """Between batches: give the loop back, and renew the lease when it is due."""
        await asyncio.sleep(0)
        if time.monotonic() - self._renewed > RENEW_SECONDS:
            await self._renew()

    async def _batch(self, archives: list[Doc], today: dt.date, inputs: Inputs) -> int:
        """Compute a batch of archives and write the standings that changed; how many changed."""
        archives = [a for a in archives if not a.get("transferred_out")]
        if not archives:
            return 0
        totals, stored, assessed = await inputs.get(archives)
        now = utcnow()
        writes: list[UpdateOne] = []
        notices: list[tuple[Doc, Doc]] = []
        for archive in archives:
            number = archive["_id"]
            result = self.evaluate(archive, totals.get(number) or {}, assessed.get(number, {}), today)
            before = stored.get(number)
            if before is not None and before[0] == fingerprint(result, archive.get("region_code")):
                continue
            was = before[2] if before else rules.NORMAL
            n = before[1] if before else 0
            moved = was != result["standing"]
            sets = {"region_code": archive.get("region_code"), **result, "computed_at": now}
            if moved:
                sets |= {"changes": n + 1, "changed_at": now, "previous": was}
            elif before is None:
                sets |= {"changes": 0, "changed_at": None, "previous": None}
            writes.append(UpdateOne({"_id": number}, {"$set": sets}, upsert=True))
            if moved:
                notices.append((archive, {**sets, "changes": n + 1}))
        for at in range(0, len(writes), WRITES_PER_COMMAND):
            await self.standings.bulk_write(writes[at : at + WRITES_PER_COMMAND], ordered=False)
        for at in range(0, len(notices), READS_AT_ONCE):
            await asyncio.gather(*[self._notify(a, d) for a, d in notices[at : at + READS_AT_ONCE]])
        return len(writes)

    async def _notify(self, archive: Doc, doc: Doc) -> None:
        """One notice per change of standing (idempotent on the change counter)."""
        openid = archive.get("openid")
        if not openid:
            return
        notice_id = f"standing-{archive['_id']}-{doc['changes']}"
        office = (deployment_districts(self.settings).get(archive.get("region_code") or "") or {}).get("office", "")
        name = ((archive.get("data") or {}).get("profile") or {}).get("name") or ""
        why = rules.reason(doc)
        notice = render(
            "standing_changed", notice_id, openid, None, doc["standing_label"], name, office, doc["computed_at"]
        )
        notice["body"] = f"您的会计人员状态已变为“{doc['standing_label']}”：{why}。" + "".join(rules.what_to_do(doc))
        notice["archive_no"] = archive["_id"]
        await self.outbox.put(notice)
        await self.services.atomic.update(self.store.accounts, {"_id": openid}, {"$addToSet": {"notices": notice_id}})
        self.services.get(NoticeSender).poke()

    # ---- the nightly run under a lease ----

    async def nightly(self, force: bool = False) -> Doc | None:
        """The nightly run if it is due (or `force`) and no other process holds it: its report, else None."""
        lease = JobLease(self.services, self.runs, NIGHTLY, LEASE)
        first = next_night(utcnow(), self.settings.ce_standing_hour)
        state = await lease.take(due_only=not force, next_at=first, runs=0)
        if state is None:
            return None
        self._lease = lease
        report: Doc | None = None
        try:
            report = await self.run_all(renew=True)
        finally:
            fields: dict[str, Any] = {}
            if report is not None:
                fields = {
                    "last": {**report, "at": utcnow(), "by": lease.token},
                    "runs": int(state.get("runs") or 0) + 1,
                }
            await lease.release(next_night(utcnow(), self.settings.ce_standing_hour), **fields)
        log.info(
            "standing run: %d archives, %d standings changed, %.1f s",
            report["archives"],
            report["changed"],
            report["seconds"],
        )
        return report

    async def _renew(self) -> None:
        await self._lease.renew()
        self._renewed = time.monotonic()

    async def run_forever(self) -> None:
        """Look every few minutes whether the nightly run is due (any process may run it)."""
        import random

        await asyncio.sleep(START_DELAY * random.uniform(1.0, 2.0))
        while True:
            try:
                await self.nightly()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("standing run failed")
            await asyncio.sleep(POLL_SECONDS * random.uniform(0.8, 1.2))
