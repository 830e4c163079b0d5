"""Approve or reject a submitted record: one atomic conditional update writes the decision,
the history entry and the person's notice together; then the audit entry is appended
(and appended again, idempotently, by the notice sender, so a crash in between loses nothing)."""
from __future__ import annotations

import logging

from server.db import utcnow
from server.errors import Conflict, Invalid
from server.notify.notices import review_notice
from server.notify.sender import NoticeSender
from server.review import audit
from server.review.access import DECISIONS, visible_record
from server.review.detail import record_detail
from server.districts import deployment_districts
from server.staff.model import Staff

log = logging.getLogger("kjcj.review")

REASON_MAX = 200


def _problem(field: str, code: str, message: str) -> Invalid:
    return Invalid([{"field": field, "code": code, "message": message}], message, "invalid_decision")


def parse_decision(body: dict, reason_list: list[str]) -> tuple[str, int, str, list[str]]:
    """(decision, version, free-text reason, reason codes) from a request body, or Invalid."""
    decision = body.get("decision")
    if decision not in DECISIONS:
        raise _problem("decision", "invalid", "审核结果只能是 approve（通过）或 reject（退回）")
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
    if decision == "reject" and not reason and not codes:
        raise _problem("reason", "required", "退回时必须填写或选择退回原因")
    if decision == "approve" and codes:
        raise _problem("reason_codes", "not_allowed", "审核通过时不能选择退回原因")
    return decision, version, reason, codes


def reason_text(codes: list[str], note: str) -> str:
    """What the person reads: the chosen reasons, then the reviewer's words."""
    joined = "、".join(codes)
    return f"{joined}：{note}" if joined and note else joined or note


async def decide(services, staff: Staff, record_id: str, body: dict) -> dict:
    """Apply a decision to a submitted record at the given version; 409 otherwise, nothing changed."""
    decision, version, note, codes = parse_decision(body, services.settings.reject_reason_list)
    current = await visible_record(services, staff, record_id,
                                   {"status": 1, "version": 1, "region_code": 1, "profile.name": 1, "notices": 1})
    if current.get("status") != "submitted" or current.get("version") != version:
        raise _conflict(current)
    now = utcnow()
    status = DECISIONS[decision]
    text = reason_text(codes, note)
    district = deployment_districts(services.settings).get(current.get("region_code")) or {}
    name = (current.get("profile") or {}).get("name") or ""
    notice = review_notice(decision, text, name, district.get("office", ""), now)
    history = {"status": status, "at": now, "by": staff.username}
    if text:
        history["reason"] = text
    fields = {"status": status, "version": version + 1, "decided_at": now, "updated_at": now,
              "decision": {"decision": decision, "reason": text, "note": note, "reason_codes": codes,
                           "by": staff.username, "role": staff.role, "at": now, "version": version + 1,
                           "notice_id": notice["id"]},
              "outbox_due_at": now}
    if isinstance(current.get("notices"), dict):
        fields[f"notices.{notice['id']}"] = notice
    else:
        fields["notices"] = {notice["id"]: notice}
    after = await services.atomic.update(
        services.db["records"],
        {"_id": current["_id"], "status": "submitted", "version": version, **staff.jurisdiction()},
        {"$set": fields, "$push": {"history": history}})
    if after is None:
        latest = await services.db["records"].find_one({"_id": current["_id"]}, {"status": 1, "version": 1})
        raise _conflict(latest or current)
    log.info("record %s %s by %s", current["_id"], status, staff.username)
    # The decision (with everything the audit entry needs) is in the record already; if this
    # process dies before the next line, the notice sender logs it when it delivers the notice.
    await audit.log_decision(services, after)
    services.get(NoticeSender).poke()
    return record_detail(services.settings, after)


def _conflict(doc: dict) -> Conflict:
    """409 naming the record's current status and version."""
    if doc.get("status") != "submitted":
        message = "该记录当前不是待审核状态，可能已被他人处理，请刷新后查看"
    else:
        message = "该记录已被修改，请刷新后重新审核"
    return Conflict(message, "record_changed", status=doc.get("status"), version=doc.get("version"))
