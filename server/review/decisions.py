"""A reviewer's decision on any application: one step of its kind's table, at a given version.

The step (with everything its audit entry and notice need) is one atomic conditional update
of the application; the lifecycle engine then derives the archive version, the audit entry
and the notice from it, idempotently (see server/lifecycle/engine.py).
"""

from __future__ import annotations

from server.db import utcnow
from server.errors import Invalid
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.tables import reviewer_actions
from server.review.detail import application_detail
from server.staff.model import Staff

REASON_MAX = 200
DECISIONS = ("approve", "reject", "revoke")  # revoke: a verified unit administrator (server/units/)
WITH_REASON = ("reject", "revoke")


def _problem(field: str, code: str, message: str) -> Invalid:
    return Invalid([{"field": field, "code": code, "message": message}], message, "invalid_decision")


def parse_decision(body: dict, reason_list: list[str]) -> tuple[str, int, str, list[str]]:
    """(decision, version, free-text reason, reason codes) from a request body, or Invalid."""
    decision = body.get("decision")
    if decision not in DECISIONS or decision not in reviewer_actions():
        raise _problem("decision", "invalid", "审核结果只能是 approve（通过）、reject（退回）或 revoke（撤销）")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _problem("version", "invalid", "缺少记录版本号 version（正整数）")
    reason = body.get("reason")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise _problem("reason", "invalid", "退回原因必须是文字")
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX:
        raise _problem("reason", "too_long", f"退回原因不能超过{REASON_MAX}个字")
    codes = body.get("reason_codes") or []
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise _problem("reason_codes", "invalid", "退回原因选项格式不正确")
    unknown = [c for c in codes if c not in reason_list]
    if unknown:
        raise _problem("reason_codes", "unknown", f"未知的退回原因：{'、'.join(unknown)}")
    codes = list(dict.fromkeys(codes))
    if decision in WITH_REASON and not reason and not codes:
        raise _problem("reason", "required", "退回或撤销时必须填写或选择原因")
    if decision == "approve" and codes:
        raise _problem("reason_codes", "not_allowed", "审核通过时不能选择退回原因")
    return decision, version, reason, codes


def reason_text(codes: list[str], note: str) -> str:
    """What the person reads: the chosen reasons, then the reviewer's words."""
    joined = "、".join(codes)
    return f"{joined}：{note}" if joined and note else joined or note


async def decide(services, staff: Staff, record_id: str, body: dict) -> dict:
    """Apply a decision to a submitted application at the given version; 409 otherwise, nothing changed."""
    decision, version, note, codes = parse_decision(body, services.settings.reject_reason_list)
    lifecycle = services.get(Lifecycle)
    actor = Actor.reviewer(staff)
    app = await lifecycle.visible(actor, record_id)
    now = utcnow()
    text = reason_text(codes, note)
    sets = {
        "decided_at": now,
        "decision": {
            "decision": decision,
            "reason": text,
            "note": note,
            "reason_codes": codes,
            "by": staff.username,
            "role": staff.role,
            "at": now,
            "version": version + 1,
        },
    }
    after = await lifecycle.step(
        app, decision, actor, version=version, sets=sets, at=now, reason=text, reason_codes=codes, staff_role=staff.role
    )
    return await application_detail(services, staff, after)
