"""The webhook protocol: verify, decrypt, parse, dedupe, route, reply (encrypted when asked).

Per message: one signature check, one expat parse (DTDs refused), the in-process FAQ match and
one dedupe insert that also stores the reply. Messages whose handling writes (binding,
a miss with numbered choices) are claimed first, then handled, then their reply stored.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from server.chat.crypto import DecryptError, MessageCrypto
from server.chat.dedupe import Dedupe, message_key
from server.chat.inbound import HostileXml, parse_fields, to_message
from server.chat.last_seen import LastSeen
from server.chat.replies import SUCCESS, text_reply
from server.chat.router import ChatRouter
from server.errors import BadRequest, Forbidden

log = logging.getLogger("kjcj.chat.webhook")


class Query(NamedTuple):
    """The webhook's query arguments."""

    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    echostr: str = ""
    encrypt_type: str = ""
    msg_signature: str = ""


class Webhook:
    """Handles WeChat's GET check and POSTed messages for the official account."""

    def __init__(self, services):
        self.crypto = MessageCrypto.from_settings(services.settings, services.official_account.appid)
        self.dedupe = services.get(Dedupe)
        self.router = services.get(ChatRouter)
        self.last_seen = services.get(LastSeen)

    def _verify(self, q: Query) -> None:
        """403 unless `signature` is WeChat's."""
        if not self.crypto.check(q.signature, q.timestamp, q.nonce):
            raise Forbidden("签名校验失败", "bad_signature")

    def echo(self, q: Query) -> str:
        """The GET server check: echo `echostr` when the signature is right."""
        self._verify(q)
        if not q.echostr:
            raise BadRequest("缺少 echostr", "missing_echostr")
        return q.echostr

    async def receive(self, q: Query, body: bytes) -> tuple[str, str]:
        """(content type, body) of the answer to one POSTed message."""
        self._verify(q)
        encrypted = q.encrypt_type.lower() == "aes" and self.crypto.encrypts
        if self.crypto.mode == "safe" and not encrypted:
            raise Forbidden("安全模式下只接受加密消息", "encryption_required")
        fields, key_index = self._fields(q, body, encrypted)
        reply = await self.respond(fields)
        if reply is None:
            return "text/plain; charset=utf-8", SUCCESS
        xml = text_reply(str(fields.get("FromUserName", "")), str(fields.get("ToUserName", "")), reply)
        if encrypted:
            xml = self.crypto.encrypt_reply(xml, key_index)
        return "application/xml; charset=utf-8", xml

    def _fields(self, q: Query, body: bytes, encrypted: bool) -> tuple[dict, int]:
        """(message fields, AES key index): the plain body, or the decrypted `Encrypt` (msg_signature checked)."""
        try:
            outer = parse_fields(body)
            if not encrypted:
                return outer, 0
            payload = outer.get("Encrypt")
            if not isinstance(payload, str) or not payload:
                raise BadRequest("加密消息缺少 Encrypt", "missing_encrypt")
            if not self.crypto.check(q.msg_signature, q.timestamp, q.nonce, payload):
                raise Forbidden("消息签名校验失败", "bad_msg_signature")
            try:
                inner, key_index = self.crypto.decrypt(payload)
            except DecryptError:
                raise BadRequest("无法解密消息", "undecryptable") from None
            return parse_fields(inner.encode("utf-8")), key_index
        except HostileXml as exc:  # the envelope or the decrypted message
            raise BadRequest("消息不是有效的 XML", "malformed_xml", reason=str(exc)) from None

    async def respond(self, fields: dict) -> str | None:
        """The reply text for a message (None = "success"); a retried message gets the same one."""
        key = message_key(fields)
        self.last_seen.note(fields)  # the 48-hour window of customer-service messages (nothing awaited)
        try:
            outcome = await self.router.plan(to_message(fields))
        except Exception:
            log.exception("chat message not routed; answering success")
            return None
        if outcome.effect is None:
            return await self._pure(key, outcome.reply)
        return await self._with_effect(key, outcome.effect)

    async def _pure(self, key: str | None, reply: str | None) -> str | None:
        """A reply without side effects: one insert claims the message and stores the reply."""
        if key is None:
            return reply
        try:
            claim = await self.dedupe.claim(key, reply, done=True)
        except Exception as exc:  # database slow or down (claims time out): answer anyway, nothing runs twice
            log.warning("dedupe unavailable (%s); answering without it", type(exc).__name__)
            return reply
        return reply if claim.owner else claim.reply

    async def _with_effect(self, key: str | None, effect) -> str | None:
        """Claim first, run the effect once, store its reply for the copies that follow."""
        try:
            if key is not None:
                claim = await self.dedupe.claim(key)
                if not claim.owner:
                    return claim.reply
        except Exception:
            log.exception("chat message not claimed; answering success")
            return None
        try:
            reply = await effect()
        except Exception:
            log.exception("chat message handling failed; answering success")
            if key is not None:
                await self._release(key)
            return None
        if key is not None:
            try:
                await self.dedupe.finish(key, reply)
            except Exception:
                log.exception("could not store the reply of a chat message")
        return reply

    async def _release(self, key: str) -> None:
        """Best-effort release of a failed claim."""
        try:
            await self.dedupe.release(key)
        except Exception:
            log.warning("could not release a failed chat message claim")
