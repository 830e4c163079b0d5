"""Equivalence claims (视同继续教育): the `ce_claim` kind's applicant side, its guard and its effect.

The national rule counts some activities as the year's continuing education once staff verify
them: passing the accounting qualification exams or the CPA exams, a degree course, published
work, and others a bureau accepts. The person stages a proof (one file, `ce_claim_proof`, like a
recovery's images) and applies with the activity, the year and the credits asked for; the
archive's district approves with the credits it grants (possibly fewer, and the subject type) or
rejects with a reason (server/lifecycle/tables.py CE_CLAIM). The claim is listed among the
archive's later applications (`archives.changes`), so its notices reach the person's inbox and an
account recovery carries it along. Approval adds one credit entry (source "claim", key
"claim-<application id>": idempotent) and recomputes the standing.

The generic decision endpoint cannot approve a claim (it sends no granted credits: the guard
`claim_credits` answers 422 `credits_required`); staff use POST /admin/api/ce-claims/{id}/decision.
"""

from __future__ import annotations

import logging
from typing import Any

from bson import ObjectId

from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.districts import district_name
from server.duties import standing as rules
from server.duties.credits import CreditStore, credit_type, parse_credits
from server.duties.runner import StandingService
from server.errors import Conflict, Invalid, NotFound
from server.lifecycle import staging
from server.lifecycle.applicant_view import decision_view, documents_view, history_view, state_view
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.store import Doc, LifecycleStore
from server.lifecycle.tables import CE_CLAIM
from server.records.store import RecordStore
from server.review.decisions import parse_decision, reason_text
from server.review.detail import application_detail
from server.staff.model import Staff

log = logging.getLogger("kjcj.duties.claims")

SLOT = "ce_claim_proof"
SLOTS = {SLOT: "视同继续教育证明材料"}
ACTIVITIES = {
    "accounting_exam": "通过会计专业技术资格考试",
    "cpa_exam": "通过注册会计师全国统一考试",
    "degree": "参加会计相关专业学历（学位）教育",
    "publication": "公开发表会计类论文或出版著作",
    "other": "其他视同继续教育的活动",
}
BODY_FIELDS = ("activity", "year", "credits", "type", "title", "note")
TITLE_MAX = 60
NOTE_MAX = 200
OPEN_MAX = 3


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def claim_view(settings, app: Doc) -> Doc:
    """A claim as its applicant sees it."""
    payload = app.get("payload") or {}
    return {
        **state_view(app, CE_CLAIM),
        "version": app.get("version"),
        "activity": payload.get("activity"),
        "activity_label": ACTIVITIES.get(payload.get("activity") or "", ""),
        "year": payload.get("year"),
        "credits": payload.get("credits"),
        "type": payload.get("type"),
        "type_label": rules.TYPE_LABELS.get(payload.get("type") or "", ""),
        "title": payload.get("title") or "",
        "note": payload.get("note") or "",
        "region_name": district_name(settings, app.get("region_code")),
        "documents": documents_view(app, SLOTS),
        "granted": (app.get("decision") or {}).get("granted"),
        "decision": decision_view(app),
        "history": history_view(app, CE_CLAIM),
        "submitted_at": app.get("submitted_at"),
        "decided_at": app.get("decided_at"),
    }


def parse_grant(body: Any, claim: Doc) -> Doc:
    """{credits, type} a reviewer grants: 0 < credits <= the credits asked for; the type defaults to the claim's."""
    body = body if isinstance(body, dict) else {}
    asked = (claim.get("payload") or {}).get("credits") or 0
    if body.get("credits_granted") is None:
        raise Invalid(
            [_problem("credits_granted", "required", "请填写认定的学分")],
            "认定视同继续教育须填写认定的学分，请在继续教育审核页面办理",
            "credits_required",
        )
    granted = parse_credits(body.get("credits_granted"))
    if granted is None or granted > asked:
        raise Invalid(
            [_problem("credits_granted", "bad_credits", f"认定学分应大于0，且不超过申请的{asked}学分（最多一位小数）")],
            None,
            "bad_credits",
        )
    ctype = credit_type(body.get("type")) if body.get("type") is not None else (claim.get("payload") or {}).get("type")
    if ctype is None:
        raise Invalid([_problem("type", "bad_type", "科目类型只能是专业科目或公需科目")], None, "bad_type")
    return {"credits": granted, "type": ctype}


class ClaimService:
    """The applicant's claims, staff's decision, and the kind's guard and effect."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.lifecycle = services.get(Lifecycle)
        self.store = services.get(LifecycleStore)
        self.records = services.get(RecordStore)

    def register(self, lifecycle: Lifecycle) -> None:
        lifecycle.register_guard("claim_credits", self._guard)
        lifecycle.register_effect("grant_claim", self.grant)

    async def _guard(self, app: Doc, body: dict) -> None:
        parse_grant(body, app)

    # ---- the applicant ----

    async def _archive(self, user: SessionUser) -> tuple[Doc, Doc | None]:
        record = await self.records.load(user.record_id, user.openid)
        return record, await self.store.archive_of(record)

    async def _mine(self, archive: Doc | None, openid: str) -> list[Doc]:
        return await self.store.owned((archive or {}).get("changes"), openid, CE_CLAIM.name)

    async def overview(self, user: SessionUser) -> Doc:
        _, archive = await self._archive(user)
        account = await self.store.account(user.openid) or {}
        apps = await self._mine(archive, user.openid)
        return {
            "claims": [claim_view(self.settings, a) for a in reversed(apps)],
            **staging.staged_slots(account, SLOTS),
            "activities": [{"code": k, "label": v} for k, v in ACTIVITIES.items()],
            "can_apply": archive is not None,
        }

    async def stage_file(self, user: SessionUser, slot: Any, data: bytes) -> Doc:
        return await staging.stage_slot(self.services, user, SLOTS, slot, data)

    def _parse(self, body: Any) -> Doc:
        if not isinstance(body, dict):
            raise Invalid([_problem("", "invalid_type", "请求内容应为JSON对象")])
        problems = [_problem(k, "unknown_field", "不支持的字段") for k in body if k not in BODY_FIELDS]
        activity = body.get("activity")
        if not isinstance(activity, str) or activity not in ACTIVITIES:
            problems.append(_problem("activity", "invalid", f"活动类型只能是 {'、'.join(ACTIVITIES)}"))
        this_year = utcnow().year
        year = body.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= this_year:
            problems.append(_problem("year", "bad_year", f"年度应为 2000 至 {this_year} 年之间的年份"))
        credits = parse_credits(body.get("credits"))
        required = self.settings.ce_required_credits
        if credits is None or credits > required:
            problems.append(_problem("credits", "bad_credits", f"申请学分应大于0、不超过{required}（最多一位小数）"))
        ctype = credit_type(body.get("type") if body.get("type") is not None else "professional")
        if ctype is None:
            problems.append(_problem("type", "bad_type", "科目类型只能是专业科目（professional）或公需科目（general）"))
        texts = {}
        for name, limit in (("title", TITLE_MAX), ("note", NOTE_MAX)):
            value = body.get(name) or ""
            if not isinstance(value, str) or len(value) > limit:
                problems.append(_problem(name, "invalid", f"请填写不超过{limit}字的文字"))
                continue
            texts[name] = " ".join(value.split())
        if problems:
            raise Invalid(problems)
        return {
            "activity": activity,
            "activity_label": ACTIVITIES[str(activity)],
            "year": year,
            "credits": credits,
            "type": ctype,
            **texts,
        }

    async def submit(self, user: SessionUser, body: Any) -> Doc:
        """Apply for credits for an activity (the archive must exist: seed 001)."""
        payload = self._parse(body)
        record, archive = await self._archive(user)
        if archive is None:
            raise Conflict("完成信息采集（审核通过）后才能申请视同继续教育", "archive_required")
        if archive.get("transferred_out"):
            raise Conflict("档案已调出，不能申请视同继续教育", "archive_transferred_out")
        account = await self.store.account(user.openid) or {}
        proof = account.get(SLOT)
        if not proof:
            raise Invalid(
                [_problem(SLOT, "file_required", f"请上传{SLOTS[SLOT]}")], f"请先上传{SLOTS[SLOT]}", "file_required"
            )
        open_ones = [a for a in await self._mine(archive, user.openid) if a.get("status") in CE_CLAIM.open_states]
        if len(open_ones) >= OPEN_MAX:
            raise Conflict(f"同时最多有{OPEN_MAX}项视同继续教育申请在审核，请等待审核结果", "too_many_open_claims")
        profile = (archive.get("data") or {}).get("profile") or {}
        now = utcnow()
        doc = {
            "_id": ObjectId(),
            "kind": CE_CLAIM.name,
            "openid": user.openid,
            "record_id": record["_id"],
            "archive_no": archive["_id"],
            "region_code": archive.get("region_code"),
            "profile": {"name": profile.get("name") or "", "id_number": profile.get("id_number") or ""},
            "payload": payload,
            "documents": {SLOT: proof},
            "submitted_at": now,
            "decided_at": None,
            "decision": None,
        }
        app = await self.lifecycle.create(doc, "submit", Actor.applicant(user.openid), body)
        await self.services.atomic.update(
            self.store.archives, {"_id": archive["_id"]}, {"$addToSet": {"changes": app["_id"]}}
        )
        await staging.consume(self.services, user.openid, SLOT, proof)
        return claim_view(self.settings, app)

    async def withdraw(self, user: SessionUser, claim_id: str) -> Doc:
        app = await self.store.application(claim_id)
        if app is None or app.get("openid") != user.openid or app.get("kind") != CE_CLAIM.name:
            raise NotFound("申请不存在", "claim_not_found")
        return claim_view(self.settings, await self.lifecycle.step(app, "withdraw", Actor.applicant(user.openid)))

    # ---- staff ----

    async def decide(self, staff: Staff, claim_id: str, body: Any) -> Doc:
        """Approve with the credits granted, or reject with a reason (one step of CE_CLAIM)."""
        if not isinstance(body, dict):
            raise Invalid([_problem("", "invalid_type", "请求内容应为JSON对象")])
        decision, version, note, codes = parse_decision(
            {k: v for k, v in body.items() if k not in ("credits_granted", "type")}, self.settings.reject_reason_list
        )
        actor = Actor.reviewer(staff)
        app = await self.lifecycle.visible(actor, claim_id)
        if app.get("kind") != CE_CLAIM.name:
            raise NotFound("申请不存在", "claim_not_found")
        granted = parse_grant(body, app) if decision == "approve" else None
        now = utcnow()
        if granted:
            year = (app.get("payload") or {}).get("year")
            text = f"认定{year}年度{rules.TYPE_LABELS[granted['type']]}{granted['credits']}学分" + (
                f"。{note}" if note else ""
            )
        else:
            text = reason_text(codes, note)
        sets = {
            "decided_at": now,
            "decision": {
                "decision": decision,
                "reason": text,
                "note": note,
                "reason_codes": codes,
                "granted": granted,
                "by": staff.username,
                "role": staff.role,
                "at": now,
                "version": version + 1,
            },
        }
        after = await self.lifecycle.step(
            app,
            decision,
            actor,
            body,
            version=version,
            sets=sets,
            at=now,
            reason=text,
            reason_codes=codes,
            staff_role=staff.role,
        )
        return await application_detail(self.services, staff, after)

    async def grant(self, app: Doc, step: Doc) -> None:
        """The approve row's effect: the granted credits become an entry; the standing is recomputed."""
        granted = (app.get("decision") or {}).get("granted") or {}
        payload = app.get("payload") or {}
        number = app.get("archive_no")
        if not number or not granted:
            log.error("claim %s approved without granted credits", app["_id"])
            return
        entry = {
            "key": f"claim-{app['_id']}",
            "year": payload.get("year"),
            "credits": granted.get("credits"),
            "type": granted.get("type"),
            "source": "claim",
            "provider": ACTIVITIES.get(payload.get("activity") or "", "视同继续教育"),
            "course": payload.get("title") or payload.get("activity_label") or "",
            "claim_id": app["_id"],
            "by": step.get("by"),
            "at": step.get("at"),
        }
        await self.services.get(CreditStore).add(number, [entry])
        await self.services.get(StandingService).recompute([number])
