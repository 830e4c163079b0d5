"""The effects of the recovery table's steps (registered by name with the lifecycle engine).

rebind_account (approved): the archive, its first collection and every later application,
and their notices now belong to the new account; the old account is shut out:
- the old account no longer points at the record, so its sessions answer 401 at once (a
  session is valid only while its account points at the record it was opened for:
  server/accounts/sessions.py) and its next login starts a fresh draft;
- the new account points at the record (its sessions on its empty draft end the same way;
  the mini-program logs in again and lands on the archive);
- the old chat binding and the old unionid key are removed (chat status no longer answers it);
- the old account's inbox gets a notice that the archive moved.
Each write is idempotent (set to the final value, conditional on the old one where it matters),
so deriving the effect twice, or after a crash half way, ends in the same state.
release_recovery (rejected or withdrawn): the archive may take another recovery.
"""

from __future__ import annotations

import logging

from server.chat.binding import LINKS
from server.lifecycle.engine import Lifecycle
from server.lifecycle.readmodel import ReadModels
from server.lifecycle.store import ACCOUNT_KEYS, Doc, LifecycleStore, notice_ids, step_key
from server.masking import mask_text
from server.notify.notices import render
from server.notify.outbox import Outbox

log = logging.getLogger("kjcj.recovery")


class RecoveryEffects:
    def __init__(self, services):
        self.services = services
        self.store = services.get(LifecycleStore)

    def register(self, lifecycle: Lifecycle) -> None:
        lifecycle.register_effect("rebind_account", self.rebind_account)
        lifecycle.register_effect("release_recovery", self.release_recovery)

    async def release_recovery(self, app: Doc, step: Doc) -> None:
        await self.services.atomic.update(
            self.store.archives,
            {"_id": app.get("archive_no"), "open_recovery": app["_id"]},
            {"$set": {"open_recovery": None}},
        )

    async def rebind_account(self, app: Doc, step: Doc) -> None:
        atomic, store = self.services.atomic, self.store
        new, old = app["openid"], app.get("old_openid")
        archive = await store.archive(app.get("archive_no"))
        if archive is None:
            log.error("recovery %s: the archive is gone", app["_id"])
            return
        record_id = archive["record_id"]
        record = await store.application(record_id)
        if record is None:
            log.error("recovery %s: the archive's record is gone", app["_id"])
            return
        new_account = await store.account(new) or {}
        draft_id = new_account.get("record_id")

        # 1. the archive and the person's applications belong to the new account
        await atomic.update(
            store.archives,
            {"_id": archive["_id"]},
            {
                "$set": {"openid": new, "open_recovery": None, "updated_at": step["at"]},
                "$addToSet": {"changes": app["_id"]},
            },
        )
        apps = await store.applications_of(archive, record)
        for one in apps:
            if one.get("openid") != new:
                await atomic.update(store.applications, {"_id": one["_id"]}, {"$set": {"openid": new}})
        outbox = self.services.get(Outbox)
        for notice_id in notice_ids(apps):
            await outbox.notices.update_one({"_id": notice_id}, {"$set": {"openid": new}})

        # 2. the accounts: the new one points at the record, the old one at nothing
        await atomic.update(
            store.accounts,
            {"_id": new},
            {"$set": {"record_id": record_id, "recovered": {"at": step["at"], "application_id": app["_id"]}}},
            upsert=True,
        )
        if old and old != new:
            await atomic.update(
                store.accounts,
                {"_id": old, "record_id": record_id},
                {"$set": {"record_id": None, "recovered_away": {"at": step["at"], "application_id": app["_id"]}}},
            )
            await self._tell_old_account(app, step, old, archive)

        # 3. the old chat binding and unionid key; the new account's unionid becomes the record's
        chat_openid = record.get("chat_openid")
        if chat_openid:
            await self.services.db[LINKS].delete_one({"_id": chat_openid, "record_id": record_id})
        old_unionid = record.get("unionid")
        if old_unionid:
            key = await self.services.db[ACCOUNT_KEYS].find_one({"_id": f"u:{old_unionid}"})
            if key and key.get("openid") != new:
                await self.services.db[ACCOUNT_KEYS].delete_one({"_id": f"u:{old_unionid}"})
        draft = await store.application(draft_id) if draft_id and draft_id != record_id else None
        new_unionid = (draft or {}).get("unionid")
        await atomic.update(
            store.applications,
            {"_id": record_id},
            {"$set": {"chat_openid": None, "unionid": new_unionid, "updated_at": step["at"]}},
        )
        if new_unionid:
            await self.services.db[ACCOUNT_KEYS].replace_one(
                {"_id": f"u:{new_unionid}"}, {"_id": f"u:{new_unionid}", "openid": new}, upsert=True
            )

        # 4. the new account's empty draft leaves the staff lists
        if draft is not None and draft.get("status") in ("draft", "rejected"):
            await atomic.update(
                store.applications,
                {"_id": draft["_id"]},
                {"$set": {"region_code": None, "abandoned": {"at": step["at"], "for": record_id}}},
            )
            await self.services.get(ReadModels).sync(draft["_id"])
        log.info("recovery %s: archive %s moved to a new account", app["_id"], mask_text(str(archive["_id"])))

    async def _tell_old_account(self, app: Doc, step: Doc, old: str, archive: Doc) -> None:
        """A notice in the old account's inbox (it has no record any more: kept on the account)."""
        key = f"{step_key(app['_id'], step['n'])}-old"
        name = ((archive.get("data") or {}).get("profile") or {}).get("name") or ""
        notice = render("recovery_moved_away", key, old, app["_id"], "", name, "", step["at"])
        await self.services.get(Outbox).put(notice)
        await self.services.atomic.update(self.store.accounts, {"_id": old}, {"$addToSet": {"notices": key}})
