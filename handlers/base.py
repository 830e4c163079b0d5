"""The one JSON error shape, domain errors → HTTP statuses, JSON in and out.

Every handler of every front door derives from `ApiHandler` and declares `auth`
("public", "user", "staff" or "signature"); `server/app.py` refuses to start with a
route that does not.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import tornado.web
from bson import ObjectId
from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

from server import errors
from server.services import Services
from server.wechat.errors import WeChatError, WeChatUnavailable

log = logging.getLogger("kjcj.http")

STATUS: dict[type[errors.AppError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.UnsupportedMedia: 415,
    errors.Invalid: 422,
    errors.Locked: 429,
    errors.TooManyRequests: 429,
    errors.Busy: 503,
    errors.Unavailable: 503,
}

HTTP_CODES = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    411: ("length_required", "请求缺少长度信息"),
    413: ("too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    500: ("internal_error", "服务器内部错误，请稍后重试"),
    502: ("upstream_error", "微信服务返回错误，请稍后重试"),
    503: ("unavailable", "服务暂时不可用，请稍后重试"),
}


def status_for(exc: errors.AppError) -> int:
    """The HTTP status of a domain error."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def to_json(obj: Any) -> str:
    """JSON with datetimes as ISO 8601 and ObjectIds as strings; Chinese kept as is."""
    return json.dumps(obj, ensure_ascii=False, default=_default, separators=(",", ":"))


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    """NaN, Infinity and -Infinity are not JSON."""
    raise ValueError(f"not JSON: {name}")


def _lone_surrogate(data: dict) -> str | None:
    """The dotted path of the first key or string holding a lone UTF-16 surrogate, else None."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    return path or "body"
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))
    return None


class ApiHandler(tornado.web.RequestHandler):
    """Base of every handler: JSON bodies, the error shape, the services."""

    auth: str | None = None  # set only by an authentication base class (auth_base = True), see below
    auth_base = False
    openapi: dict[str, dict] = {}  # method -> OpenAPI operation object (summary, schemas...)
    error_code: str | None = None
    route_first = False  # True: matched before every other route (only for an exact, hot path)

    @property
    def services(self) -> Services:
        """The application's service container."""
        return self.application.settings["services"]

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    def json_body(self) -> dict:
        """The request body as a JSON object, or a 400 with a stable code (an empty body is `{}`,
        unless the handler's OpenAPI operation declares its body required: then 400 too)."""
        raw = self.request.body
        if not raw or not raw.strip():
            operation = (getattr(self, "openapi", None) or {}).get(self.request.method.lower()) or {}
            if (operation.get("requestBody") or {}).get("required"):
                raise errors.BadRequest("请求内容不能为空，应为 JSON 对象", "body_required")
            return {}
        try:
            data = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, UnicodeError, RecursionError):  # also NaN/Infinity and deep nesting
            raise errors.BadRequest("请求内容不是有效的 JSON", "malformed_json") from None
        if not isinstance(data, dict):
            raise errors.BadRequest("请求内容必须是 JSON 对象", "body_not_object")
        field = _lone_surrogate(data)
        if field is not None:  # "\ud800" parses, but can be neither stored nor sent back as UTF-8
            raise errors.Invalid(
                [{"field": field, "code": "invalid_characters", "message": "包含无效字符（不成对的 UTF-16 代理项）"}]
            )
        return data

    def write_json(self, obj: Any, status: int = 200) -> None:
        """Finish with a JSON body."""
        self.set_status(status)
        self.finish(to_json(obj))

    async def stream_file(
        self, content_type: str, size: int, filename: str, chunks, inline: bool = True, sandbox: bool = True
    ) -> None:
        """Stream a stored file to its authorised reader, never cached, never run as a page."""
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Length", str(size))
        self.set_header("Content-Disposition", f'{"inline" if inline else "attachment"}; filename="{filename}"')
        self.set_header("Cache-Control", "private, no-store")
        if sandbox:
            self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        else:
            self.set_header("X-Frame-Options", "SAMEORIGIN")
        async for chunk in chunks:
            self.write(chunk)
            await self.flush()
        self.finish()

    async def send_bytes(self, content_type: str, filename: str, data: bytes, inline: bool = True) -> None:
        """Send a generated file (a PDF) to its authorised reader, like a stored one."""

        async def one_chunk():
            yield data

        await self.stream_file(content_type, len(data), filename, one_chunk(), inline=inline)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, (errors.AppError, tornado.web.HTTPError)):
            return
        if isinstance(value, (ServerSelectionTimeoutError, AutoReconnect, ConnectionFailure, WeChatError)):
            log.warning("dependency failed on %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    def allowed_methods(self) -> list[str]:
        """The HTTP methods this handler implements (the Allow header of a 405)."""
        base = tornado.web.RequestHandler
        return [
            m for m in self.SUPPORTED_METHODS if getattr(type(self), m.lower(), None) is not getattr(base, m.lower())
        ]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as {"error": {"code", "message", ...}}."""
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        exc = kwargs.get("exc_info", (None, None, None))[1]
        body: dict[str, Any]
        if isinstance(exc, errors.AppError):
            status_code = status_for(exc)
            body = {"code": exc.code, "message": exc.message}
            if isinstance(exc, errors.Invalid):
                body["fields"] = exc.fields
            body.update(exc.extra)
            if isinstance(exc, (errors.Busy, errors.TooManyRequests)):
                self.set_header("Retry-After", str(exc.retry_after))
        elif isinstance(exc, (ServerSelectionTimeoutError, AutoReconnect, ConnectionFailure)):
            status_code = 503
            body = {"code": "database_unavailable", "message": "数据库暂时不可用，请稍后重试"}
        elif isinstance(exc, WeChatUnavailable):
            status_code = 503
            body = {"code": "wechat_unavailable", "message": "微信服务暂时不可用，请稍后重试"}
        elif isinstance(exc, WeChatError):
            status_code = 502
            body = {"code": "wechat_error", "message": HTTP_CODES[502][1]}
        else:
            code, message = HTTP_CODES.get(status_code, (f"http_{status_code}", "请求无法处理"))
            if isinstance(exc, tornado.web.MissingArgumentError):
                code, message = "missing_argument", f"缺少参数：{exc.arg_name}"
            body = {"code": code, "message": message}
        self.error_code = body["code"]
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(to_json({"error": body}))


def auth_bases(handler: type) -> list[type]:
    """The authentication base classes a handler class derives from (it must be exactly one).

    Authentication is enforced by class: each base checks its credentials in `prepare()`
    (`UserHandler`: bearer token; `StaffHandler`: cookie and XSRF; the webhook: WeChat's
    signature; `PublicHandler`: none). A handler that only sets the `auth` label without
    deriving from its base is refused at start-up (server/app.py).
    """
    return [c for c in handler.__mro__ if c.__dict__.get("auth_base")]


class PublicHandler(ApiHandler):
    """Base of endpoints anyone may call (health, options, login, the admin page's assets)."""

    auth = "public"
    auth_base = True


class NotFoundHandler(PublicHandler):
    """Any unknown path: a JSON 404."""

    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


MAX_PAGE_SIZE = 100  # every staff list's page (the OpenAPI document declares the same maximum)


def int_argument(handler: tornado.web.RequestHandler, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query argument within [low, high], or a 400 naming it."""
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.BadRequest(f"参数 {name} 必须是整数", "invalid_argument") from None
    if not low <= value <= high:
        raise errors.BadRequest(f"参数 {name} 必须在 {low} 到 {high} 之间", "invalid_argument")
    return value
