"""Unit administrators (单位管理员): apply, withdraw, revoke (server/lifecycle/tables.py UNIT_ADMIN).

From the same mini-program (same WeChat login), a person stages the unit's business licence
and, unless they are its legal representative, the authorisation letter (授权委托书), one file
per request (server/lifecycle/staging.py), then applies with the unit's name, unified social
credit code (check digit validated), the district where the unit is registered, their own name
and mobile. That district's staff verify or reject it (the generic decision endpoint) and may
revoke a verified administrator; another verified administrator of the same unit may revoke
one too. A unit may have several administrators. The effects on the unit's document are in
server/units/effects.py; who may act for a unit is server/units/access.py.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from bson import ObjectId

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.districts import deployment_districts, district_name
from server.errors import Conflict, Invalid, NotFound
from server.lifecycle import staging
from server.lifecycle.applicant_view import decision_view, documents_view, history_view, state_view
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.store import Doc, LifecycleStore
from server.lifecycle.tables import UNIT_ADMIN
from server.masking import mask_mobile, mask_name
from server.records.errors import FieldProblem
from server.records.identifiers import normalize_mobile, normalize_uscc
from server.units.access import require_unit_admin
from server.units.store import UnitStore

LICENCE = "unit_business_licence"
LETTER = "unit_authorisation_letter"
SLOTS = {LICENCE: "单位营业执照（或登记证书）", LETTER: "授权委托书"}
BODY_FIELDS = ("unit_name", "uscc", "region_code", "legal_representative", "applicant_name", "mobile", "note")
UNIT_NAME_MAX = 100
NAME_MAX = 64
NOTE_MAX = 200
REASON_MAX = 200


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def _text(value: Any) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split()) if isinstance(value, str) else ""


def parse_reason(body: Any, required: bool = True) -> str:
    """The reason of a revocation or denial (required), or Invalid."""
    reason = body.get("reason") if isinstance(body, dict) else None
    if reason is not None and not isinstance(reason, str):
        raise Invalid([_problem("reason", "invalid", "原因必须是文字")], "原因必须是文字", "invalid_reason")
    text = _text(reason or "")
    if required and not text:
        raise Invalid([_problem("reason", "required", "请填写原因")], "请填写原因", "reason_required")
    if len(text) > REASON_MAX:
        message = f"原因不能超过{REASON_MAX}个字"
        raise Invalid([_problem("reason", "too_long", message)], message, "invalid_reason")
    return text


class UnitAdminService:
    """The applicant's unit-administrator applications, and revocations."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.lifecycle = services.get(Lifecycle)
        self.store = services.get(LifecycleStore)
        self.units = services.get(UnitStore)

    # -- views ------------------------------------------------------------------------

    def view(self, app: Doc) -> Doc:
        """An application as its applicant sees it (no staff names)."""
        payload = app.get("payload") or {}
        return {
            **state_view(app, UNIT_ADMIN),
            "unit_name": payload.get("unit_name") or "",
            "uscc": payload.get("uscc") or "",
            "region_code": app.get("region_code"),
            "region_name": district_name(self.settings, app.get("region_code")),
            "legal_representative": bool(payload.get("legal_representative")),
            "applicant_name": payload.get("applicant_name") or "",
            "mobile": mask_mobile(payload.get("mobile")),
            "note": payload.get("note") or "",
            "documents": documents_view(app, SLOTS),
            "decision": decision_view(app),
            "history": history_view(app, UNIT_ADMIN, {"applicant": "本人", "unit": "单位管理员"}),
            "submitted_at": app.get("submitted_at"),
            "decided_at": app.get("decided_at"),
        }

    @staticmethod
    def admin_entry_view(entry: Doc, app: Doc | None, me: str | None = None) -> Doc:
        """One administrator of a unit as other administrators and staff see them (masked)."""
        return {
            "id": str(entry.get("application_id")),
            "name": mask_name(entry.get("name")),
            "mobile": mask_mobile(entry.get("mobile")),
            "since": entry.get("since"),
            "status": (app or {}).get("status"),
            "is_me": bool(me) and entry.get("openid") == me,
        }

    async def _mine(self, user: SessionUser) -> tuple[Doc, list[Doc]]:
        """(the caller's account, their unit-administrator applications, oldest first)."""
        return await self.store.account_and_owned(user.openid, "unit_admins", "unit_admin")

    async def overview(self, user: SessionUser) -> Doc:
        """The caller's applications (newest first), the files staged for the next one, the slots."""
        account, apps = await self._mine(user)
        return {
            "applications": [self.view(a) for a in reversed(apps)],
            **staging.staged_slots(account, SLOTS),
        }

    # -- the applicant ---------------------------------------------------------------

    async def stage_file(self, user: SessionUser, slot: Any, data: bytes) -> Doc:
        """Keep the business licence or the authorisation letter for the caller's next application."""
        return await staging.stage_slot(self.services, user, SLOTS, slot, data)

    def parse(self, body: Any) -> Doc:
        """The application's payload from a request body, or Invalid naming every bad field."""
        if not isinstance(body, dict):
            raise Invalid([_problem("", "invalid_type", "请求内容应为JSON对象")])
        problems = [_problem(k, "unknown_field", "不支持的字段") for k in body if k not in BODY_FIELDS]
        unit_name = _text(body.get("unit_name"))
        if not unit_name or len(unit_name) > UNIT_NAME_MAX:
            problems.append(_problem("unit_name", "required", f"请填写单位全称（不超过{UNIT_NAME_MAX}字）"))
        uscc = ""
        raw = body.get("uscc")
        if not isinstance(raw, str) or not raw.strip():
            problems.append(_problem("uscc", "required", "请填写统一社会信用代码"))
        elif len(raw) > 40:
            problems.append(_problem("uscc", "uscc_format", "统一社会信用代码应为18位"))
        else:
            try:
                uscc = normalize_uscc(unicodedata.normalize("NFKC", raw))
            except FieldProblem as exc:
                problems.append(_problem("uscc", exc.code, exc.message))
        region = body.get("region_code")
        if not isinstance(region, str) or region not in deployment_districts(self.settings).codes:
            problems.append(_problem("region_code", "invalid", "请选择单位注册所在区"))
        legal = body.get("legal_representative", False)
        if not isinstance(legal, bool):
            problems.append(_problem("legal_representative", "invalid", "是否法定代表人应为 true 或 false"))
        name = _text(body.get("applicant_name"))
        if not name or len(name) > NAME_MAX:
            problems.append(_problem("applicant_name", "required", "请填写申请人姓名"))
        mobile = ""
        raw_mobile = body.get("mobile")
        if not isinstance(raw_mobile, str) or not raw_mobile.strip() or len(raw_mobile) > 40:
            problems.append(_problem("mobile", "required", "请填写申请人手机号码"))
        else:
            try:
                mobile = normalize_mobile(unicodedata.normalize("NFKC", raw_mobile))
            except FieldProblem as exc:
                problems.append(_problem("mobile", exc.code, exc.message))
        note = body.get("note") or ""
        if not isinstance(note, str) or len(note) > NOTE_MAX:
            problems.append(_problem("note", "invalid", f"说明须为不超过{NOTE_MAX}字的文字"))
        if problems:
            raise Invalid(problems)
        return {
            "unit_name": unit_name,
            "uscc": uscc,
            "region_code": region,
            "legal_representative": legal,
            "applicant_name": name,
            "mobile": mobile,
            "note": _text(note),
        }

    async def submit(self, user: SessionUser, body: Any) -> Doc:
        """Apply to administer a unit; 201 with the application."""
        payload = self.parse(body)
        account = await self.store.account(user.openid) or {}
        slots = [LICENCE] if payload["legal_representative"] else [LICENCE, LETTER]
        missing = [s for s in slots if not account.get(s)]
        if missing:
            labels = "、".join(SLOTS[s] for s in missing)
            raise Invalid(
                [_problem(s, "file_required", f"请上传{SLOTS[s]}") for s in missing],
                f"请先上传{labels}",
                "file_required",
            )
        unit = await self.units.unit(payload["uscc"])
        if unit is not None and unit.get("region_code") and unit["region_code"] != payload["region_code"]:
            where = district_name(self.settings, unit["region_code"])
            message = f"该单位已登记在{where}，请选择{where}"
            raise Invalid([_problem("region_code", "unit_region_mismatch", message)], message, "unit_region_mismatch")
        _, mine = await self._mine(user)
        for other in mine:
            if (other.get("payload") or {}).get("uscc") != payload["uscc"]:
                continue
            if other.get("status") == "verified":
                raise Conflict("您已是该单位的管理员", "already_unit_admin")
            if other.get("status") in UNIT_ADMIN.open_states:
                raise Conflict("您已申请该单位的管理员，请等待审核结果", "unit_admin_open")
        documents = {s: account[s] for s in slots}
        now = utcnow()
        doc = {
            "_id": ObjectId(),
            "kind": "unit_admin",
            "openid": user.openid,
            "record_id": user.record_id,
            "region_code": payload["region_code"],
            "archive_no": None,
            "payload": payload,
            "documents": documents,
            "submitted_at": now,
            "decided_at": None,
            "decision": None,
        }
        app = await self.lifecycle.create(doc, "submit", Actor.applicant(user.openid), body)
        await self.services.atomic.update(
            self.store.accounts, {"_id": user.openid}, {"$push": {"unit_admins": app["_id"]}}, upsert=True
        )
        for slot, entry in documents.items():
            await staging.consume(self.services, user.openid, slot, entry)
        return self.view(app)

    async def _own(self, user: SessionUser, app_id: str) -> Doc:
        app = await self.store.application(app_id)
        if app is None or app.get("openid") != user.openid or app.get("kind") != "unit_admin":
            raise NotFound("申请不存在", "unit_admin_not_found")
        return app

    async def withdraw(self, user: SessionUser, app_id: str) -> Doc:
        """Withdraw one's own application before it is decided."""
        app = await self._own(user, app_id)
        return self.view(await self.lifecycle.step(app, "withdraw", Actor.applicant(user.openid)))

    # -- a unit's administrators --------------------------------------------------------

    async def admins_of(self, user: SessionUser, uscc: str) -> Doc:
        """The unit and its administrators, for one of them."""
        unit = await require_unit_admin(self.services, user, uscc)
        return await self.unit_view(unit, me=user.openid)

    async def unit_view(self, unit: Doc, me: str | None = None) -> Doc:
        """A unit with its current administrators (masked)."""
        admins = []
        for entry in unit.get("admins") or []:
            app = await self.store.application(entry.get("application_id"))
            if app is not None and app.get("status") == "verified":
                admins.append(self.admin_entry_view(entry, app, me))
        return {
            "uscc": unit["_id"],
            "name": unit.get("name") or "",
            "region_code": unit.get("region_code"),
            "region_name": district_name(self.settings, unit.get("region_code")),
            "admins": admins,
        }

    async def staff_view(self, app: Doc) -> Doc:
        """A unit-administrator application for the verifying district: what was claimed, the
        unit as registered (its administrators now) and whether a revocation is possible."""
        payload = app.get("payload") or {}
        unit = await self.units.unit(payload.get("uscc"))
        return {
            "unit_name": payload.get("unit_name") or "",
            "uscc": payload.get("uscc") or "",
            "region_code": app.get("region_code"),
            "region_name": district_name(self.settings, app.get("region_code")),
            "legal_representative": bool(payload.get("legal_representative")),
            "applicant_name": payload.get("applicant_name") or "",
            "mobile": payload.get("mobile") or "",
            "note": payload.get("note") or "",
            "unit": await self.unit_view(unit) if unit else None,
            "revocable": app.get("status") == "verified",
        }

    async def revoke_by_unit(self, user: SessionUser, uscc: str, app_id: str, body: Any) -> Doc:
        """Another verified administrator of the same unit revokes one; the unit after it."""
        unit = await require_unit_admin(self.services, user, uscc)
        reason = parse_reason(body)
        target = await self.store.application(app_id)
        if (
            target is None
            or target.get("kind") != "unit_admin"
            or (target.get("payload") or {}).get("uscc") != unit["_id"]
            or target.get("status") not in ("verified", "revoked")
        ):
            raise NotFound("该单位没有这位管理员", "unit_admin_not_found")
        if target.get("openid") == user.openid:
            raise Conflict("不能撤销本人的管理员身份，请由单位其他管理员或财政局办理", "cannot_revoke_self")
        mine = next((a["application_id"] for a in unit.get("admins") or [] if a.get("openid") == user.openid), None)
        actor = Actor("unit", f"unit-admin:{mine}", openid=user.openid)
        now = utcnow()
        sets = {"decision": {"decision": "revoke", "reason": reason, "by": "unit", "at": now}, "revoked_at": now}
        await self.lifecycle.step(target, "revoke_by_unit", actor, sets=sets, at=now, reason=reason)
        return await self.unit_view(await self.units.unit(unit["_id"]) or unit, me=user.openid)
