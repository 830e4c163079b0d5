"""The admin web page (/admin/), its static assets, and the staff side's start-up hook."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import tornado.template
import tornado.web

from handlers.base import PublicHandler

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
_loader = tornado.template.Loader(str(HERE / "templates"), autoescape="xhtml_escape")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "frame-src 'self'; object-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@functools.cache  # once per process, like the compiled template
def asset_version(name: str) -> str:
    """A short content hash of a static file, for cache busting."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]


class AdminPageHandler(PublicHandler):
    """The admin single page (Simplified Chinese, no external resources)."""

    openapi = {
        "get": {
            "summary": "财政局审核管理页面（HTML）",
            "tags": ["admin"],
            "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
        }
    }

    def get(self) -> None:
        html = _loader.load("admin.html").generate(css=asset_version("admin.css"), js=asset_version("admin.js"))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(html)


class AdminRedirectHandler(PublicHandler):
    """/admin → /admin/."""

    openapi = {"get": {"summary": "跳转到 /admin/", "tags": ["admin"], "responses": {"301": {"description": "跳转"}}}}

    def get(self) -> None:
        self.redirect("/admin/", permanent=True)


class AdminStaticHandler(tornado.web.StaticFileHandler, PublicHandler):
    """The admin page's own CSS and JavaScript (errors in the JSON shape)."""

    openapi = {"get": {"summary": "管理页面静态资源", "tags": ["admin"]}}


default_handlers = [
    (r"/admin", AdminRedirectHandler),
    (r"/admin/", AdminPageHandler),
    (r"/admin/static/(?P<path>[A-Za-z0-9_.-]+)", AdminStaticHandler, {"path": str(STATIC_DIR)}),
]
