"""The OpenAPI 3 document, derived from the routing table so it cannot drift.

Paths and methods come from the app's routes; each handler class adds its operations'
details in its `openapi` attribute; shared schemas are registered with `register_schema`.
"""

from __future__ import annotations

import re
from typing import Any

import tornado.web
from tornado.routing import PathMatches

from handlers.base import PublicHandler

METHODS = ("get", "post", "put", "patch", "delete")
_SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "stable snake_case code for programs"},
                    "message": {"type": "string", "description": "simplified Chinese, for people"},
                    "fields": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string"},
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    },
}
_SECURITY = {
    "user": [{"bearer": []}],
    "staff": [{"staffCookie": []}],
    "signature": [{"wechatSignature": []}],
    "public": [],
}


def json_schema_ref(name: str) -> dict:
    """An OpenAPI JSON content object referring to a component schema."""
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def multipart_file_body(description: str = "", extra: dict | None = None) -> dict:
    """A required multipart/form-data requestBody with a binary `file` field (described when given)
    and the `extra` form fields ({name: schema})."""
    file = {"type": "string", "format": "binary"} | ({"description": description} if description else {})
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": {"file": file, **(extra or {})}}
            }
        },
    }


def register_schema(name: str, schema: dict) -> None:
    """Add a named schema to components/schemas."""
    _SCHEMAS[name] = schema


def route_paths(app: tornado.web.Application) -> list[tuple[str, type]]:
    """(OpenAPI path template, handler class) for every route of the app."""
    out = []
    for rule in app.wildcard_router.rules:
        matcher, target = rule.matcher, rule.target
        if not isinstance(matcher, PathMatches) or not isinstance(target, type):
            continue
        out.append((path_template(matcher.regex), target))
    return out


def path_template(regex: re.Pattern) -> str:
    """`/a/(?P<kind>[a-z]+)/b$` → `/a/{kind}/b`."""
    pattern = regex.pattern.rstrip("$")
    names = iter(sorted(regex.groupindex, key=regex.groupindex.get))
    return re.sub(
        r"\((?:\?P<\w+>)?[^()]*(?:\([^()]*\)[^()]*)*\)", lambda _m: "{" + next(names, "param") + "}", pattern
    ).replace("\\", "")


def implemented_methods(handler: type) -> list[str]:
    """HTTP methods the handler class overrides."""
    return [m for m in METHODS if getattr(handler, m) is not getattr(tornado.web.RequestHandler, m)]


def build_document(app: tornado.web.Application, version: str = "1.0.0") -> dict[str, Any]:
    """The whole OpenAPI 3.0 document."""
    paths: dict[str, dict] = {}
    for path, handler in route_paths(app):
        item = paths.setdefault(path, {})
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"{(\w+)}", path)
        ]
        for method in implemented_methods(handler):
            op = dict(getattr(handler, "openapi", {}).get(method, {}))
            op.setdefault("summary", (handler.__doc__ or handler.__name__).strip().splitlines()[0])
            op.setdefault("operationId", f"{method}_{handler.__module__.split('.')[-1]}_{handler.__name__}")
            if params:
                op.setdefault("parameters", [])
                op["parameters"] = params + op["parameters"]
            responses = op.setdefault("responses", {"200": {"description": "成功"}})
            responses.setdefault(
                "default",
                {
                    "description": "错误",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            )
            auth = getattr(handler, "auth", None)
            if auth in _SECURITY:
                op["security"] = _SECURITY[auth]
            item[method] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "会计人员信息采集 API",
            "version": version,
            "description": "小程序（/api/v1）、公众号消息（/wechat）与财政局审核（/admin）接口",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(_SCHEMAS),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/login 返回的 token"},
                "staffCookie": {"type": "apiKey", "in": "cookie", "name": "kjcj_staff"},
                "wechatSignature": {"type": "apiKey", "in": "query", "name": "signature"},
            },
        },
    }


class OpenApiHandler(PublicHandler):
    """The OpenAPI 3 document of this API."""

    openapi = {"get": {"summary": "OpenAPI 文档", "tags": ["ops"]}}

    def get(self) -> None:
        self.write_json(build_document(self.application))


default_handlers = [(r"/api/openapi.json", OpenApiHandler)]
