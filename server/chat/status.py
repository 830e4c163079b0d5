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
from server.lifecycle.tables import TRANSFER_IN
from server.notify.template import format_time
from server.units import answers
from server.units.confirmations import UnitConfirmations
from server.wechat.errors import WeChatError

log = logging.getLogger("kjcj.chat.status")

_STATUS = re.compile(
    r"(我要|我想|帮我)?(查询|查看|查一下|查下|查|看看|我的)?(信息采集|采集|审核|审批|办理)?"
    r"(进度|结果|状态|情况)(查询|怎么样了?|如何了?|呢)?"
)
_PASSED = re.compile(r"(我的)?(信息采集|采集|审核)(通过|过)了?(吗|没有?|没)")
UNIONID_TIMEOUT = 2.0
ENDED_IN = frozenset({"refused", "withdrawn"})  # a transfer in that returned the record to a draft


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


def _words(app: dict) -> dict[str, str]:
    """The texts of an application's kind, by state (a change document may predate `kind`)."""
    kind = app.get("kind") or "change"
    if kind == "change":
        return texts.STATUS_CHANGE
    if kind == "recovery":
        return texts.STATUS_RECOVERY
    return texts.STATUS_TRANSFER.get(kind, {})


def _fields(app: dict) -> dict[str, str]:
    """The placeholders of an application's texts: submitted, decided, reason, to."""
    decision = app.get("decision") or {}
    return {
        "submitted": _day(app.get("submitted_at")) or "近期",
        "decided": _day(app.get("decided_at") or decision.get("at")) or "近期",
        "reason": decision.get("reason") or (app.get("ordered") or {}).get("reason") or "请在小程序中查看",
        "to": (app.get("payload") or {}).get("to_region_name") or texts.STATUS_TO_UNKNOWN,
    }


def describe_application(app: dict | None) -> str:
    """A sentence on one of the person's later applications, a change or a transfer ("" when
    there is none, or its kind or state has no words)."""
    text = _words(app).get(app.get("status") or "") if app else None
    return text.format(**_fields(app)) if app and text else ""


describe_change = describe_application  # the name from before transfers


def describe_unit(unit: dict | None, required: bool = False) -> str:
    """A sentence on the unit's confirmation (报备确认) when it is pending or denied, else ""."""
    state = (unit or {}).get("state")
    if not unit or state not in ("pending", "denied"):
        return ""
    key = "pending_required" if state == "pending" and required else state
    name = f"（{unit['unit_name']}）" if unit.get("unit_name") else ""
    return texts.STATUS_UNIT[key].format(unit=name, reason=unit.get("reason") or "请在小程序中查看")


def describe(
    record: dict | None, hotline: str, latest: dict | None = None, unit: dict | None = None, required: bool = False
) -> str:
    """The status reply for a linked person's record (None: not started), and their latest
    application: the archive's latest change or transfer, or the record's transfer in; then the
    unit's confirmation when it is pending or denied (`unit`: server/units/answers.person_view;
    `required`: the district waits for it before approving)."""
    text = _describe_record(record, hotline, latest)
    extra = describe_application(latest) if _says_latest(record, latest) else ""
    text = f"{text}{extra}" if extra else text
    said = describe_unit(unit, required and (record or {}).get("status") == "submitted")
    return f"{text}{said}" if said else text


def _says_latest(record: dict | None, latest: dict | None) -> bool:
    """Whether the latest application is said after the record's state: once there is an archive
    (a transfer in only when it created it); before that, a transfer in that ended without one."""
    status = (record or {}).get("status")
    app = latest or {}
    if app.get("kind") != TRANSFER_IN.name:
        return status == "approved"
    if status == "approved":
        return app.get("status") == "accepted"
    return status == "draft" and app.get("status") in ENDED_IN


def _describe_record(record: dict | None, hotline: str, latest: dict | None = None) -> str:
    """The first collection's state in words."""
    status = (record or {}).get("status")
    if record is None or not status:
        return texts.STATUS_NO_RECORD
    if status == "draft":
        return texts.STATUS_DRAFT
    if status == "submitted":
        return texts.STATUS_SUBMITTED.format(submitted=_day(record.get("submitted_at")) or "近期")
    if status == "transferring":  # held by a transfer in: its dates and destination
        transfer = latest if latest and latest.get("kind") == TRANSFER_IN.name else {}
        return texts.STATUS_TRANSFERRING.format(**_fields(transfer))
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
            return describe(record, hotline, await self._latest(record), *await self._unit(record)), None
        unionid = await self._unionid(chat_openid)
        account = await self.store.account_by_unionid(unionid) if unionid else None
        record = await self.store.application(account["record_id"]) if account else None
        if record is None:
            return texts.STATUS_NOT_LINKED, None

        async def link() -> None:
            await self.binding.link(chat_openid, record["_id"])

        return describe(record, hotline, await self._latest(record), *await self._unit(record)), link

    async def _unit(self, record: dict | None) -> tuple[dict | None, bool]:
        """The unit's confirmation of the person, and whether their district waits for it."""
        if not record or record.get("status") not in answers.LISTED_STATUSES:
            return None, False
        unit = answers.person_view(record, await self.store.archive_of(record))
        if unit is None or unit["state"] != "pending" or record.get("status") != "submitted":
            return unit, False
        return unit, await self.services.get(UnitConfirmations).required(record.get("region_code"))

    async def _latest(self, record: dict | None) -> dict | None:
        """The person's most recent later application: the archive's latest change or transfer,
        else the record's transfer in (`transfer_in` while it holds or once it created the record;
        a refused or withdrawn one is cleared there and only listed in `transfers_in`)."""
        archive = await self.store.archive_of(record)
        later = list((archive or {}).get("changes") or [])
        if later:
            return await self.store.application(later[-1])
        tried = list((record or {}).get("transfers_in") or [])
        transfer_in = (record or {}).get("transfer_in") or (tried[-1] if tried else None)
        return await self.store.application(transfer_in) if transfer_in else None

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
