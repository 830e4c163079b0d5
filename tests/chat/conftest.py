"""Chat fixtures: WeChat-built webhook requests (real signatures, wechatpy's WeChatCrypto) for
the three message modes, and a fake WeChat that also answers user info (unionid)."""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass
from xml.etree import ElementTree

import pytest
from wechatpy.crypto import WeChatCrypto

TOKEN = "chat-test-token"
APPID = "wx-test-official"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
ACCOUNT = "gh_test_account"
_ids = itertools.count(int(time.time() * 1000))


def sign(*parts: str) -> str:
    """WeChat's signature, computed independently of the code under test."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def next_msg_id() -> str:
    return str(next(_ids))


def text_xml(openid: str, content: str, msg_id: str | None = None, created: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next_msg_id()}</MsgId></xml>"
    )


def voice_xml(openid: str, recognition: str | None, msg_id: str | None = None) -> str:
    rec = f"<Recognition><![CDATA[{recognition}]]></Recognition>" if recognition is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
        f"<MediaId><![CDATA[media1]]></MediaId><Format><![CDATA[amr]]></Format>{rec}"
        f"<MsgId>{msg_id or next_msg_id()}</MsgId></xml>"
    )


def event_xml(openid: str, event: str, key: str | None = None, created: int | None = None) -> str:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{key_xml}</xml>"
    )


def image_xml(openid: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://example.invalid/a.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId>"
        f"<MsgId>{next_msg_id()}</MsgId></xml>"
    )


@dataclass
class Reply:
    """A webhook answer as WeChat would read it."""

    status: int
    body: bytes
    fields: dict
    encrypted: bool

    @property
    def content(self) -> str | None:
        """The text reply, or None for the bare `success`."""
        return self.fields.get("Content")

    @property
    def is_success(self) -> bool:
        return self.status == 200 and self.body == b"success"


class WeChatSender:
    """Sends messages to /wechat the way WeChat does in one mode."""

    def __init__(self, http, mode: str, aes_key: str = AES_KEY, token: str = TOKEN, appid: str = APPID):
        self.http = http
        self.mode = mode
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid) if mode != "plaintext" else None

    def query(self, timestamp: str, nonce: str, **extra: str) -> str:
        params = {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}
        return "&".join(f"{k}={v}" for k, v in params.items())

    def build(self, xml: str) -> tuple[str, bytes]:
        """(path with query, body) for one message, as WeChat builds it in this mode."""
        timestamp, nonce = str(int(time.time())), next_msg_id()[-9:]
        if self.crypto is None:
            return f"/wechat?{self.query(timestamp, nonce, openid='x')}", xml.encode()
        envelope = self.crypto.encrypt_message(xml, nonce, timestamp)
        fields = dict((child.tag, child.text) for child in ElementTree.fromstring(envelope))
        encrypted = fields["Encrypt"]
        if self.mode == "compatible":  # plaintext fields plus the Encrypt element
            body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        else:
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
        path = "/wechat?" + self.query(
            timestamp, nonce, encrypt_type="aes", msg_signature=sign(self.token, timestamp, nonce, encrypted)
        )
        return path, body.encode()

    async def send(self, xml: str) -> Reply:
        path, body = self.build(xml)
        return await self.post(path, body)

    async def post(self, path: str, body: bytes) -> Reply:
        r = await self.http.post(path, raw=body, headers={"Content-Type": "text/xml"})
        return self.read(r.status, r.body)

    def read(self, status: int, body: bytes) -> Reply:
        """Parse (and decrypt with wechatpy, checking its signature) the answer."""
        if status != 200 or body == b"success" or not body:
            return Reply(status, body, {}, False)
        outer = dict((c.tag, c.text) for c in ElementTree.fromstring(body))
        if "Encrypt" in outer:
            assert self.crypto is not None, "encrypted reply in plaintext mode"
            inner = self.crypto.decrypt_message(
                body.decode(), outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]
            )
            return Reply(status, body, dict((c.tag, c.text) for c in ElementTree.fromstring(inner)), True)
        return Reply(status, body, outer, False)

    async def ask(self, openid: str, content: str) -> Reply:
        return await self.send(text_xml(openid, content))


MODE_SETTINGS = {
    "plaintext": dict(official_account_aes_key="", official_account_message_mode=""),
    "compatible": dict(official_account_aes_key=AES_KEY, official_account_message_mode="compatible"),
    "safe": dict(official_account_aes_key=AES_KEY, official_account_message_mode="safe"),
}


@pytest.fixture
def chat_settings():
    """Factory of the setting overrides of a message mode."""

    def _make(mode: str = "plaintext", **more) -> dict:
        return {"official_account_token": TOKEN, "official_account_appid": APPID, **MODE_SETTINGS[mode], **more}

    return _make


@pytest.fixture
async def chat(make_server, http_factory, chat_settings):
    """Factory: (server, sender) for a mode; more servers may share the database."""

    async def _make(mode: str = "plaintext", server=None, **more):
        running = server or await make_server(**chat_settings(mode, **more))
        return running, WeChatSender(http_factory(running), mode)

    return _make


MISS_PROBES = ("档案", "单位", "时间", "证书", "手机", "学历", "档案号码", "工作")


def miss_question(min_candidates: int = 2) -> tuple[str, list[str]]:
    """A question the built-in FAQ does not claim but has close topics for, and those topics."""
    from server.chat.faq_service import build_engine
    from server.chat.router import offered_topics

    engine = build_engine([])
    for question in MISS_PROBES:
        result = engine.match(question)
        offered = offered_topics(question, result.candidates)
        if result.topic is None and len(offered) >= min_candidates:
            return question, offered
    raise AssertionError("no probe question misses with candidates; update MISS_PROBES")


def answer_of(topic_id: str, **settings_overrides) -> str:
    """The answer a topic renders with test settings."""
    from server.chat.faq_service import answer_context, build_engine
    from settings import Settings

    settings = Settings.from_env({}, **settings_overrides)
    return build_engine([]).render_answer(topic_id, answer_context(settings))
