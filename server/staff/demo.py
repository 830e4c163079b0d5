"""Demo staff accounts for local development (never in production or test)."""

from __future__ import annotations

import logging

from server.errors import AppError
from server.staff.accounts import StaffAccounts
from server.staff.model import CITY_ADMIN, REVIEWER

log = logging.getLogger("kjcj.staff")

DEMO_ACCOUNTS: tuple[tuple[str, str, list[str]], ...] = (
    ("demo", CITY_ADMIN, []),
    ("reviewer", REVIEWER, ["350203"]),
)
DEMO_PASSWORD = "demo12345"


async def seed_demo_staff(services) -> list[str]:
    """Create the demo accounts if absent, in development with DEMO_STAFF only; names created."""
    settings = services.settings
    if settings.environment != "development" or not settings.demo_staff:
        return []
    accounts = services.get(StaffAccounts)
    created = []
    for username, role, regions in DEMO_ACCOUNTS:
        try:
            if await accounts.ensure(username, role, regions, DEMO_PASSWORD):
                created.append(username)
        except AppError as exc:  # e.g. a deployment without district 350203
            log.warning("demo staff %s not created: %s", username, exc.message)
    if created:
        log.info("seeded demo staff accounts: %s", ", ".join(created))
    return created
