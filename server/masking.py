"""Masking of personal data (ID numbers, phone numbers, WeChat openids, staff searches) in logs and lists."""

from __future__ import annotations

import re
import unicodedata
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
# The public query's parameters (GET /api/v1/public/collection-status?name=&id_number=): a log shows
# the name masked (`mask_name`) and nothing of the number, whatever its shape (a typo with spaces or
# one digit too many escapes `_ID_RE`, and is still someone's ID number).
_PUBLIC_PARAM_RE = re.compile(r"([?&](name|id_number)=)([^&#\s\"']*)", re.IGNORECASE)
# Compound surnames (复姓): `mask_name` keeps them whole, as it keeps a one-character surname.
_COMPOUND_SURNAMES_TEXT = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 司寇 夏侯 轩辕 令狐 钟离 澹台 端木 "
    "独孤 南宫 西门 东门 百里 呼延 万俟 申屠 闻人 濮阳 太史 赫连 公冶 宗政 拓跋 单于 东郭 南门 羊舌 微生 "
    "公羊 梁丘 左丘 第五 谷梁 乐正 长鱼 亓官 仲孙 鲜于 闾丘 淳于 巫马 公西 漆雕 壤驷 颛孙 子车 公良 宰父 "
    "歐陽 司馬 諸葛 東方 尉遲 長孫 軒轅 鍾離 獨孤 南宮 西門 東門 萬俟 聞人 赫連 單于"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND_SURNAMES_TEXT.split())
_NAME_SEPARATORS = "\u00b7 -'"  # as normalised by server/records/names.py (the middle dot, space, hyphen, apostrophe)


def mask_id_number(value: str | None) -> str:
    """110101********123X style: keep the area and the last four."""
    if not value:
        return ""
    v = str(value)
    if len(v) <= 8:
        return v[:1] + "*" * (len(v) - 1)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def _graphemes(text: str) -> list[str]:
    """Characters with the combining marks and variation selectors that follow them (a rare
    character written with an ideographic variation selector is one character)."""
    out: list[str] = []
    for ch in text:
        if out and (unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch == "\u200d"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _first_only(part: str) -> str:
    chars = _graphemes(part)
    return chars[0] + "*" * (len(chars) - 1)


def mask_name(value: str | None) -> str:
    """A person's name partly hidden, as public lists show it (one * per hidden character).

    - 王小明 → 王*明: the surname and the last character stay, the middle is hidden;
      王小小明 → 王**明; a two-character name keeps its surname only: 王明 → 王*;
    - a compound surname (欧阳, 司马…, `COMPOUND_SURNAMES`) stays whole and the given name is hidden
      entirely: 欧阳明 → 欧阳*, 欧阳娜娜 → 欧阳** (so a name shows at most two characters, and never
      a whole given name);
    - a name in parts (阿依古丽·买买提, John Smith: the separators of server/records/names.py) keeps the
      first character of each part and hides the rest: 阿***·买**, J*** S****;
    - a one-character name is "*".
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFC", str(value).strip())
    if any(sep in text for sep in _NAME_SEPARATORS):
        parts = re.split(f"([{re.escape(_NAME_SEPARATORS)}]+)", text)
        return "".join(p if not p or p[0] in _NAME_SEPARATORS else _first_only(p) for p in parts)
    chars = _graphemes(text)
    if len(chars) <= 1:
        return "*"
    if len(chars) == 2:
        return chars[0] + "*"
    if chars[0] + chars[1] in COMPOUND_SURNAMES:
        return chars[0] + chars[1] + "*" * (len(chars) - 2)
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


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


def _mask_public_param(m: re.Match) -> str:
    if not m.group(3):
        return m.group(0)
    if m.group(2).lower() == "id_number":
        return m.group(1) + "****"
    return m.group(1) + quote(mask_name(unquote_plus(m.group(3))), safe="*")


def mask_text(text: str) -> str:
    """Mask every ID number, mobile number, and personal query parameter found in free text (logs, URLs)."""
    text = _PUBLIC_PARAM_RE.sub(_mask_public_param, text)
    text = _PARAM_RE.sub(_mask_param, text)
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 10) + m.group(0)[-4:], text)
    return _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def mask_secrets(text: str) -> str:
    """Replace the value of every SECRET_PARAMS query parameter in free text by "****"."""
    return _SECRET_PARAM_RE.sub(r"\1****", text)


def mask_uri(uri: str) -> str:
    """A request URI as a log line shows it: the path and its query parameters, each masked.

    The values of SECRET_PARAMS become "****"; openid, unionid, q, code, name and id_number are
    masked as in `mask_text`, and so is any ID or mobile number left in the path or another parameter.
    """
    return mask_text(mask_secrets(uri))
