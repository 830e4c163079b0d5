"""A notice as subscribe-message data: settings' field map, WeChat's per-type limits and formats.

Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
(thing <= 20 characters, phrase <= 5 Chinese characters, name <= 10, character_string <= 32,
time like "2019年10月1日 15:01", date like "2019年10月1日").
"""

from __future__ import annotations

import datetime as dt
import re

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
LIMITS = {
    "thing": 20,
    "phrase": 5,
    "name": 10,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "phone_number": 17,
    "car_number": 8,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def field_type(key: str) -> str:
    """The type of a template key: "thing1" → "thing", "character_string2" → "character_string"."""
    return re.sub(r"\d+$", "", key)


def units(text: str) -> int:
    """Length as WeChat's JavaScript counts it (UTF-16 units, so rare characters count twice)."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """At most `limit` units, ending in "…" when cut."""
    if units(text) <= limit:
        return text
    out = ""
    for ch in text:
        if units(out + ch) > limit - 1:
            break
        out += ch
    return out + "…"


def format_time(value: dt.datetime | str | None, kind: str) -> str:
    """China-time "2024年5月1日 15:01" (time) or "2024年5月1日" (date)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            value = None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.now(dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(CHINA)
    day = f"{local.year}年{local.month}月{local.day}日"
    return day if kind == "date" else f"{day} {local:%H:%M}"


def fit(key: str, value: object) -> str:
    """One value made acceptable for its template key's type."""
    kind = field_type(key)
    if kind in ("time", "date"):
        return format_time(value, kind)  # type: ignore[arg-type]
    text = _CONTROL.sub(" ", str(value or "")).strip() or "无"
    if kind == "phrase":
        text = re.sub(r"[^\u4e00-\u9fff]", "", text) or "已处理"
    return clip(text, LIMITS.get(kind, 20))


def subscribe_data(field_map: dict[str, str], notice: dict) -> dict[str, str]:
    """{template key: value} for the notice's name, result, reason and time."""
    data = notice.get("data") or {}
    return {key: fit(key, data.get(ours)) for ours, key in field_map.items()}
