"""The engine: takes a step of an application by its kind's table, then derives its effects.

A step is written with one conditional single-document update of the application
(its state and version must still be what the actor saw), after a job naming the step
has been recorded. Its effects (the archive's new version, the audit entry, the notice,
the list rows) are then derived from the recorded step, idempotently, under a mutex per
application: inline for the request that took the step, and by `LifecycleWorker` for any
job a crash left behind. So nothing is lost or done twice if a process dies between writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from server.db import utcnow
from server.districts import deployment_districts
from server.errors import Busy, Conflict, Forbidden, NotFound
from server.lifecycle.archive import Archives
from server.lifecycle.readmodel import ReadModels
from server.lifecycle.store import Doc, LifecycleStore, new_step, step_key
from server.lifecycle.tables import Kind, Transition, kind_of
from server.notify.notices import render
from server.notify.outbox import Outbox
from server.review import audit, stats
from server.staff.model import Staff

log = logging.getLogger("kjcj.lifecycle")

JOB_GRACE = dt.timedelta(seconds=60)  # a job whose step never appeared is dropped after this
WORKER_POLL = 5.0

Guard = Callable[[Doc, dict], Awaitable[None]]
Effect = Callable[[Doc, Doc], Awaitable[None]]  # (application, step)


@dataclass(frozen=True)
class Actor:
    """Who takes a step: the applicant (openid), a staff member, or the system."""

    role: str  # "applicant" | "reviewer" | "system"
    name: str  # "self", a staff username, or "system"
    openid: str | None = None
    staff: Staff | None = None

    @classmethod
    def applicant(cls, openid: str) -> Actor:
        return cls("applicant", "self", openid=openid)

    @classmethod
    def reviewer(cls, staff: Staff) -> Actor:
        return cls("reviewer", staff.username, staff=staff)


def not_found() -> NotFound:
    """The one answer for a missing application and one outside the caller's reach."""
    return NotFound("记录不存在或无权查看", "record_not_found")


def may_see(actor: Actor, app: Doc, regions: set | None = None) -> bool:
    """True when the actor may read (and so act on) this application (`regions`: its districts,
    see `Lifecycle.regions`; default its own region_code and to_region)."""
    if actor.role == "applicant":
        return app.get("openid") == actor.openid
    if actor.role == "reviewer":
        seen = regions if regions is not None else {app.get("region_code"), app.get("to_region")} - {None}
        return actor.staff is not None and any(actor.staff.can_see(r) for r in seen)
    return actor.role == "system"


def not_your_step(t: Transition) -> Forbidden:
    """403: the step is another district's (a transfer's origin or destination)."""
    side = "调入地" if t.where == "to_region" else "调出地"
    return Forbidden(f"此步骤由{side}财政局办理", "not_your_step")


def changed(app: Doc) -> Conflict:
    """409 naming the application's current state and version."""
    kind = kind_of(app.get("kind")) or kind_of("collection")
    if app.get("status") not in (kind.review_states if kind else ["submitted"]):
        message = "该记录当前不是待审核状态，可能已被他人处理，请刷新后查看"
    else:
        message = "该记录已被修改，请刷新后重新审核"
    return Conflict(message, "record_changed", status=app.get("status"), version=app.get("version"))


class Lifecycle:
    """Takes steps by the tables and derives their effects."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(LifecycleStore)
        self.archives = services.get(Archives)
        self.readmodels = services.get(ReadModels)
        self.outbox = services.get(Outbox)
        self.guards: dict[str, Guard] = {}
        self.effects: dict[str, Effect] = {
            "create_archive": self.archives.create_from,
            "apply_diff": self.archives.apply_change,
        }
        self._sender_poke: Callable[[], None] | None = None

    def register_guard(self, name: str, guard: Guard) -> None:
        """A named guard of the tables (checked before the step is written)."""
        self.guards[name] = guard

    def register_effect(self, name: str, effect: Effect) -> None:
        """A named effect of the tables (derived from a recorded step; must be idempotent on the step)."""
        self.effects[name] = effect

    def on_notice(self, poke: Callable[[], None]) -> None:
        """Call `poke` after a step produced a notice (the sender looks at once)."""
        self._sender_poke = poke

    @staticmethod
    def kind(app: Doc) -> Kind:
        """The kind of an application (old records are first collections)."""
        kind = kind_of(app.get("kind") or "collection")
        if kind is None:
            raise not_found()
        return kind

    async def regions(self, app: Doc) -> set:
        """The districts whose reviewers see an application: a transfer's origin and destination;
        for an approved first collection or a change, the archive's district now (one document:
        a transfer that moves the archive moves them all at once); else its own district."""
        if app.get("to_region"):
            return {app.get("region_code"), app["to_region"]} - {None}
        if app.get("archive_no") and (app.get("kind") == "change" or app.get("status") == "approved"):
            archive = await self.store.archive(app["archive_no"])
            if archive is not None and archive.get("region_code"):
                return {archive["region_code"]}
        return {app.get("region_code")}

    async def visible(self, actor: Actor, app_id: Any) -> Doc:
        """The application if the actor may see it, else NotFound."""
        app = await self.store.application(app_id)
        if app is None:
            raise not_found()
        regions = await self.regions(app) if actor.role == "reviewer" else None
        if not may_see(actor, app, regions):
            raise not_found()
        return app

    def transition(self, app: Doc, action: str, actor: Actor) -> Transition:
        """The table's row for this action from the application's state, for this actor; else 409
        (403 when the row is another district's)."""
        kind = self.kind(app)
        t = kind.transition(app.get("status") or "", action)
        if t is None or t.actor != actor.role:
            raise changed(app)
        if actor.role == "reviewer" and not (actor.staff and actor.staff.can_see(app.get(t.where))):
            raise not_your_step(t)
        return t

    @staticmethod
    def actions_for(app: Doc, staff: Staff) -> list[Transition]:
        """The rows a reviewer may take now (their district is the one the row names)."""
        kind = kind_of(app.get("kind") or "collection")
        rows = kind.actions(app.get("status") or "", "reviewer") if kind else []
        return [t for t in rows if staff.can_see(app.get(t.where))]

    async def step(
        self,
        app: Doc,
        action: str,
        actor: Actor,
        body: dict | None = None,
        *,
        sets: dict | None = None,
        version: int | None = None,
        at: dt.datetime | None = None,
        **step_extra: Any,
    ) -> Doc:
        """Take one step (guards, conditional write, effects); the application after it."""
        if version is not None and app.get("version") != version:
            raise changed(app)  # what the actor saw is gone: 409 before asking whose step it is now
        t = self.transition(app, action, actor)
        for name in t.guards:
            await self.guards[name](app, body or {})
        now = at or utcnow()
        history = app.get("history") or []
        n = max([h.get("n") or i + 1 for i, h in enumerate(history)] + [0]) + 1
        v = int(app.get("version") or 1)
        step = new_step(n, action, t.state, t.to, actor.name, actor.role, now, v=v + 1, **step_extra)
        fields = {"status": t.to, "version": v + 1, "updated_at": now, **(sets or {})}
        job = await self.store.add_job(app["_id"], n)
        after = await self.services.atomic.update(
            self.store.applications,
            {"_id": app["_id"], "status": t.state, "version": v},
            {"$set": fields, "$push": {"history": step}},
        )
        if after is None:
            await self.store.drop_job(job)
            latest = await self.store.application(app["_id"])
            raise changed(latest or app)
        log.info("application %s: %s -> %s by %s", app["_id"], t.state, t.to, actor.name)
        await self._settle_now(after["_id"], job)
        return await self.store.application(after["_id"]) or after

    async def create(self, doc: Doc, action: str, actor: Actor, body: dict | None = None, **step_extra: Any) -> Doc:
        """Insert a new application through its kind's creation row ("" -> first state), guards first."""
        kind = kind_of(doc["kind"])
        t = kind.transition("", action) if kind else None
        if t is None or t.actor != actor.role:
            raise ValueError(f"{doc['kind']} has no creation row {action!r} for {actor.role}")
        for name in t.guards:
            await self.guards[name](doc, body or {})
        now = doc.get("created_at") or utcnow()
        step = new_step(1, action, None, t.to, actor.name, actor.role, now, v=1, **step_extra)
        doc = {
            **doc,
            "status": t.to,
            "version": 1,
            "history": [step],
            "effects_done": 0,
            "created_at": now,
            "updated_at": now,
        }
        job = await self.store.add_job(doc["_id"], 1)
        await self.store.applications.insert_one(doc)
        await self._settle_now(doc["_id"], job)
        return doc

    async def _settle_now(self, app_id: Any, job: str) -> None:
        """Derive a just-written step's effects; if that fails, the step stands and its job is
        left for the repair worker (the caller is answered: what was asked for is recorded)."""
        try:
            await self.settle(app_id)
        except Exception:
            log.exception("effects of application %s left to the repair worker", app_id)
            return
        await self.store.drop_job(job)

    async def settle(self, app_id: Any) -> None:
        """Derive every recorded step's effects not yet derived (idempotent, one process at a time)."""
        async with self.services.atomic.mutex(f"effects:{app_id}", wait=15.0):
            app = await self.store.application(app_id)
            if app is None:
                return
            done = int(app.get("effects_done") or 0)
            last = done
            notices = archive_changed = False
            for step in app.get("history") or []:
                n = step.get("n")
                if not isinstance(n, int) or n <= done:
                    continue
                notices |= await self._effects(app, step)
                archive_changed |= step.get("action") == "approve"
                last = max(last, n)
            await self.readmodels.sync(app["_id"])
            if archive_changed and app.get("kind") in ("change", "transfer_out") and app.get("archive_no"):
                record_id = ((await self.store.archive(app["archive_no"])) or {}).get("record_id")
                if record_id:  # its rows show the archive's fields; one transferred out leaves its unit's lists
                    await self.readmodels.sync(record_id)
            if last > done:
                await self.services.atomic.update(
                    self.store.applications, {"_id": app["_id"], "effects_done": done}, {"$set": {"effects_done": last}}
                )
        if notices and self._sender_poke:
            self._sender_poke()

    async def _effects(self, app: Doc, step: Doc) -> bool:
        """The effects of one step; True when it has a notice."""
        kind = self.kind(app)
        t = kind.transition(step.get("from") or "", step.get("action") or "")
        if t is None:
            return False
        if t.effect:
            await self.effects[t.effect](app, step)
        if kind.holds_archive and t.to not in kind.open_states and t.effect is None:
            await self.archives.release(app)
        # the rest are independent of each other (each idempotent on the step): at once
        effects = []
        if step.get("role") != "applicant":
            effects.append(audit.record(self.services, app, step, kind))
        if kind.name == "collection" and t.to == "submitted":
            effects.append(stats.count_submission(self.services, app, step))
        if t.notice:
            effects.append(self._notify(app, step, kind, t.notice))
        await asyncio.gather(*effects)
        return bool(t.notice)

    async def _notify(self, app: Doc, step: Doc, kind: Kind, template: str) -> None:
        """The step's notice in the outbox (idempotent on the step)."""
        district = deployment_districts(self.services.settings).get(app.get("region_code") or "") or {}
        archive = await self.store.archive(app.get("archive_no")) if kind.name != "collection" else None
        name = ((archive or {}).get("data") or app).get("profile", {}).get("name") or ""
        await self.outbox.put(
            render(
                template,
                step_key(app["_id"], step["n"]),
                app.get("openid"),
                app["_id"],
                step.get("reason") or "",
                name,
                district.get("office", ""),
                step["at"],
            )
        )

    async def repair(self) -> int:
        """Settle every job a crash left behind; drop jobs whose step was never written."""
        handled = 0
        async for job in self.store.jobs.find({}):  # small: only steps whose effects may be pending
            app = await self.store.application(job.get("app_id"))
            steps = {h.get("n") for h in (app or {}).get("history") or []}
            if job.get("n") in steps:
                try:
                    await self.settle(job["app_id"])
                except Busy:
                    continue
                await self.store.drop_job(job["_id"])
                handled += 1
            elif job.get("created_at") and job["created_at"] < utcnow() - JOB_GRACE:
                await self.store.drop_job(job["_id"])
        return handled


class LifecycleWorker:
    """Repairs what a crash left half done: runs `Lifecycle.repair` every few seconds."""

    def __init__(self, services):
        self.lifecycle = services.get(Lifecycle)

    async def run_forever(self, every: float = WORKER_POLL) -> None:
        while True:
            try:
                await self.lifecycle.repair()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lifecycle repair round failed")
            await asyncio.sleep(every)
