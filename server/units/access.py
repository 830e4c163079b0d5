"""Who may act for a unit: its verified administrators, checked on every request.

A unit's document lists its administrators (a hint kept by the steps' effects); the truth is
each administrator's own application, read by `_id` on every request: a revoked (or not yet
verified) administrator is refused at once, even if an effect is still pending.
"""

from __future__ import annotations

from typing import Any

from server.accounts.sessions import SessionUser
from server.errors import Forbidden
from server.lifecycle.store import Doc, LifecycleStore
from server.records.errors import FieldProblem
from server.records.identifiers import normalize_uscc
from server.units.store import UnitStore

NOT_ADMIN = "您不是该单位的已认证管理员"


def not_unit_admin() -> Forbidden:
    """403 for anyone who is not an active verified administrator of the unit."""
    return Forbidden(NOT_ADMIN, "not_unit_admin")


def parse_uscc(raw: Any) -> str | None:
    """A valid credit code (normalised), or None."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        return normalize_uscc(raw)
    except FieldProblem:
        return None


async def admin_application(services, user: SessionUser, unit: Doc) -> Doc | None:
    """The caller's verified administrator application of this unit, or None."""
    store = services.get(LifecycleStore)
    for entry in unit.get("admins") or []:
        if entry.get("openid") != user.openid:
            continue
        app = await store.application(entry.get("application_id"))
        if (
            app is not None
            and app.get("kind") == "unit_admin"
            and app.get("status") == "verified"
            and app.get("openid") == user.openid
            and (app.get("payload") or {}).get("uscc") == unit["_id"]
        ):
            return app
    return None


async def require_unit_admin(services, user: SessionUser, uscc: str) -> dict:
    """The unit document when the caller is an active verified administrator of it, else 403
    `not_unit_admin` (also for a malformed or unknown credit code: nothing is revealed)."""
    code = parse_uscc(uscc)
    unit = await services.get(UnitStore).unit(code) if code else None
    if unit is None or await admin_application(services, user, unit) is None:
        raise not_unit_admin()
    return unit


async def units_of(services, user) -> list[dict]:
    """The units the caller administers now (verified, not revoked), in the order they were applied for."""
    store = services.get(LifecycleStore)
    account = await store.account(user.openid) or {}
    out: list[dict] = []
    seen: set[str] = set()
    for app_id in account.get("unit_admins") or []:
        app = await store.application(app_id)
        if app is None or app.get("status") != "verified" or app.get("openid") != user.openid:
            continue
        code = str((app.get("payload") or {}).get("uscc") or "")
        if not code or code in seen:
            continue
        unit = await services.get(UnitStore).unit(code)
        if unit is not None and any(a.get("application_id") == app["_id"] for a in unit.get("admins") or []):
            seen.add(code)
            out.append(unit)
    return out
