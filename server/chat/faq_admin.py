"""Staff administration of the FAQ: list misses (one by one or grouped by similarity),
list/add/edit/disable topics, and resolve a group of misses into a topic.

Changes are stored as extra topics (`FaqStore`) and reloaded at once in this process;
the other processes pick them up from the version counter within FAQ_RELOAD_SECONDS.
Only a city admin may change topics; every staff member may read.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pymongo.errors import DuplicateKeyError

from faq.kb import builtin_topics
from faq.normalize import normalize
from server.chat.faq_service import FaqService
from server.chat.faq_store import FIELDS, FaqStore
from server.chat.miss_groups import MissGroups
from server.chat.misses import MissLog
from server.errors import Conflict, Forbidden, Invalid, NotFound

TOPIC_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")
TEXT_LIMITS = {"title": 40, "answer": 600}
LIST_LIMITS = {"keywords": (50, 30), "synonyms": (100, 30), "examples": (100, 100)}  # (items, chars each)
# NUL and other control characters (C0, DEL, C1) are refused; an answer may hold line breaks
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LIST_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
RESOLVE_ACTIONS = ("add_to_topic", "create_topic")
GROUP_MEMBERS_SHOWN = 50  # members of a group listed to staff (all of them are forgotten on resolve)


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


def _new_topic(body: dict) -> tuple[str, dict]:
    """The id and checked fields of a new staff topic (Invalid, or Conflict for a built-in id)."""
    topic_id = body.get("id")
    if not isinstance(topic_id, str) or not TOPIC_ID.fullmatch(topic_id):
        raise Invalid(
            [{"field": "id", "code": "invalid_id", "message": "编号须为 2-40 位小写字母、数字或下划线，以字母开头"}]
        )
    changes = validate(body, create=True)
    if topic_id in _builtins():
        raise Conflict("该编号已存在", "faq_topic_exists")
    return topic_id, changes


def resolution(body: dict) -> tuple[str, dict]:
    """The action of a group resolution and its content: for add_to_topic the topic id and the
    cleaned keywords/examples; for create_topic the rest of the body (checked by `_new_topic`)."""
    action = body.get("action")
    if action not in RESOLVE_ACTIONS:
        raise Invalid(
            [
                {
                    "field": "action",
                    "code": "invalid_action",
                    "message": "须为 add_to_topic（加入已有话题）或 create_topic（新建话题）",
                }
            ]
        )
    rest = {name: value for name, value in body.items() if name != "action"}
    if action == "create_topic":
        if "disabled" in rest:  # a disabled topic would answer none of the questions it takes
            raise Invalid([{"field": "disabled", "code": "unknown_field", "message": "不支持的字段"}])
        return action, rest
    problems: list = [
        {"field": name, "code": "unknown_field", "message": "不支持的字段"}
        for name in rest
        if name not in ("topic", "keywords", "examples")
    ]
    topic_id = rest.get("topic")
    if topic_id is None or topic_id == "":
        problems.append({"field": "topic", "code": "required", "message": "请选择要加入的话题"})
    elif not isinstance(topic_id, str) or not TOPIC_ID.fullmatch(topic_id):
        problems.append({"field": "topic", "code": "unknown_topic", "message": "没有这个话题"})
    lists = {name: rest[name] for name in ("keywords", "examples") if name in rest}
    items: dict = {}
    try:
        items = validate(lists, create=False) if lists else {}
    except Invalid as e:
        problems.extend(e.fields)
    if not problems and not any(items.values()):
        problems.append({"field": "keywords", "code": "required", "message": "至少填写一个关键词或示例问题"})
    if problems:
        raise Invalid(problems)
    return action, {"topic": topic_id, **items}


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
        self.atomic = services.atomic
        self.store = services.get(FaqStore)
        self.faq = services.get(FaqService)
        self.misses = services.get(MissLog)
        self.groups = services.get(MissGroups)

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
        topic_id, changes = _new_topic(body)
        await self._insert(staff, topic_id, changes)
        return await self.topic(topic_id)

    async def _insert(self, staff, topic_id: str, changes: dict) -> None:
        """Store a new staff topic (Conflict when the id is taken) and reload the FAQ."""
        try:
            await self.store.save(topic_id, {"disabled": False, **changes}, staff.username, create=True)
        except DuplicateKeyError:
            raise Conflict("该编号已存在", "faq_topic_exists") from None
        await self.faq.reload()

    async def update(self, staff, topic_id: str, body: dict) -> dict:
        """Edit, disable or re-enable a topic (built-in topics are overridden, never lost)."""
        _require_admin(staff)
        await self.topic(topic_id)  # 404 for an unknown id
        changes = validate(body, create=False)
        async with self.atomic.mutex(f"faq_topic:{topic_id}", wait=10.0):  # not between a group's read and write
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

    async def miss_groups(self, limit: int, offset: int) -> dict:
        """Unanswered questions grouped by similarity (of the most frequent `MAX_MISSES`), most asked first."""
        groups, grouped, total = await self.groups.current()
        return {
            "items": [self._group_view(g) for g in groups[offset : offset + limit]],
            "total": len(groups),
            "limit": limit,
            "offset": offset,
            "misses_grouped": grouped,
            "misses_total": total,
        }

    def _group_view(self, group: dict) -> dict:
        """A group as staff read it: its first members, its closest topics with their titles."""
        return {
            **group,
            "members": group["members"][:GROUP_MEMBERS_SHOWN],
            "topics": [{**t, "title": self.faq.title(t["id"]) or t["id"]} for t in group["topics"]],
        }

    async def resolve_group(self, staff, group_id: str, body: dict) -> dict:
        """Deal with a group of misses: add keywords/examples to a topic, or create a topic; then
        forget the group's misses. Everything the body alone can refuse is refused before the
        group is looked up; a group that changed meanwhile is refused before anything is written."""
        _require_admin(staff)
        action, content = resolution(body)
        if action == "add_to_topic":
            await self._addable(content["topic"])
        else:
            topic_id, changes = _new_topic(content)
            if await self.store.get(topic_id) is not None:
                raise Conflict("该编号已存在", "faq_topic_exists")
        async with self.atomic.mutex(f"faq_miss_group:{group_id}", wait=10.0):
            group = await self.groups.find(group_id)
            if action == "add_to_topic":
                topic, added = await self._append(staff, content)
            else:
                await self._insert(staff, topic_id, changes)
                topic = await self.topic(topic_id)
                added = {name: changes.get(name, []) for name in ("keywords", "examples")}
            forgotten = await self.misses.forget(m["id"] for m in group["members"])
        return {"group": group_id, "action": action, "topic": topic, "added": added, "forgotten": forgotten}

    async def _addable(self, topic_id: str) -> None:
        """A topic a group may be added to: it exists and answers (not disabled)."""
        builtin, entry = _builtins().get(topic_id), await self.store.get(topic_id)
        if builtin is None and entry is None:
            raise Invalid([{"field": "topic", "code": "unknown_topic", "message": "没有这个话题"}])
        if entry is not None and entry.get("disabled"):
            raise Conflict("该话题已停用，请先恢复再加入", "faq_topic_disabled")

    async def _append(self, staff, content: dict) -> tuple[dict, dict]:
        """Append keywords/examples to a topic (those it has, in any writing, are skipped), within
        LIST_LIMITS, and reload the FAQ; (the topic after, what was added)."""
        topic_id = content["topic"]
        async with self.atomic.mutex(f"faq_topic:{topic_id}", wait=10.0):
            current = await self.topic(topic_id)
            changes: dict = {}
            added: dict = {}
            problems = []
            for name in ("keywords", "examples"):
                have = {normalize(v) or v for v in current[name]}
                new = []
                for value in content.get(name, []):
                    key = normalize(value) or value
                    if key not in have:
                        have.add(key)
                        new.append(value)
                added[name] = new
                if new:
                    changes[name] = current[name] + new
                    limit = LIST_LIMITS[name][0]
                    if len(changes[name]) > limit:
                        problems.append(
                            {
                                "field": name,
                                "code": "too_many",
                                "message": f"最多{limit}项（该话题已有{len(current[name])}项，本次新增{len(new)}项）",
                            }
                        )
            if problems:
                raise Invalid(problems)
            if changes:
                await self.store.save(topic_id, validate(changes, create=False), staff.username, create=False)
                await self.faq.reload()
                current = await self.topic(topic_id)
        return current, added
