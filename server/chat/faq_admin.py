"""Staff administration of the FAQ: list misses, list/add/edit/disable topics.

Changes are stored as extra topics (`FaqStore`) and reloaded at once in this process;
the other processes pick them up from the version counter within FAQ_RELOAD_SECONDS.
Only a city admin may change topics; every staff member may read.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pymongo.errors import DuplicateKeyError

from faq.kb import builtin_topics
from server.chat.faq_service import FaqService
from server.chat.faq_store import FIELDS, FaqStore
from server.chat.misses import MissLog
from server.errors import Conflict, Forbidden, Invalid, NotFound

TOPIC_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")
TEXT_LIMITS = {"title": 40, "answer": 600}
LIST_LIMITS = {"keywords": (50, 30), "synonyms": (100, 30), "examples": (100, 100)}  # (items, chars each)
# NUL and other control characters (C0, DEL, C1) are refused; an answer may hold line breaks
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LIST_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@lru_cache(maxsize=1)
def _builtins() -> dict:
    """The built-in topics by id (read once per process)."""
    return builtin_topics()


def _require_admin(staff) -> None:
    """Only a city admin changes the FAQ (it serves every district)."""
    if not staff.is_city_admin:
        raise Forbidden("只有市级管理员可以修改常见问题", "faq_admin_only")


def validate(body: dict, create: bool) -> dict:
    """The accepted changes of a topic body, or Invalid listing every problem."""
    problems: list[dict] = []
    changes: dict = {}

    def bad(field: str, code: str, message: str) -> None:
        problems.append({"field": field, "code": code, "message": message})

    for name in body:
        if name not in FIELDS and not (create and name == "id"):
            bad(name, "unknown_field", "不支持的字段")
    for name, limit in TEXT_LIMITS.items():
        if name not in body:
            if create:
                bad(name, "required", "必填")
            continue
        value = body[name]
        if not isinstance(value, str) or not value.strip():
            bad(name, "required", "必填")
        elif len(value.strip()) > limit:
            bad(name, "too_long", f"不能超过{limit}个字")
        elif CONTROL.search(value) or (name == "title" and LIST_CONTROL.search(value)):
            bad(name, "control_character", "不能包含控制字符")
        else:
            changes[name] = value.strip()
    for name, (max_items, max_chars) in LIST_LIMITS.items():
        if name not in body:
            continue
        value = body[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad(name, "not_a_list", "必须是文字列表")
            continue
        items = list(dict.fromkeys(v.strip() for v in value if v.strip()))
        if any(LIST_CONTROL.search(v) for v in items):
            bad(name, "control_character", "不能包含控制字符（含换行）")
        elif len(items) > max_items:
            bad(name, "too_many", f"最多{max_items}项")
        elif any(len(v) > max_chars for v in items):
            bad(name, "too_long", f"每项不能超过{max_chars}个字")
        else:
            changes[name] = items
    if "disabled" in body:
        if isinstance(body["disabled"], bool):
            changes["disabled"] = body["disabled"]
        else:
            bad("disabled", "not_a_boolean", "必须是 true 或 false")
    if create and not problems and not (changes.get("keywords") or changes.get("examples")):
        bad("keywords", "required", "至少填写一个关键词或示例问题")
    if not create and not problems and not changes:
        bad("body", "empty", "没有要修改的内容")
    if problems:
        raise Invalid(problems)
    return changes


def topic_view(topic_id: str, builtin, entry: dict | None) -> dict:
    """A topic as staff see it: built-in values overlaid with the staff entry."""
    entry = entry or {}
    fields = {}
    for name in ("title", "answer", "keywords", "synonyms", "examples"):
        value = entry.get(name)
        if value is None and builtin is not None:
            value = getattr(builtin, name)
        fields[name] = (value or "") if name in TEXT_LIMITS else list(value or ())
    return {
        "id": topic_id,
        **fields,
        "source": "builtin" if builtin is not None else "staff",
        "edited": builtin is not None and bool(entry),
        "disabled": bool(entry.get("disabled")),
        "updated_at": entry.get("updated_at"),
        "updated_by": entry.get("updated_by"),
    }


class FaqAdmin:
    """The staff-facing FAQ operations."""

    def __init__(self, services):
        self.store = services.get(FaqStore)
        self.faq = services.get(FaqService)
        self.misses = services.get(MissLog)

    async def topics(self) -> dict:
        """Every topic (built-in, edited, staff, disabled) and the current version."""
        entries = {e["_id"]: e for e in await self.store.entries()}
        builtins = _builtins()
        ids = list(builtins) + [i for i in entries if i not in builtins]
        return {
            "topics": [topic_view(i, builtins.get(i), entries.get(i)) for i in ids],
            "version": await self.store.version(),
        }

    async def topic(self, topic_id: str) -> dict:
        """One topic, or NotFound."""
        builtin, entry = _builtins().get(topic_id), await self.store.get(topic_id)
        if builtin is None and entry is None:
            raise NotFound("没有这个问题", "faq_topic_not_found")
        return topic_view(topic_id, builtin, entry)

    async def create(self, staff, body: dict) -> dict:
        """Add a staff topic under a new id."""
        _require_admin(staff)
        topic_id = body.get("id")
        if not isinstance(topic_id, str) or not TOPIC_ID.fullmatch(topic_id):
            raise Invalid(
                [{"field": "id", "code": "invalid_id", "message": "编号须为 2-40 位小写字母、数字或下划线，以字母开头"}]
            )
        changes = validate(body, create=True)
        if topic_id in _builtins():
            raise Conflict("该编号已存在", "faq_topic_exists")
        try:
            await self.store.save(topic_id, {"disabled": False, **changes}, staff.username, create=True)
        except DuplicateKeyError:
            raise Conflict("该编号已存在", "faq_topic_exists") from None
        await self.faq.reload()
        return await self.topic(topic_id)

    async def update(self, staff, topic_id: str, body: dict) -> dict:
        """Edit, disable or re-enable a topic (built-in topics are overridden, never lost)."""
        _require_admin(staff)
        await self.topic(topic_id)  # 404 for an unknown id
        changes = validate(body, create=False)
        await self.store.save(topic_id, changes, staff.username, create=False)
        await self.faq.reload()
        return await self.topic(topic_id)

    async def list_misses(self, limit: int, offset: int) -> dict:
        """Unanswered questions, most frequent first."""
        items, total = await self.misses.list(limit, offset)
        for item in items:
            item["candidates"] = [{"id": tid, "title": self.faq.title(tid) or tid} for tid in item["candidates"]]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    async def delete_miss(self, staff, miss_id: str) -> None:
        """Forget a miss once it is dealt with."""
        _require_admin(staff)
        if not await self.misses.delete(miss_id):
            raise NotFound("没有这条记录", "faq_miss_not_found")
