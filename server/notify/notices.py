"""The notice document stored in a record, and the outbox due time of a set of notices."""
from __future__ import annotations

import datetime as dt
import uuid

RESULT_LABELS = {"approve": "审核通过", "reject": "审核未通过"}


def review_notice(decision: str, reason: str, name: str, office: str, at: dt.datetime) -> dict:
    """A pending review-result notice (see docs/contracts.md, `notices.<id>`)."""
    nid = uuid.uuid4().hex
    if decision == "approve":
        reason = reason or "信息审核通过"
        title = "会计人员信息审核通过"
        body = f"您提交的会计人员信息已由{office or '财政局'}审核通过。"
    else:
        title = "会计人员信息审核未通过"
        body = f"您提交的会计人员信息未通过审核。原因：{reason}。请按要求修改后重新提交。"
    return {
        "id": nid, "kind": "review_result", "title": title, "body": body,
        "data": {"result": RESULT_LABELS[decision], "reason": reason, "name": name, "time": at},
        "created_at": at, "read_at": None,
        "delivery": {"state": "pending", "attempts": 0, "next_at": at, "lease_until": None, "last_error": None,
                     "sent_at": None},
    }


def due_at(notice: dict) -> dt.datetime | None:
    """When this notice next needs the sender: next_at if pending, lease end if being sent."""
    d = notice.get("delivery") or {}
    if d.get("state") == "pending":
        return d.get("next_at")
    if d.get("state") == "sending":
        return d.get("lease_until")
    return None


def is_due(notice: dict, now: dt.datetime) -> bool:
    """True when the notice needs the sender now (pending and due, or its sending lease ran out)."""
    when = due_at(notice)
    return when is not None and when <= now


def next_due(notices: dict | None) -> dt.datetime | None:
    """The record's `outbox_due_at`: the earliest due time of its notices, None if none."""
    times = [t for t in (due_at(n) for n in (notices or {}).values() if isinstance(n, dict)) if t is not None]
    return min(times) if times else None
