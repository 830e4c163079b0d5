"""The signed-in staff member and the jurisdiction rule (which districts they may see)."""

from __future__ import annotations

from dataclasses import dataclass

CITY_ADMIN = "city_admin"
REVIEWER = "reviewer"
ROLES = {CITY_ADMIN: "市级管理员", REVIEWER: "区级审核员"}


@dataclass(frozen=True)
class Staff:
    """A staff member as resolved from a session: role plus the effective district codes.

    For a city admin `regions` is every district of the deployment; for a reviewer it is
    their listed districts (only those the deployment still serves).
    """

    username: str
    role: str
    regions: tuple[str, ...]
    session_id: str = ""

    @property
    def is_city_admin(self) -> bool:
        """True for the role that covers every district."""
        return self.role == CITY_ADMIN

    def can_see(self, region_code: str | None) -> bool:
        """True when a record of this district is within the caller's jurisdiction."""
        return region_code is not None and region_code in self.regions

    def jurisdiction(self, field: str = "region_code") -> dict:
        """A MongoDB filter limiting a query to the caller's districts; merge it into every query."""
        return {field: {"$in": list(self.regions)}}

    def public(self) -> dict:
        """What the admin page may show about the caller."""
        return {
            "username": self.username,
            "role": self.role,
            "role_label": ROLES.get(self.role, self.role),
            "regions": list(self.regions),
        }


def staff_of(doc: dict, districts, session_id: str = "") -> Staff:
    """The effective Staff of an account document (only districts the deployment still serves)."""
    if doc["role"] == CITY_ADMIN:
        regions = tuple(d["code"] for d in districts.districts)
    else:
        regions = tuple(c for c in doc.get("regions", []) if c in districts.codes)
    return Staff(doc["_id"], doc["role"], regions, session_id)
