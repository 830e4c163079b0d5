"""Account recovery (账号找回), the applicant's side and the guard.

From a new WeChat account (a new mini-program openid), the person stages three images one
request each — both sides of the ID document and a photo of themself holding it — then
applies with their name and ID number. The archive is found by the ID number (its key);
a name that does not match answers exactly like an unknown number (this reveals no more than
the public query does). Applications are limited per account and per ID number (counters in
the database, all processes together), and one recovery of an archive is open at a time.
The archive's district decides (server/lifecycle/tables.py RECOVERY); the effects are in
server/recovery/effects.py.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from bson import ObjectId

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.districts import district_name
from server.errors import Conflict, Invalid, NotFound
from server.lifecycle import staging
from server.lifecycle.applicant_view import decision_view, documents_view, history_view, state_view
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.store import Doc, LifecycleStore
from server.lifecycle.tables import RECOVERY
from server.masking import mask_id_number
from server.ratelimit import SharedLimit
from server.records import archive_no
from server.records.store import RecordStore

SLOTS = {
    "recovery_id_front": "证件人像面",
    "recovery_id_back": "证件国徽面（背面）",
    "recovery_selfie": "本人手持证件照片",
}
BODY_FIELDS = ("name", "id_number", "id_type", "note")
NOTE_MAX = 200
DAY = 86400.0
PER_ACCOUNT_DAY = 3
PER_ID_NUMBER_DAY = 3
NOT_FOUND = "未找到与该姓名和证件号码相符的会计人员档案，请核对后重试，或联系所在区财政局"


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s).split()).casefold()

    return bool(a) and norm(a) == norm(b)


class RecoveryService:
    """The applicant's recoveries: list, stage a file, apply, withdraw."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.lifecycle = services.get(Lifecycle)
        self.store = services.get(LifecycleStore)
        self.records = services.get(RecordStore)
        message = "找回申请提交过于频繁，请明天再试，或联系所在区财政局"
        self.per_account = SharedLimit(services, "recovery-account", PER_ACCOUNT_DAY, DAY, message, "recovery_limited")
        self.per_number = SharedLimit(services, "recovery-number", PER_ID_NUMBER_DAY, DAY, message, "recovery_limited")

    def view(self, app: Doc) -> Doc:
        """A recovery as its applicant sees it (no staff names, the ID number masked)."""
        payload = app.get("payload") or {}
        return {
            **state_view(app, RECOVERY),
            "name": payload.get("name") or "",
            "id_number": mask_id_number(payload.get("id_number")),
            "region_name": district_name(self.settings, app.get("region_code")),
            "note": payload.get("note") or "",
            "documents": documents_view(app, SLOTS),
            "decision": decision_view(app),
            "history": history_view(app, RECOVERY),
            "submitted_at": app.get("submitted_at"),
            "decided_at": app.get("decided_at"),
        }

    async def overview(self, user: SessionUser) -> Doc:
        account, apps = await self.store.account_and_owned(user.openid, "recoveries", "recovery")
        return {
            "recoveries": [self.view(a) for a in reversed(apps)],
            **staging.staged_slots(account, SLOTS),
        }

    async def stage_file(self, user: SessionUser, slot: Any, data: bytes) -> Doc:
        """Keep one of the three images for the caller's next recovery."""
        return await staging.stage_slot(self.services, user, SLOTS, slot, data)

    def _parse(self, body: Any) -> tuple[str, str, str]:
        if not isinstance(body, dict):
            raise Invalid([_problem("", "invalid_type", "请求内容应为JSON对象")])
        problems = [_problem(k, "unknown_field", "不支持的字段") for k in body if k not in BODY_FIELDS]
        name, number, note = body.get("name"), body.get("id_number"), body.get("note") or ""
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            problems.append(_problem("name", "required", "请填写档案上的姓名"))
        if not isinstance(number, str) or not number.strip() or len(number) > 40:
            problems.append(_problem("id_number", "required", "请填写证件号码"))
        if not isinstance(note, str) or len(note) > NOTE_MAX:
            problems.append(_problem("note", "invalid", f"说明须为不超过{NOTE_MAX}字的文字"))
        id_type = body.get("id_type") or "resident_id"
        if not isinstance(id_type, str) or len(id_type) > 40:
            problems.append(_problem("id_type", "invalid", "证件类型不正确"))
        if problems or not isinstance(name, str) or not isinstance(number, str) or not isinstance(note, str):
            raise Invalid(problems)
        key = archive_no({"profile": {"id_type": id_type, "id_number": number.strip()}})
        if not key:
            raise Invalid(
                [_problem("id_number", "invalid", "证件号码格式不正确")], "证件号码格式不正确", "invalid_id_number"
            )
        return " ".join(name.split()), key, " ".join(note.split())

    async def submit(self, user: SessionUser, body: Any) -> Doc:
        """Apply for the archive of (name, ID number) to move to the calling account."""
        name, number, note = self._parse(body)
        record = await self.records.load(user.record_id, user.openid)
        account = await self.store.account(user.openid) or {}
        missing = [s for s in SLOTS if not account.get(s)]
        if missing:
            labels = "、".join(SLOTS[s] for s in missing)
            raise Invalid(
                [_problem(s, "file_required", f"请上传{SLOTS[s]}") for s in missing],
                f"请先上传{labels}",
                "file_required",
            )
        await self.per_account.take(user.openid)
        await self.per_number.take(number)
        archive = await self.store.archive(number)
        profile = ((archive or {}).get("data") or {}).get("profile") or {}
        if archive is None or not _same_name(name, profile.get("name") or ""):
            raise NotFound(NOT_FOUND, "archive_not_found")
        if archive.get("openid") == user.openid:
            raise Conflict("该档案已在您当前的微信账号下，无需找回", "already_yours")
        app_id = ObjectId()
        held = await self.services.atomic.update(
            self.store.archives,
            {"_id": number, "open_recovery": None},
            {"$set": {"open_recovery": app_id}},
        )
        if held is None:
            other = await self.store.application(archive.get("open_recovery"))
            if other is not None and other.get("status") in RECOVERY.open_states:
                raise Conflict("该档案已有一项找回申请正在审核，请等待结果", "recovery_open")
            held = await self.services.atomic.update(
                self.store.archives,
                {"_id": number, "open_recovery": archive.get("open_recovery")},
                {"$set": {"open_recovery": app_id}},
            )
            if held is None:
                raise Conflict("档案正忙，请稍后重试", "archive_busy")
        documents = {s: account[s] for s in SLOTS}
        now = utcnow()
        doc = {
            "_id": app_id,
            "kind": "recovery",
            "openid": user.openid,
            "record_id": record["_id"],
            "archive_no": number,
            "region_code": archive.get("region_code"),
            "old_openid": archive.get("openid"),
            "payload": {"name": name, "id_number": number, "note": note},
            "documents": documents,
            "submitted_at": now,
            "decided_at": None,
            "decision": None,
        }
        try:
            app = await self.lifecycle.create(doc, "submit", Actor.applicant(user.openid), body)
        except BaseException:
            await self.services.atomic.update(
                self.store.archives, {"_id": number, "open_recovery": app_id}, {"$set": {"open_recovery": None}}
            )
            raise
        await self.services.atomic.update(self.store.accounts, {"_id": user.openid}, {"$push": {"recoveries": app_id}})
        for slot, entry in documents.items():
            await staging.consume(self.services, user.openid, slot, entry)
        return self.view(app)

    async def withdraw(self, user: SessionUser, app_id: str) -> Doc:
        app = await self.store.application(app_id)
        if app is None or app.get("openid") != user.openid or app.get("kind") != "recovery":
            raise NotFound("找回申请不存在", "recovery_not_found")
        return self.view(await self.lifecycle.step(app, "withdraw", Actor.applicant(user.openid)))
