"""Staff accounts: add, disable, enable, reset password, and log in (attempt limits: guard.py)."""

from __future__ import annotations

import builtins
import logging
import re

from pymongo.errors import DuplicateKeyError

from server.db import utcnow
from server.districts import deployment_districts
from server.errors import Busy, Conflict, Forbidden, Invalid, NotFound
from server.staff.guard import LoginGuard, busy
from server.staff.model import CITY_ADMIN, ROLES, Staff, staff_of
from server.staff.passwords import check_policy, hash_password, verify_password
from server.staff.sessions import StaffSessions

log = logging.getLogger("kjcj.staff")

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{1,31}")


def normalize_username(raw: object) -> str:
    """Usernames are case-insensitive: trimmed and lower-cased."""
    return raw.strip().lower() if isinstance(raw, str) else ""


class StaffAccounts:
    """The `staff` collection (one document per account, `_id` = username)."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.staff = services.db["staff"]
        self.atomic = services.atomic

    # --- administration (CLI) ---

    def _regions_for(self, role: str, regions: list[str]) -> list[str]:
        """Validate the role and its districts; a city admin covers all and stores none."""
        if role not in ROLES:
            raise Invalid(
                [{"field": "role", "code": "unknown_role", "message": "角色只能是 city_admin 或 reviewer"}],
                "角色只能是 city_admin 或 reviewer",
                "unknown_role",
            )
        if role == CITY_ADMIN:
            return []
        known = deployment_districts(self.settings).codes
        cleaned = sorted({c.strip() for c in regions if c.strip()})
        if not cleaned:
            raise Invalid(
                [{"field": "regions", "code": "required", "message": "审核员至少要负责一个区"}],
                "审核员至少要负责一个区",
                "regions_required",
            )
        unknown = [c for c in cleaned if c not in known]
        if unknown:
            raise Invalid(
                [
                    {
                        "field": "regions",
                        "code": "unknown_region",
                        "message": f"本系统不服务这些区划代码：{', '.join(unknown)}",
                    }
                ],
                f"本系统不服务这些区划代码：{', '.join(unknown)}",
                "unknown_region",
            )
        return cleaned

    def check_new(self, username: str, role: str, regions: list[str]) -> tuple[str, list[str]]:
        """(normalised username, stored districts) of a new account, or Invalid (before asking a password)."""
        name = normalize_username(username)
        if not USERNAME_RE.fullmatch(name):
            raise Invalid(
                [{"field": "username", "code": "invalid", "message": "用户名须为2-32位小写字母、数字、_.-"}],
                "用户名须为2-32位小写字母、数字、_.-",
                "invalid_username",
            )
        return name, self._regions_for(role, regions)

    async def add(self, username: str, role: str, regions: list[str], password: str) -> dict:
        """Create an account; Conflict if the username is taken."""
        name, codes = self.check_new(username, role, regions)
        check_policy(password)
        now = utcnow()
        doc = {
            "_id": name,
            "username": name,
            "role": role,
            "regions": codes,
            "password_hash": await hash_password(password),
            "disabled": False,
            "created_at": now,
            "updated_at": now,
            "password_changed_at": now,
        }
        try:
            await self.staff.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("用户名已存在", "staff_exists") from None
        log.info("staff account %s added (%s %s)", name, role, ",".join(codes) or "all")
        return doc

    async def set_disabled(self, username: str, disabled: bool) -> dict:
        """Disable (and sign out everywhere) or re-enable an account."""
        doc = await self.staff.find_one_and_update(
            {"_id": normalize_username(username)}, {"$set": {"disabled": disabled, "updated_at": utcnow()}}
        )
        if doc is None:
            raise NotFound("没有这个账号", "staff_not_found")
        if disabled:
            await self.services.get(StaffSessions).revoke_user(doc["_id"])
        log.info("staff account %s %s", doc["_id"], "disabled" if disabled else "enabled")
        return doc

    async def reset_password(self, username: str, password: str) -> dict:
        """Set a new password, clear the lockout and end every session of the account."""
        check_policy(password)
        name = normalize_username(username)
        now = utcnow()
        doc = await self.staff.find_one_and_update(
            {"_id": name},
            {"$set": {"password_hash": await hash_password(password), "updated_at": now, "password_changed_at": now}},
        )
        if doc is None:
            raise NotFound("没有这个账号", "staff_not_found")
        await self.services.get(LoginGuard).clear(name)
        await self.services.get(StaffSessions).revoke_user(name)
        log.info("staff account %s password reset", name)
        return doc

    async def list(self) -> builtins.list[dict]:
        """Every account, without password hashes."""
        return [d async for d in self.staff.find({}, {"password_hash": 0}).sort("_id", 1)]

    async def ensure(self, username: str, role: str, regions: builtins.list[str], password: str) -> bool:
        """Create the account unless it exists (demo seeding); True when created."""
        if await self.staff.find_one({"_id": normalize_username(username)}, {"_id": 1}):
            return False
        try:
            await self.add(username, role, regions, password)
        except Conflict:
            return False
        return True

    # --- signing in ---

    def as_staff(self, doc: dict, session_id: str = "") -> Staff:
        """The effective Staff of an account document (districts the deployment still serves)."""
        return staff_of(doc, deployment_districts(self.settings), session_id)

    async def authenticate(self, username: object, password: object, address: str | None = None) -> dict:
        """The account for a correct username and password, from client `address`.

        The attempt is claimed (server/staff/guard.py) before the password is checked: 401 for
        a wrong password, 429 once the username is locked at this usual address or slowed down
        from other addresses, or the address itself is slowed down; never a check beyond the
        limits, however many attempts arrive at once.
        """
        name = normalize_username(username)
        if not name or not isinstance(password, str) or not password:
            raise Invalid(
                [
                    {
                        "field": "username" if not name else "password",
                        "code": "required",
                        "message": "请输入用户名和密码",
                    }
                ],
                "请输入用户名和密码",
                "credentials_required",
            )
        key = name[:64]
        doc = await self.staff.find_one({"_id": key}) if USERNAME_RE.fullmatch(key) else None
        guard = self.services.get(LoginGuard)
        attempt = await guard.begin(key, doc, address)
        try:
            ok = await verify_password(doc["password_hash"] if doc else None, password[:256])
        except Busy as exc:  # the check never ran: not counted, answered 429
            await attempt.unchecked()
            raise busy(exc.retry_after) from None
        if not ok or doc is None:
            raise await attempt.failed()
        await attempt.succeeded()
        if doc.get("disabled"):
            raise Forbidden("该账号已停用，请联系管理员", "account_disabled")
        await guard.remember(doc, address)
        return doc
