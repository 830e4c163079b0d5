"""Webhook signatures (compared in constant time) and AES message crypto with key rotation.

WeChat signs `sha1(sort([token, timestamp, nonce(, encrypt)]))`; wechatpy compares with
`!=`, so the signatures are computed and compared here. The AES part reuses wechatpy's
PKCS#7/CBC implementation; one cipher object per key is built once per process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import string
import struct
import time
from dataclasses import dataclass

from wechatpy.crypto import PrpCrypto

from settings import Settings, SettingsError

log = logging.getLogger("kjcj.chat.crypto")

MODES = ("plaintext", "compatible", "safe")
_APPID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ALPHABET = string.ascii_letters + string.digits
ENCRYPTED_REPLY = (
    "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
    "<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
)


class DecryptError(ValueError):
    """No configured key decrypts the payload for this app id."""


class _Prp(PrpCrypto):
    """wechatpy's message cipher with a cryptographically random 16-byte prefix."""

    def get_random_string(self) -> str:
        return "".join(secrets.choice(_ALPHABET) for _ in range(16))


def signature(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts joined without separator."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(given: str | None, *parts: str) -> bool:
    """True when `given` equals the expected signature (constant-time comparison)."""
    if not given:
        return False
    expected = signature(*parts).encode("ascii")
    return hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "replace"))


def resolve_mode(settings: Settings) -> str:
    """The message mode: OFFICIAL_ACCOUNT_MESSAGE_MODE, or safe when an AES key is set."""
    mode = (settings.official_account_message_mode or "").strip().lower()
    if not mode:
        return "safe" if settings.official_account_aes_key else "plaintext"
    if mode not in MODES:
        raise SettingsError("OFFICIAL_ACCOUNT_MESSAGE_MODE must be plaintext, compatible or safe")
    if mode != "plaintext" and not settings.official_account_aes_key:
        raise SettingsError(f"OFFICIAL_ACCOUNT_MESSAGE_MODE={mode} needs OFFICIAL_ACCOUNT_AES_KEY")
    return mode


@dataclass
class MessageCrypto:
    """Signatures and AES for one official account (token, app id, current and previous key)."""

    token: str
    appid: str
    mode: str
    ciphers: tuple[_Prp, ...]

    @classmethod
    def from_settings(cls, settings: Settings, appid: str) -> MessageCrypto:
        """Build once per process from settings; the current key encrypts, every key decrypts."""
        keys = [k for k in (settings.official_account_aes_key, settings.official_account_aes_key_previous) if k]
        ciphers = tuple(_Prp(base64.b64decode(k + "=")) for k in keys)
        return cls(settings.official_account_token, appid, resolve_mode(settings), ciphers)

    @property
    def encrypts(self) -> bool:
        """True when encrypted messages are accepted (compatible or safe mode)."""
        return self.mode != "plaintext" and bool(self.ciphers)

    def check(self, given: str | None, timestamp: str, nonce: str, *extra: str) -> bool:
        """Verify a `signature` (no extra) or `msg_signature` (extra = the Encrypt value)."""
        return signature_matches(given, self.token, timestamp, nonce, *extra)

    def decrypt(self, encrypted: str) -> tuple[str, int]:
        """(plaintext XML, index of the key that worked): the current key first, then the previous."""
        for index, cipher in enumerate(self.ciphers):
            try:
                return cipher.decrypt(encrypted, self.appid), index
            except Exception:  # wrong key: garbage padding, length, UTF-8 or app id
                continue
        log.warning("encrypted chat message not decrypted: %s", self._why_not(encrypted))
        raise DecryptError("no key decrypts this message")

    def _why_not(self, encrypted: str) -> str:
        """Why `decrypt` failed, for the log: a key decrypts it but for another app id, or no key does."""
        for cipher in self.ciphers:
            try:
                plain = cipher.cipher.decrypt(base64.b64decode(encrypted))
                content = plain[16 : -plain[-1]]
                length = struct.unpack(">I", content[:4])[0]
                xml, sender = content[4 : 4 + length].decode("utf-8"), content[4 + length :].decode("ascii")
            except Exception:
                continue
            if xml.lstrip().startswith("<xml") and _APPID_RE.fullmatch(sender) and sender != self.appid:
                return (
                    f"it is addressed to app id {sender!r} but this server expects {self.appid!r} "
                    f"(OFFICIAL_ACCOUNT_APPID; 'demo-oa-appid' when unset): set OFFICIAL_ACCOUNT_APPID to the official "
                    f"account's app id"
                )
        return (
            "no configured key decrypts it: OFFICIAL_ACCOUNT_AES_KEY (or OFFICIAL_ACCOUNT_AES_KEY_PREVIOUS) "
            "is not the official account's current EncodingAESKey, or the payload is not a WeChat message"
        )

    def encrypt_reply(
        self, xml: str, key_index: int = 0, timestamp: str | None = None, nonce: str | None = None
    ) -> str:
        """The encrypted reply envelope, under the key the message came with (default: current)."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**10))
        encrypted = self.ciphers[key_index].encrypt(xml, self.appid).decode("ascii")
        return ENCRYPTED_REPLY.format(
            encrypt=encrypted,
            signature=signature(self.token, timestamp, nonce, encrypted),
            timestamp=timestamp,
            nonce=nonce,
        )
