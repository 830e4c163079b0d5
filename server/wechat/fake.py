"""A fake WeChat API server on loopback, real HTTP, for tests and the local demo.

A code `demo:<name>` logs in as openid `demo-openid-<name>` (unionid `demo-unionid-<name>`); any
other code is 40029. The official-account follower `demo-chat-<name>` has the same unionid.
Everything received is recorded and can be read from Python (`FakeWeChat`) or over HTTP
(`GET /_fake/state`). Failures can be queued per path to test retries. Customer-service
messages (`/cgi-bin/message/custom/send`) follow WeChat's rules for the openids listed in
`silent` (no interaction within 48 h: 45015) and `unfollowed` (43004).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter, deque

import tornado.httpserver
import tornado.web
from tornado.netutil import bind_sockets


class FakeWeChat:
    """The fake's state plus its HTTP server."""

    def __init__(self):
        self.token_calls: Counter[str] = Counter()  # path -> number of token requests
        self.tokens: dict[str, float] = {}  # valid token -> expiry (epoch seconds)
        self.subscribe_messages: list[dict] = []
        self.custom_messages: list[dict] = []  # customer-service messages accepted
        self.silent: set[str] = set()  # followers outside the 48-hour window: 45015
        self.unfollowed: set[str] = set()  # openids that no longer follow the account: 43004
        self.menus: list[dict] = []
        self.unionids: dict[str, str] = {}  # official-account openid -> unionid (user/info)
        self.user_info_calls = 0
        self.failures: dict[str, deque] = {}
        self.server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL to use as WECHAT_API_BASE."""
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, path: str, errcode: int | None = None, status: int = 200, times: int = 1) -> None:
        """Make the next `times` calls to `path` answer an errcode or an HTTP status."""
        queue = self.failures.setdefault(path, deque())
        for _ in range(times):
            queue.append((errcode, status))

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as WeChat does when another one is forced."""
        self.tokens.clear()

    def issue_token(self) -> dict:
        """A fresh token valid for 7200 s."""
        token = "fake-token-" + secrets.token_hex(8)
        self.tokens[token] = time.time() + 7200
        return {"access_token": token, "expires_in": 7200}

    def token_valid(self, token: str | None) -> bool:
        """True for a token this fake issued and has not expired."""
        return token is not None and self.tokens.get(token, 0) > time.time()

    def make_app(self) -> tornado.web.Application:
        """The fake's routes."""
        kw = {"fake": self}
        return tornado.web.Application(
            [
                (r"/sns/jscode2session", _Code2Session, kw),
                (r"/cgi-bin/stable_token", _StableToken, kw),
                (r"/cgi-bin/token", _Token, kw),
                (r"/cgi-bin/message/subscribe/send", _SubscribeSend, kw),
                (r"/cgi-bin/message/custom/send", _CustomSend, kw),
                (r"/cgi-bin/menu/create", _MenuCreate, kw),
                (r"/cgi-bin/user/info", _UserInfo, kw),
                (r"/_fake/state", _State, kw),
            ]
        )

    async def start(self, port: int = 0) -> FakeWeChat:
        """Listen on 127.0.0.1 (a free port unless given)."""
        sockets = bind_sockets(port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(self.make_app())
        self.server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self.server:
            self.server.stop()
            await self.server.close_all_connections()
            self.server = None


class _Base(tornado.web.RequestHandler):
    def initialize(self, fake: FakeWeChat):
        self.fake = fake

    def body_json(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            data = None
        return data if isinstance(data, dict) else {}

    def reply(self, obj: dict) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(obj, ensure_ascii=False))

    def injected_failure(self) -> bool:
        """Answer a queued failure for this path, if any."""
        queue = self.fake.failures.get(self.request.path)
        if not queue:
            return False
        errcode, status = queue.popleft()
        self.set_status(status)
        if status >= 400:
            self.finish("injected failure")
        else:
            self.reply({"errcode": errcode, "errmsg": f"injected {errcode}"})
        return True

    def token_ok(self) -> bool:
        if self.fake.token_valid(self.get_query_argument("access_token", None)):
            return True
        self.reply({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
        return False


class _Code2Session(_Base):
    def get(self):
        if self.injected_failure():
            return
        code = self.get_query_argument("js_code", "")
        if code.startswith("demo:") and len(code) > 5:
            name = code[5:]
            self.reply(
                {
                    "openid": f"demo-openid-{name}",
                    "unionid": f"demo-unionid-{name}",
                    "session_key": secrets.token_urlsafe(16),
                }
            )
        else:
            self.reply({"errcode": 40029, "errmsg": "invalid code"})


class _StableToken(_Base):
    def post(self):
        self.fake.token_calls[self.request.path] += 1
        if self.injected_failure():
            return
        body = self.body_json()
        if not body.get("appid") or not body.get("secret"):
            self.reply({"errcode": 40013, "errmsg": "invalid appid"})
            return
        self.reply(self.fake.issue_token())


class _Token(_Base):
    def get(self):
        self.fake.token_calls[self.request.path] += 1
        if self.injected_failure():
            return
        self.reply(self.fake.issue_token())


class _SubscribeSend(_Base):
    def post(self):
        if self.injected_failure() or not self.token_ok():
            return
        body = self.body_json()
        if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
            self.reply({"errcode": 47003, "errmsg": "argument invalid"})
            return
        self.fake.subscribe_messages.append(body)
        self.reply({"errcode": 0, "errmsg": "ok", "msgid": len(self.fake.subscribe_messages)})


class _CustomSend(_Base):
    """A customer-service message (客服消息) to an official-account follower; text messages only."""

    def post(self):
        if self.injected_failure() or not self.token_ok():
            return
        body = self.body_json()
        touser = body.get("touser")
        text = body.get("text")
        if not isinstance(touser, str) or not touser or body.get("msgtype") != "text" or not isinstance(text, dict):
            self.reply({"errcode": 40008, "errmsg": "invalid message type"})
            return
        content = text.get("content")
        if not isinstance(content, str) or not content or len(content.encode()) > 2048:
            self.reply({"errcode": 44003, "errmsg": "empty or oversized content"})
            return
        if touser in self.fake.unfollowed:
            self.reply({"errcode": 43004, "errmsg": "require subscribe"})
            return
        if touser in self.fake.silent:
            self.reply({"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"})
            return
        self.fake.custom_messages.append(body)
        self.reply({"errcode": 0, "errmsg": "ok"})


class _MenuCreate(_Base):
    def post(self):
        if self.injected_failure() or not self.token_ok():
            return
        body = self.body_json()
        if not isinstance(body.get("button"), list) or not body["button"]:
            self.reply({"errcode": 40016, "errmsg": "invalid button size"})
            return
        self.fake.menus.append(body)
        self.reply({"errcode": 0, "errmsg": "ok"})


class _UserInfo(_Base):
    """An official-account follower: `demo-chat-<name>` shares its unionid with the mini-program's `demo:<name>`."""

    def get(self):
        self.fake.user_info_calls += 1
        if self.injected_failure() or not self.token_ok():
            return
        openid = self.get_query_argument("openid", "")
        info = {"subscribe": 1, "openid": openid}
        unionid = self.fake.unionids.get(openid)
        if unionid is None and openid.startswith("demo-chat-"):
            unionid = "demo-unionid-" + openid[len("demo-chat-") :]
        if unionid:
            info["unionid"] = unionid
        self.reply(info)


class _State(_Base):
    def get(self):
        self.reply(
            {
                "token_calls": dict(self.fake.token_calls),
                "subscribe_messages": self.fake.subscribe_messages,
                "custom_messages": self.fake.custom_messages,
                "menus": self.fake.menus,
            }
        )
