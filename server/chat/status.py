"""Status by chat: "查询进度" answers with the sender's record status when they are linked."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable

from faq.normalize import normalize
from server.chat import texts
from server.chat.binding import ChatBinding
from server.lifecycle.store import LifecycleStore
from server.notify.template import format_time
from server.wechat.errors import WeChatError

log = logging.getLogger("kjcj.chat.status")

_STATUS = re.compile(
    r"(我要|我想|帮我)?(查询|查看|查一下|查下|查|看看|我的)?(信息采集|采集|审核|审批|办理)?"
    r"(进度|结果|状态|情况)(查询|怎么样了?|如何了?|呢)?"
)
_PASSED = re.compile(r"(我的)?(信息采集|采集|审核)(通过|过)了?(吗|没有?|没)")
UNIONID_TIMEOUT = 2.0


_HINT_CHARS = frozenset("进度果态况过進結狀況過")  # every status question has one of these


def is_status_query(text: str) -> bool:
    """True for short status questions ("查询进度", "审核结果", "审核通过了吗"...)."""
    if len(text) > 24 or _HINT_CHARS.isdisjoint(text):
        return False
    compact = normalize(text).replace(" ", "")
    return len(compact) <= 12 and bool(_STATUS.fullmatch(compact) or _PASSED.fullmatch(compact))


def _day(value) -> str:
    """A date as 2026年11月23日 (China time), or "" when missing."""
    return format_time(value, "date") if isinstance(value, dt.datetime) else ""


def describe_change(change: dict | None) -> str:
    """A sentence on the person's latest change application ("" when there is none)."""
    if not change or change.get("status") not in texts.STATUS_CHANGE:
        return ""
    decision = change.get("decision") or {}
    reason = decision.get("reason") or (change.get("ordered") or {}).get("reason") or "请在小程序中查看"
    return texts.STATUS_CHANGE[change["status"]].format(
        submitted=_day(change.get("submitted_at")) or "近期",
        decided=_day(change.get("decided_at")) or "近期",
        reason=reason,
    )


def describe(record: dict | None, hotline: str, change: dict | None = None) -> str:
    """The status reply for a linked person's record (None: not started), and their latest change."""
    text = _describe_record(record, hotline)
    extra = describe_change(change) if record and record.get("status") == "approved" else ""
    return f"{text}{extra}" if extra else text


def _describe_record(record: dict | None, hotline: str) -> str:
    """The first collection's state in words."""
    status = (record or {}).get("status")
    if record is None or not status:
        return texts.STATUS_NO_RECORD
    if status == "draft":
        return texts.STATUS_DRAFT
    if status == "submitted":
        return texts.STATUS_SUBMITTED.format(submitted=_day(record.get("submitted_at")) or "近期")
    decision = record.get("decision") or {}
    decided = _day(record.get("decided_at") or decision.get("at")) or "近期"
    if status == "approved":
        archive_no = record.get("archive_no")
        archive = texts.STATUS_ARCHIVE_NO.format(archive_no=archive_no) if archive_no else ""
        return texts.STATUS_APPROVED.format(decided=decided, archive=archive).strip()
    if status == "rejected":
        return texts.STATUS_REJECTED.format(decided=decided, reason=decision.get("reason") or "请在小程序中查看")
    return texts.STATUS_UNKNOWN.format(hotline=hotline)


class ChatStatus:
    """Finds a chat user's record (link, then unionid) and describes its status."""

    def __init__(self, services):
        self.services = services
        self.binding = services.get(ChatBinding)
        self.store = services.get(LifecycleStore)

    async def reply(self, chat_openid: str) -> tuple[str, Callable[[], Awaitable[None]] | None]:
        """(reply text, a link to store) for a status question; reads only."""
        hotline = self.services.settings.hotline
        linked, record = await self.binding.linked(chat_openid)
        if linked:
            return describe(record, hotline, await self._latest_change(record)), None
        unionid = await self._unionid(chat_openid)
        account = await self.store.account_by_unionid(unionid) if unionid else None
        record = await self.store.application(account["record_id"]) if account else None
        if record is None:
            return texts.STATUS_NOT_LINKED, None

        async def link() -> None:
            await self.binding.link(chat_openid, record["_id"])

        return describe(record, hotline, await self._latest_change(record)), link

    async def _latest_change(self, record: dict | None) -> dict | None:
        """The person's most recent change application, if any."""
        archive = await self.store.archive_of(record)
        changes = list((archive or {}).get("changes") or [])
        return await self.store.application(changes[-1]) if changes else None

    async def _unionid(self, chat_openid: str) -> str | None:
        """The sender's unionid from the official account's user info (None when unavailable)."""
        try:
            info = await asyncio.wait_for(
                self.services.official_account.call(
                    "GET", "/cgi-bin/user/info", params={"openid": chat_openid, "lang": "zh_CN"}
                ),
                UNIONID_TIMEOUT,
            )
        except (TimeoutError, WeChatError) as exc:
            log.info("no unionid for a chat user: %s", exc)
            return None
        unionid = info.get("unionid")
        return unionid if isinstance(unionid, str) and unionid else None
