"""An announcement's fields: validation (field-level 422s), its state at a moment, its views.

A document of `announcements` (`_id` = 24 hex characters):
{title, body, region_code (None = city-wide), publish_at, expire_at, pinned, status
("published" | "withdrawn"), version, created_at/by/role, updated_at/by, withdrawn_at/by,
push: {requested, state ("none" | "pending" | "running" | "done"), lease_until, lease_owner,
recipients, done_at}}. Whether it is shown is decided on read from the times (`state_at`):
scheduled before `publish_at`, current until `expire_at`, then expired; nothing expires it in
the database.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from server.errors import Invalid
from server.records.districts import Districts

TITLE_MAX = 60
BODY_MAX = 2000
CITY = "city"  # the scope of a city-wide announcement
CITY_LABEL = "全市"
FIELDS = ("title", "body", "scope", "publish_at", "expire_at", "pinned", "push")
STATES = {"scheduled": "待发布", "current": "发布中", "expired": "已过期", "withdrawn": "已撤回"}
PUSH_STATES = {"none": "不推送", "pending": "待推送", "running": "推送中", "done": "已推送"}

# RFC 3339 date-time with its offset (what OpenAPI's `format: date-time` means); naive times are refused
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
# the same character classes as the OpenAPI patterns (handlers/admin_announcements.py)
TITLE_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"  # no control characters, no line breaks
BODY_PATTERN = "^[^\\x00-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"  # no control characters but \n and \r
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # checked once \r\n and \r are \n


def _error(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 date-time with offset as aware UTC, truncated to milliseconds; None if not one."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def validate(data: dict, current: dict | None, districts: Districts, now: dt.datetime) -> dict:
    """The fields of a new announcement (`current` None) or of an edit, checked; Invalid lists every failure.

    An edit sends only what changes; the times are checked with the stored values filled in.
    """
    errors: list[dict] = []
    out: dict[str, Any] = {}
    allowed = FIELDS if current is None else (*FIELDS, "version")
    for key in data:
        if key not in allowed:
            errors.append(_error(key, "unknown_field", "不支持该字段"))
    if current is None:
        for key in ("title", "body", "scope", "expire_at"):
            if key not in data:
                errors.append(_error(key, "required", "必填"))

    if "title" in data:
        title = data["title"]
        if not isinstance(title, str):
            errors.append(_error("title", "invalid_type", "标题应为文字"))
        elif _CONTROL.search(title):
            errors.append(_error("title", "control_characters", "标题不能包含换行或其他控制字符"))
        elif not title.strip():
            errors.append(_error("title", "required", "请填写标题"))
        elif len(title) > TITLE_MAX:
            errors.append(_error("title", "too_long", f"标题最多{TITLE_MAX}个字"))
        else:
            out["title"] = title.strip()
    if "body" in data:
        body = data["body"]
        if not isinstance(body, str):
            errors.append(_error("body", "invalid_type", "正文应为文字"))
        elif len(body) > BODY_MAX:
            errors.append(_error("body", "too_long", f"正文最多{BODY_MAX}个字"))
        else:
            body = body.replace("\r\n", "\n").replace("\r", "\n")
            if _CONTROL_BUT_LINES.search(body):
                errors.append(_error("body", "control_characters", "正文只能是纯文字，除换行外不能包含控制字符"))
            elif not body.strip():
                errors.append(_error("body", "required", "请填写正文"))
            else:
                out["body"] = body.strip()
    if "scope" in data:
        scope = data["scope"]
        if scope == CITY:
            out["region_code"] = None
        elif isinstance(scope, str) and scope in districts.codes:
            out["region_code"] = scope
        else:
            errors.append(_error("scope", "unknown_scope", "发布范围应为全市或本市的一个区"))
    for key in ("pinned", "push"):
        if key in data:
            if isinstance(data[key], bool):
                out[key] = data[key]
            else:
                errors.append(_error(key, "invalid_type", "应为 true 或 false"))
    if "version" in data and (not isinstance(data["version"], int) or isinstance(data["version"], bool)):
        errors.append(_error("version", "invalid_type", "版本号应为整数"))

    times: dict[str, dt.datetime | None] = {}
    for key in ("publish_at", "expire_at"):
        if key in data:
            parsed = parse_time(data[key])
            if parsed is None:
                errors.append(_error(key, "invalid_time", "时间格式应为 2026-05-01T08:00:00+08:00"))
            times[key] = out[key] = parsed
    publish_at = times.get("publish_at") if "publish_at" in data else (current or {}).get("publish_at", now)
    expire_at = times.get("expire_at") if "expire_at" in data else (current or {}).get("expire_at")
    if "publish_at" in data and current is None and publish_at is not None and publish_at < now:
        out["publish_at"] = now  # "now" a little in the past (the form's minute): published at once
        publish_at = now
    if "expire_at" in data and expire_at is not None and expire_at <= now:
        errors.append(_error("expire_at", "expire_at_past", "截止时间须晚于现在"))
    elif publish_at is not None and expire_at is not None and expire_at <= publish_at:
        field = "expire_at" if "expire_at" in data else "publish_at"
        errors.append(_error(field, "expire_before_publish", "截止时间须晚于发布时间"))

    region = out["region_code"] if "region_code" in out else (current or {}).get("region_code")
    push = out["push"] if "push" in out else bool(((current or {}).get("push") or {}).get("requested"))
    if push and region is not None and ("push" in data or "scope" in data):
        errors.append(_error("push", "push_city_wide_only", "只有全市公告可以推送给公众号关注者"))
    if errors:
        raise Invalid(errors)
    return out


def state_at(doc: dict, now: dt.datetime) -> str:
    """scheduled | current | expired | withdrawn (decided on read, from the times)."""
    if doc.get("status") == "withdrawn":
        return "withdrawn"
    if doc["expire_at"] <= now:
        return "expired"
    if doc["publish_at"] > now:
        return "scheduled"
    return "current"


def scope_of(doc: dict) -> str:
    return doc.get("region_code") or CITY


def scope_name(doc: dict, districts: Districts) -> str:
    code = doc.get("region_code")
    if code is None:
        return CITY_LABEL
    entry = districts.get(code)
    return entry["name"] if entry else code


def public_view(doc: dict, districts: Districts) -> dict:
    """An announcement as the mini-program and the public page read it."""
    return {
        "id": doc["_id"],
        "title": doc["title"],
        "body": doc["body"],
        "scope": scope_of(doc),
        "scope_name": scope_name(doc, districts),
        "pinned": bool(doc.get("pinned")),
        "publish_at": doc["publish_at"],
        "expire_at": doc["expire_at"],
    }


def staff_view(doc: dict, districts: Districts, now: dt.datetime, editable: bool) -> dict:
    """An announcement as staff read it: its state, who wrote it, the push's progress."""
    state = state_at(doc, now)
    push = doc.get("push") or {}
    push_state = push.get("state") or "none"
    return {
        **public_view(doc, districts),
        "region_code": doc.get("region_code"),
        "state": state,
        "state_label": STATES[state],
        "push": bool(push.get("requested")),
        "push_state": push_state,
        "push_state_label": PUSH_STATES.get(push_state, push_state),
        "push_recipients": push.get("recipients"),
        "version": doc.get("version", 1),
        "created_at": doc.get("created_at"),
        "created_by": doc.get("created_by"),
        "updated_at": doc.get("updated_at"),
        "updated_by": doc.get("updated_by"),
        "withdrawn_at": doc.get("withdrawn_at"),
        "withdrawn_by": doc.get("withdrawn_by"),
        "editable": editable and state != "withdrawn",
    }
