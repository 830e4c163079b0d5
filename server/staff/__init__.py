"""Bureau staff: accounts (argon2 passwords, login attempt limits), cookie sessions and jurisdiction.

`StaffAccounts` owns the `staff` collection (add, disable, reset, log in);
`LoginGuard` owns `staff_login_failures` (attempts claimed before the password check, unlock);
`StaffSessions` owns `staff_sessions` (random tokens stored hashed, expiring);
`Staff` is the signed-in person with role, districts and the `jurisdiction()` filter.
"""

from server.staff.accounts import StaffAccounts
from server.staff.guard import LoginGuard
from server.staff.model import ROLES, Staff
from server.staff.sessions import StaffSessions

__all__ = ["ROLES", "LoginGuard", "Staff", "StaffAccounts", "StaffSessions"]
