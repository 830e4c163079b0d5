"""The effects of the transfer tables' steps (registered by name with the lifecycle engine).

Each is derived from a recorded step and idempotent on it: the archive's `applied` holds
the step's key, and a step on the held first collection is taken only from the state the
table expects.
- move_archive: the destination accepted a transfer within the deployment; the archive's
  district changes in one conditional update (a new version), so every reader sees it in
  one district or the other; then the person's first collection and changes follow (their
  list rows move to the new district's queues).
- transfer_out: the archive becomes 已调出 (read-only) and the transfer sheet is issued.
- hold_record / admit_record / return_record: a transfer in holds the person's filled record,
  and on acceptance the record becomes the archive (collection row "admit"); otherwise it
  returns to a draft.
"""

from __future__ import annotations

import asyncio
import copy
import logging

from server.lifecycle.archive import Archives
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.readmodel import ReadModels
from server.lifecycle.store import Doc, LifecycleStore
from server.transfers import sheets

log = logging.getLogger("kjcj.transfers")
SYSTEM = Actor("system", "system")


class TransferEffects:
    """The transfer kinds' effects on archives and held records."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(LifecycleStore)
        self.readmodels = services.get(ReadModels)
        self.archives = services.get(Archives)

    def register(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        lifecycle.register_effect("move_archive", self.move_archive)
        lifecycle.register_effect("transfer_out", self.transfer_out)
        lifecycle.register_effect("hold_record", self.hold_record)
        lifecycle.register_effect("admit_record", self.admit_record)
        lifecycle.register_effect("return_record", self.return_record)

    async def move_archive(self, app: Doc, step: Doc) -> None:
        to = app["to_region"]

        def change(arch: Doc) -> tuple[Doc, list]:
            data = copy.deepcopy(arch.get("data") or {})
            old = data.get("region_code") or arch.get("region_code")
            data["region_code"] = to
            return {"region_code": to, "data": data}, [{"field": "region_code", "old": old, "new": to}]

        await self.archives.write_version(app, step, change)
        archive = await self.store.archive(app.get("archive_no"))
        if archive is None or archive.get("region_code") != to:
            return  # a later transfer moved it on: that one's effect moves the applications
        # the first collection and the changes follow the archive (their rows move queues), at once:
        # each re-sync locks its own lists (measured: one after the other they were ~3/4 of an accept)

        async def follow(app_id) -> None:
            other = await self.store.application(app_id, {"kind": 1, "region_code": 1})
            if other is None or other.get("kind") not in ("collection", "change"):
                return
            if other.get("region_code") != to:
                await self.services.atomic.update(
                    self.store.applications, {"_id": other["_id"]}, {"$set": {"region_code": to}}
                )
            await self.readmodels.sync(other["_id"])

        ids = dict.fromkeys([archive.get("record_id"), *(archive.get("changes") or [])])
        await asyncio.gather(*[follow(i) for i in ids if i is not None])

    async def transfer_out(self, app: Doc, step: Doc) -> None:
        archive = await self.store.archive(app.get("archive_no"))
        if archive is None:
            log.error("transfer out %s has no archive", app["_id"])
            return
        number = await sheets.issue(self.services, app, archive, step)
        payload = app.get("payload") or {}

        def change(arch: Doc) -> tuple[Doc, list]:
            out = {
                "at": step["at"],
                "application_id": app["_id"],
                "to_region_name": payload.get("to_region_name") or "",
                "sheet_no": number,
            }
            return {"transferred_out": out}, []

        await self.archives.write_version(app, step, change)

    async def _record(self, app: Doc) -> Doc | None:
        record = await self.store.application(app.get("record_id"))
        if record is None or record.get("openid") != app.get("openid"):
            log.error("transfer in %s: its record is missing", app["_id"])
            return None
        return record

    async def hold_record(self, app: Doc, step: Doc) -> None:
        record = await self._record(app)
        if record is None or record.get("status") == "transferring" or record.get("transfer_in") != app["_id"]:
            return
        await self.lifecycle.step(record, "hold", SYSTEM, sets={"region_code": app["region_code"]}, at=step["at"])

    async def admit_record(self, app: Doc, step: Doc) -> None:
        record = await self._record(app)
        if record is None or record.get("status") != "transferring" or record.get("transfer_in") != app["_id"]:
            return
        files = {f"documents.{k}": v for k, v in (app.get("documents") or {}).items()}
        sets = {**files, "decided_at": step["at"], "decision": app.get("decision")}
        await self.lifecycle.step(record, "admit", SYSTEM, sets=sets, at=step["at"])

    async def return_record(self, app: Doc, step: Doc) -> None:
        record = await self._record(app)
        if record is None or record.get("transfer_in") != app["_id"]:
            return
        if record.get("status") == "transferring":
            await self.lifecycle.step(record, "return", SYSTEM, sets={"transfer_in": None}, at=step["at"])
        else:  # the hold was never taken
            await self.services.atomic.update(
                self.store.applications,
                {"_id": record["_id"], "transfer_in": app["_id"]},
                {"$set": {"transfer_in": None}},
            )
