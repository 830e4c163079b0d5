"""Mini-program accounts: WeChat login and bearer-token sessions."""

from server.accounts.sessions import SessionService, SessionUser

__all__ = ["SessionService", "SessionUser"]
