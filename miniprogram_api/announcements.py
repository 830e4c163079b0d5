"""Current announcements: the person's own (GET /api/v1/announcements) and the public list
(GET /api/v1/public/announcements?region=), which a browser (the official account's menu, a
link in an article) gets as a small HTML page. Both are served from memory (server/announcements)."""

from __future__ import annotations

import datetime as dt

from tornado.escape import url_escape, xhtml_escape

from handlers.base import PublicHandler
from handlers.openapi import register_schema
from miniprogram_api.base import UNAUTHORIZED, UserHandler, json_schema_ref
from server.announcements import Announcements
from server.districts import deployment_districts, district_name
from server.errors import BadRequest
from server.records.store import RecordStore

CHINA = dt.timezone(dt.timedelta(hours=8))
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

register_schema(
    "PublicAnnouncement",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "body": {"type": "string", "description": "纯文字，\\n 为换行"},
            "scope": {"type": "string", "description": "city（全市）或区划代码"},
            "scope_name": {"type": "string"},
            "pinned": {"type": "boolean"},
            "publish_at": {"type": "string", "format": "date-time"},
            "expire_at": {"type": "string", "format": "date-time"},
        },
    },
)
register_schema(
    "AnnouncementFeed",
    {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/PublicAnnouncement"},
                "description": "置顶在前，其余按发布时间从新到旧",
            },
            "region_code": {"type": "string", "nullable": True},
            "region_name": {"type": "string"},
        },
    },
)


class MyAnnouncementsHandler(UserHandler):
    """The announcements shown to the caller now: city-wide ones and their district's."""

    openapi = {
        "get": {
            "summary": "当前公告：全市公告及本人所在区的公告（置顶在前，其余最新在前）",
            "tags": ["mini-program"],
            "responses": {
                "200": {"description": "成功", "content": json_schema_ref("AnnouncementFeed")},
                **UNAUTHORIZED,
            },
        }
    }

    async def get(self) -> None:
        record = await self.services.get(RecordStore).load(self.user.record_id, self.user.openid)
        region = record.get("region_code")
        items = await self.services.get(Announcements).current(region)
        self.write_json(
            {"items": items, "region_code": region, "region_name": district_name(self.services.settings, region)}
        )


class PublicAnnouncementsHandler(PublicHandler):
    """The current announcements of a district (or city-wide only), for anyone; HTML for a browser."""

    openapi = {
        "get": {
            "summary": "当前公告（无需登录）：全市公告，及 region 指定区的公告；浏览器（公众号菜单、文章链接）打开时为网页",
            "tags": ["public"],
            "parameters": [
                {"name": "region", "in": "query", "schema": {"$ref": "#/components/schemas/RecordDistricts"}}
            ],
            "responses": {
                "200": {
                    "description": "成功（Accept 首选 text/html 时为网页）",
                    "content": {**json_schema_ref("AnnouncementFeed"), "text/html": {"schema": {"type": "string"}}},
                },
                "400": {"description": "不是本市的区（unknown_region）", "content": json_schema_ref("Error")},
            },
        }
    }

    async def get(self) -> None:
        districts = deployment_districts(self.services.settings)
        region = self.get_query_argument("region", None) or None
        if region is not None and region not in districts.codes:
            raise BadRequest("没有这个区", "unknown_region")
        items = await self.services.get(Announcements).current(region)
        name = district_name(self.services.settings, region)
        if not self.wants_html():
            self.write_json({"items": items, "region_code": region, "region_name": name})
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", PAGE_CSP)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "no-referrer")
        city = districts.city.get("name", "")
        links = [("", f"{city}（全市）")] + [(d["code"], d["name"]) for d in districts.districts]
        self.finish(render_page(city, region, name, items, links))

    def wants_html(self) -> bool:
        """True when the client prefers HTML to JSON (a browser), by the order in its Accept header."""
        accept = self.request.headers.get("Accept", "").lower()
        html, json = accept.find("text/html"), accept.find("application/json")
        return html >= 0 and (json < 0 or html < json)


def _day(value: dt.datetime) -> str:
    return value.astimezone(CHINA).strftime("%Y-%m-%d")


def render_page(city: str, region: str | None, region_name: str, items: list[dict], links: list) -> str:
    """The public announcements as a small self-contained page (every text escaped)."""
    e = xhtml_escape
    where = region_name or "全市"
    nav = []
    for code, label in links:
        if (code or None) == region:
            nav.append(f"<b>{e(label)}</b>")
        else:
            nav.append(f'<a href="?{"region=" + url_escape(code) if code else ""}">{e(label)}</a>')
    cards = []
    for item in items:
        paragraphs = "".join(f"<p>{e(line)}</p>" for line in item["body"].split("\n") if line.strip())
        pin = '<span class="pin">置顶</span>' if item["pinned"] else ""
        cards.append(
            f'<article>{pin}<h2>{e(item["title"])}</h2><div class="meta">{e(item["scope_name"])} · '
            f"{_day(item['publish_at'])} 发布 · {_day(item['expire_at'])} 截止</div>{paragraphs}</article>"
        )
    body = "".join(cards) or '<p class="none">暂无公告</p>'
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>'
        f"{e(city)}会计人员信息采集 · 通知公告（{e(where)}）</title><style>"
        "body{margin:0;padding:16px;font:15px/1.6 -apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
        "color:#1f2933;background:#f5f7fa}h1{font-size:18px;margin:0 0 8px}nav{font-size:13px;margin-bottom:12px}"
        "article{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:12px 14px;margin-bottom:12px}"
        "h2{font-size:16px;margin:0 0 4px}.meta{color:#616e7c;font-size:12px;margin-bottom:6px}p{margin:4px 0}"
        ".pin{float:right;font-size:12px;color:#a0430a;background:#ffe8d9;border-radius:8px;padding:0 6px}"
        ".none{color:#616e7c}a{color:#1d5fbf}</style></head><body>"
        f"<h1>通知公告 · {e(where)}</h1><nav>{' · '.join(nav)}</nav>{body}</body></html>"
    )


default_handlers = [
    (r"/api/v1/announcements", MyAnnouncementsHandler),
    (r"/api/v1/public/announcements", PublicAnnouncementsHandler),
]
