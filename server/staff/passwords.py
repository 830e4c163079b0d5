"""Password hashing with argon2id (memory-hard), run in worker threads off the event loop.

Login checks run in a bounded pool (`verify_password` raises `Busy` at once when it is full)
so that a flood of logins is refused quickly instead of queueing without end; the caller
has claimed the attempt before (server/staff/guard.py) and answers 429.
"""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import Invalid
from server.pool import BoundedPool

MIN_LENGTH = 8
MAX_LENGTH = 128
# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 30 ms per check here.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_dummy: list[str] = []  # verified against when the username is unknown, so both cases cost the same
# Each running check holds 19 MiB; waiting ones hold nothing. 32 waiting drain in about half a second.
VERIFY_WORKERS = max(1, min(4, os.cpu_count() or 1))
_verify_pool = BoundedPool(
    VERIFY_WORKERS,
    32,
    "argon2",
    "登录请求过多，请稍后再试",
    "login_busy",
    first_estimate=0.05,
)


def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(_hasher.hash("not-a-real-password-for-timing-only"))
    return _dummy[0]


def check_policy(password: str) -> None:
    """Refuse passwords that are too short or too long."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise Invalid(
            [{"field": "password", "code": "too_short", "message": f"密码至少{MIN_LENGTH}位"}],
            f"密码至少{MIN_LENGTH}位",
            "weak_password",
        )
    if len(password) > MAX_LENGTH:
        raise Invalid(
            [{"field": "password", "code": "too_long", "message": f"密码不能超过{MAX_LENGTH}位"}],
            f"密码不能超过{MAX_LENGTH}位",
            "weak_password",
        )


async def hash_password(password: str) -> str:
    """The argon2id hash of a password."""
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; a missing hash still costs one verification.

    Busy (without running the check) when the verification pool is full.
    """

    def _verify() -> bool:
        try:
            return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await _verify_pool.run(_verify)
