"""Staff sign-in, sign-out and "who am I" (with the page's configuration)."""

from __future__ import annotations

from handlers.admin_base import StaffHandler, clear_session_cookies, set_session_cookies
from handlers.base import PublicHandler
from server.districts import deployment_districts
from server.errors import BadRequest
from server.lifecycle.tables import KINDS, SPOT_CHECK_OUTCOMES, action_labels
from server.review.access import STATUS_LABELS
from server.staff import StaffAccounts, StaffSessions

TAGS = ["admin"]


class StaffLoginHandler(PublicHandler):
    """Sign in with username and password; sets the session and XSRF cookies."""

    openapi = {
        "post": {
            "summary": "工作人员登录（失败次数按用户名与客户端地址计数：常用地址锁定，其他地址逐次延长等待）",
            "description": (
                "每次尝试在校验密码之前先占用计数名额：同一用户名在其常用地址（曾成功登录的地址）失败"
                "STAFF_LOGIN_LIMIT 次后在该地址锁定 STAFF_LOGIN_LOCK_MINUTES 分钟（市级管理员可解锁）；"
                "来自其他地址的失败达到同一次数后不锁定，而是每次须等待更久（1 秒起翻倍，最长 "
                "STAFF_LOGIN_MAX_DELAY_SECONDS 秒）；同一客户端地址（任意用户名）失败 STAFF_LOGIN_ADDRESS_LIMIT "
                "次后同样逐次延长等待。429 均带 Retry-After。"
            ),
            "tags": TAGS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["username", "password"],
                            "properties": {
                                "username": {"type": "string"},
                                "password": {"type": "string", "format": "password"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "已登录；返回 xsrf_token，之后的写操作带 X-XSRF-Token 头"},
                "401": {"description": "用户名或密码错误"},
                "429": {
                    "description": (
                        "account_locked（账号在此常用地址已锁定）、login_throttled（请等待后重试）或 "
                        "login_busy（登录请求过多，未校验）；Retry-After 为等待秒数"
                    )
                },
            },
        }
    }

    async def post(self) -> None:
        if not (self.request.headers.get("Content-Type") or "").lower().startswith("application/json"):
            raise BadRequest("登录请求必须是 JSON", "json_required")  # a cross-site form cannot send JSON
        body = self.json_body()
        accounts = self.services.get(StaffAccounts)
        doc = await accounts.authenticate(body.get("username"), body.get("password"), self.request.remote_ip)
        token, xsrf, expires = await self.services.get(StaffSessions).create(doc["_id"])
        set_session_cookies(self, token, xsrf, expires)
        self.write_json({**accounts.as_staff(doc).public(), "xsrf_token": xsrf, "expires_at": expires})


class StaffLogoutHandler(StaffHandler):
    """Sign out: the session is deleted server-side and the cookies cleared."""

    openapi = {"post": {"summary": "工作人员退出登录", "tags": TAGS}}

    async def post(self) -> None:
        await self.services.get(StaffSessions).revoke(self.staff.session_id)
        clear_session_cookies(self)
        self.write_json({"ok": True})


class StaffMeHandler(StaffHandler):
    """The signed-in staff member, their districts, statuses and reject-reason templates."""

    openapi = {"get": {"summary": "当前工作人员及页面配置", "tags": TAGS}}

    def get(self) -> None:
        settings = self.services.settings
        districts = [
            {"code": d["code"], "name": d["name"]}
            for d in deployment_districts(settings).districts
            if self.staff.can_see(d["code"])
        ]
        self.write_json(
            {
                **self.staff.public(),
                "districts": districts,
                "statuses": STATUS_LABELS,
                "kinds": {k.name: {"label": k.label, "states": k.states} for k in KINDS.values()},
                "actions": action_labels(),
                "spot_check_outcomes": SPOT_CHECK_OUTCOMES,
                "reject_reasons": settings.reject_reason_list,
                "city": deployment_districts(settings).city.get("name", ""),
            }
        )


default_handlers = [
    (r"/admin/api/login", StaffLoginHandler),
    (r"/admin/api/logout", StaffLogoutHandler),
    (r"/admin/api/me", StaffMeHandler),
]
