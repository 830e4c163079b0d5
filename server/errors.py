"""Domain errors: services raise these; handlers/base.py maps them to HTTP statuses.

Each carries a stable snake_case `code` for programs and a simplified-Chinese `message`
for people; `Invalid` also carries field-level entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class AppError(Exception):
    """Base of every error a person or program should see."""

    code = "error"
    message = "请求无法处理"

    def __init__(self, message: str | None = None, code: str | None = None, **extra):
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.extra = extra
        super().__init__(f"{self.code}: {self.message}")


class BadRequest(AppError):
    """The request itself is malformed (bad JSON, wrong shape)."""

    code = "bad_request"
    message = "请求格式不正确"


class Unauthorized(AppError):
    """No valid credentials."""

    code = "unauthorized"
    message = "请先登录"


class Forbidden(AppError):
    """Credentials are valid but not for this."""

    code = "forbidden"
    message = "没有权限执行此操作"


class NotFound(AppError):
    """The thing does not exist, or the caller may not know it does."""

    code = "not_found"
    message = "未找到"


class Conflict(AppError):
    """The state has changed or the thing already exists."""

    code = "conflict"
    message = "数据已被修改，请刷新后重试"


class Invalid(AppError):
    """Field values failed validation; `fields` lists each failure."""

    code = "validation_failed"
    message = "填写的信息有误，请检查后重试"

    def __init__(self, fields: Sequence[Mapping[str, Any]], message: str | None = None, code: str | None = None):
        super().__init__(message, code)
        self.fields = fields


class TooLarge(AppError):
    """The body or file is over the limit."""

    code = "too_large"
    message = "文件过大"


class UnsupportedMedia(AppError):
    """The file's real type is not accepted."""

    code = "unsupported_file_type"
    message = "不支持的文件类型"


class Locked(AppError):
    """The account or thing is locked for now."""

    code = "locked"
    message = "已锁定，请稍后再试"


class Busy(AppError):
    """Too much work queued right now; try again shortly."""

    code = "busy"
    message = "系统繁忙，请稍后重试"

    def __init__(self, message: str | None = None, code: str | None = None, retry_after: int = 5):
        super().__init__(message, code)
        self.retry_after = retry_after


class TooManyRequests(AppError):
    """Asked too often from one address; `retry_after` seconds until the window ends."""

    code = "too_many_requests"
    message = "查询过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, code: str | None = None, retry_after: int = 60):
        super().__init__(message, code)
        self.retry_after = retry_after


class Unavailable(AppError):
    """A dependency (database, WeChat) is unreachable."""

    code = "unavailable"
    message = "服务暂时不可用，请稍后重试"
