"""`StaffHandler`: the base of every bureau-staff endpoint under /admin/api/ (auth="staff").

Reuse it for any staff-only endpoint (e.g. FAQ administration):

    class MyHandler(StaffHandler):
        openapi = {"get": {"summary": "...", "tags": ["admin"]}}

        async def get(self):
            items = await my_service.list(self.staff)  # the service filters by self.staff.jurisdiction()
            self.write_json(items)

What it guarantees before your method runs (in `async prepare()`):
- the `kjcj_staff` cookie (HttpOnly, SameSite=Strict, path /admin) names a live session,
  else 401 `staff_login_required` / `staff_session_expired`; bearer tokens are ignored;
- for POST/PUT/PATCH/DELETE the `X-XSRF-Token` header equals the session's XSRF token
  (the page reads it from the `kjcj_xsrf` cookie or the login answer), else 403 `xsrf_failed`;
- `self.staff` is a `server.staff.Staff`: `.username`, `.role` ("city_admin" | "reviewer"),
  `.regions` (effective district codes), `.can_see(code)`, `.jurisdiction(field)`.
Anything outside the caller's districts must be answered with 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt

from handlers.base import ApiHandler
from server.staff import Staff, StaffSessions

SESSION_COOKIE = "kjcj_staff"
XSRF_COOKIE = "kjcj_xsrf"
XSRF_HEADER = "X-XSRF-Token"
COOKIE_PATH = "/admin"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class StaffHandler(ApiHandler):
    """Base of staff endpoints: resolves the cookie session, enforces XSRF, exposes `self.staff`."""

    auth = "staff"
    auth_base = True
    staff: Staff

    async def prepare(self) -> None:
        """Resolve the session (401) and check the XSRF header on state-changing methods (403)."""
        self.staff = await self.services.get(StaffSessions).resolve(
            self.get_cookie(SESSION_COOKIE),
            self.request.headers.get(XSRF_HEADER),
            require_xsrf=self.request.method in UNSAFE_METHODS,
        )


def set_session_cookies(handler: ApiHandler, token: str, xsrf: str, expires: dt.datetime) -> None:
    """The session cookie (HttpOnly) and the XSRF cookie (readable by the page), both SameSite=Strict."""
    secure = handler.services.settings.staff_cookie_secure
    max_age = max(1, int((expires - dt.datetime.now(dt.UTC)).total_seconds()))
    handler.set_cookie(
        SESSION_COOKIE, token, path=COOKIE_PATH, httponly=True, secure=secure, samesite="Strict", max_age=max_age
    )
    handler.set_cookie(
        XSRF_COOKIE, xsrf, path=COOKIE_PATH, httponly=False, secure=secure, samesite="Strict", max_age=max_age
    )


def clear_session_cookies(handler: ApiHandler) -> None:
    """Remove both cookies from the browser."""
    secure = handler.services.settings.staff_cookie_secure
    for name in (SESSION_COOKIE, XSRF_COOKIE):
        handler.clear_cookie(name, path=COOKIE_PATH, httponly=name == SESSION_COOKIE, secure=secure, samesite="Strict")
