"""WeChat `errcode`/`errmsg` answers as typed exceptions."""

from __future__ import annotations


class WeChatError(Exception):
    """WeChat answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str = ""):
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")


class InvalidCode(WeChatError):
    """A wx.login code was refused (40029, 40163 used, 45011 rate)."""


class TokenExpired(WeChatError):
    """The access token is invalid or expired (40001, 40014, 42001)."""


class NoSubscription(WeChatError):
    """43101: the user has no subscribe-message quota left; final, do not retry."""


class InvalidRequest(WeChatError):
    """The request was refused for its content (bad template, bad field); do not retry."""


class WeChatUnavailable(WeChatError):
    """Network error, HTTP 5xx or `-1 system busy`: worth retrying with backoff."""


_BY_CODE: dict[int, type[WeChatError]] = {
    -1: WeChatUnavailable,
    40029: InvalidCode,
    40163: InvalidCode,
    45011: InvalidCode,
    40001: TokenExpired,
    40014: TokenExpired,
    42001: TokenExpired,
    43101: NoSubscription,
}


def error_for(errcode: int, errmsg: str) -> WeChatError:
    """The typed exception for an errcode."""
    return _BY_CODE.get(errcode, InvalidRequest)(errcode, errmsg)
