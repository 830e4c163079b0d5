"""The outcome of a spot check (抽查): confirmed, or a correction order (责令改正).

"confirmed" is recorded on the archive and in the audit log. "correction" opens a change
application in state "ordered" (the change table's creation row for a reviewer), which
notifies the person; the person answers it with their next change (server/lifecycle/changes.py).
"""

from __future__ import annotations

import uuid

from bson import ObjectId

from server.db import utcnow
from server.errors import Conflict, Invalid
from server.lifecycle.archive import Archives
from server.lifecycle.engine import Actor, Lifecycle
from server.lifecycle.store import LifecycleStore
from server.lifecycle.tables import SPOT_CHECK_OUTCOMES
from server.review import audit
from server.review.detail import application_detail
from server.staff.model import Staff

REASON_MAX = 200


def _problem(field: str, code: str, message: str) -> Invalid:
    return Invalid([{"field": field, "code": code, "message": message}], message, "invalid_spot_check")


def parse(body: dict) -> tuple[str, str]:
    """(outcome, reason) of a request body, or Invalid."""
    outcome = body.get("outcome")
    if not isinstance(outcome, str) or outcome not in SPOT_CHECK_OUTCOMES:
        raise _problem("outcome", "invalid", "抽查结果只能是 confirmed（无误）或 correction（责令改正）")
    reason = body.get("reason") or ""
    if not isinstance(reason, str):
        raise _problem("reason", "invalid", "原因必须是文字")
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX:
        raise _problem("reason", "too_long", f"原因不能超过{REASON_MAX}个字")
    if outcome == "correction" and not reason:
        raise _problem("reason", "required", "责令改正时必须写明需要更正的内容")
    return outcome, reason


async def record_outcome(services, staff: Staff, record_id: str, body: dict) -> dict:
    """Record a spot check's outcome on an approved record's archive; the record's detail after it."""
    outcome, reason = parse(body)
    lifecycle = services.get(Lifecycle)
    actor = Actor.reviewer(staff)
    app = await lifecycle.visible(actor, record_id)
    store = services.get(LifecycleStore)
    archive = await store.archive(app.get("archive_no")) if app.get("status") == "approved" else None
    if archive is None or archive.get("record_id") != app["_id"]:
        raise Conflict("只有审核通过的记录才能登记抽查结果", "not_approved", status=app.get("status"))
    now = utcnow()
    entry = {
        "id": uuid.uuid4().hex,
        "outcome": outcome,
        "label": SPOT_CHECK_OUTCOMES[outcome],
        "reason": reason,
        "by": staff.username,
        "at": now,
    }
    if outcome == "correction":
        change_id = ObjectId()
        await services.get(Archives).open_change(archive["_id"], change_id)
        ordered = {"by": staff.username, "reason": reason, "at": now}
        change = await lifecycle.create(
            {
                "_id": change_id,
                "kind": "change",
                "openid": app.get("openid"),
                "archive_no": archive["_id"],
                "region_code": archive.get("region_code"),
                "record_id": app["_id"],
                "payload": {},
                "documents": {},
                "ordered": ordered,
                "submitted_at": None,
                "decided_at": None,
                "decision": None,
                "created_at": now,
            },
            "order",
            actor,
            reason=reason,
            staff_role=staff.role,
        )
        entry["change_id"] = change["_id"]
    else:
        await audit.append(
            services,
            {
                "_id": f"spot-{entry['id']}",
                "record_id": str(app["_id"]),
                "kind": "spot_check",
                "region_code": app.get("region_code"),
                "name": (app.get("profile") or {}).get("name") or "",
                "actor": staff.username,
                "actor_role": staff.role,
                "at": now,
                "action": "spot_check_confirmed",
                "reason": reason,
                "reason_codes": [],
                "before": {"status": app.get("status"), "version": archive.get("version")},
                "after": {"status": app.get("status"), "version": archive.get("version")},
                "notice_id": None,
            },
        )
    await services.get(Archives).record_spot_check(archive["_id"], entry)
    return await application_detail(services, staff, await store.application(app["_id"]) or app)
