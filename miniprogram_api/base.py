"""`UserHandler`: the base of every mini-program handler that needs a logged-in person.

Usage (other modules may reuse it):

    class MyHandler(UserHandler):
        async def get(self):
            self.write_json(await self.services.get(MyService).thing(self.user))

`prepare()` resolves `Authorization: Bearer <token>` (from POST /api/v1/auth/login)
into `self.user` (`SessionUser`: openid, record_id); a missing, unknown or expired
token is a 401. Only bearer tokens are accepted: no cookies, so a mini-program token
never authenticates anything else and staff cookies never authenticate this.
Subclasses overriding `prepare` must `await super().prepare()` first.
"""

from __future__ import annotations

from typing import Any

from handlers.base import ApiHandler
from handlers.openapi import json_schema_ref
from server.accounts.sessions import SessionService, SessionUser
from server.errors import Unauthorized


class UserHandler(ApiHandler):
    """Base of mini-program handlers: `self.user` from the bearer token, else 401."""

    auth = "user"
    auth_base = True
    user: SessionUser

    async def prepare(self) -> None:
        """Resolve the bearer token into `self.user`."""
        self.user = await self.services.get(SessionService).authenticate(self.request.headers.get("Authorization"))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The JSON error; a 401 also says how to authenticate."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Unauthorized) or status_code == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="kjcj"')
        super().write_error(status_code, **kwargs)


UNAUTHORIZED = {
    "401": {
        "description": "未登录、登录凭证无效或已过期（token_missing / token_invalid / token_expired）",
        "content": json_schema_ref("Error"),
    }
}
