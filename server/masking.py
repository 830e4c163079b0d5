"""Masking of personal data (ID numbers, phone numbers, WeChat openids, staff searches) in logs and lists."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus

# 18-character resident ID / permit numbers and 15-digit old IDs, not inside longer digit runs.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{6,9}(\d{2}[\dXx]|\d{3})(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally with +86.
_MOBILE_RE = re.compile(r"(?<!\d)((?:\+?86)?1[3-9]\d)\d{4}(\d{4})(?!\d)")
# Query parameters whose values are personal or secret: WeChat's openid/unionid (the webhook's URL),
# staff searches by name or number (`q` on the admin lists), a transfer sheet's check code.
_PARAM_RE = re.compile(r"([?&](openid|unionid|q|code)=)([^&#\s\"']*)", re.IGNORECASE)
# Query parameters that authenticate one request (WeChat's webhook signatures and their inputs,
# the echo challenge, an access token): a request log shows that they were there, never their values.
SECRET_PARAMS = ("signature", "msg_signature", "timestamp", "nonce", "echostr", "access_token")
_SECRET_PARAM_RE = re.compile(rf"([?&](?:{'|'.join(SECRET_PARAMS)})=)[^&#\s\"']+", re.IGNORECASE)


def mask_id_number(value: str | None) -> str:
    """110101********123X style: keep the area and the last four."""
    if not value:
        return ""
    v = str(value)
    if len(v) <= 8:
        return v[:1] + "*" * (len(v) - 1)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_mobile(value: str | None) -> str:
    """138****5678 style."""
    if not value:
        return ""
    v = str(value)
    return v[:3] + "****" + v[-4:] if len(v) >= 11 else "*" * len(v)


def mask_openid(value: str | None) -> str:
    """oAbC****wxyz style: enough to tell two users apart in a log, not to address one."""
    if not value:
        return ""
    v = str(value)
    return v[:4] + "****" + v[-4:] if len(v) >= 12 else "****"


def mask_search(value: str | None) -> str:
    """A search term: an ID or mobile number masked as such, anything else (a name) keeps its first character."""
    if not value:
        return ""
    v = str(value).strip()
    if _ID_RE.fullmatch(v):
        return mask_id_number(v)
    if _MOBILE_RE.fullmatch(v):
        return mask_mobile(v)
    return v[:1] + "*" * (len(v) - 1) if len(v) > 1 else "*"


def _mask_param(m: re.Match) -> str:
    name, raw = m.group(2).lower(), m.group(3)
    if not raw:
        return m.group(0)
    value = unquote_plus(raw)
    masked = mask_openid(value) if name in ("openid", "unionid") else mask_search(value) if name == "q" else "****"
    return m.group(1) + quote(masked, safe="*")


def mask_text(text: str) -> str:
    """Mask every ID number, mobile number, and personal query parameter found in free text (logs, URLs)."""
    text = _PARAM_RE.sub(_mask_param, text)
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 10) + m.group(0)[-4:], text)
    return _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def mask_secrets(text: str) -> str:
    """Replace the value of every SECRET_PARAMS query parameter in free text by "****"."""
    return _SECRET_PARAM_RE.sub(r"\1****", text)


def mask_uri(uri: str) -> str:
    """A request URI as a log line shows it: the path and its query parameters, each masked.

    The values of SECRET_PARAMS become "****"; openid, unionid, q and code are masked as in
    `mask_text`, and so is any ID or mobile number left in the path or another parameter.
    """
    return mask_text(mask_secrets(uri))
