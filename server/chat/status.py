"""Status by chat: "查询进度" answers with what the sender has going, one sentence an item, only
the items that exist:

1. the first collection's state (the record now on their account: server/chat/person.py);
2. their latest change, transfer or account recovery (the archive's later applications, or the
   record's transfer in); an account recovery of their own that did not (yet) move an archive here;
3. the unit's confirmation (报备确认) when it is pending or denied;
4. their newest open equivalence claim (视同继续教育) and how many more are open, else the one
   decided (or withdrawn) last;
5. their yearly standing when it is not 正常, computed as “查询继续教育” computes it;
6. their unit-administrator applications (the latest per unit).

The words are texts.STATUS, by kind then state, for every state of every kind in
server/lifecycle/tables.py. Reads are by `_id` only: the link, the record, its account (its
`recoveries` and `unit_admins` ids), the archive (its `changes` ids: changes, transfers,
recoveries and claims, newest last), at most LATER_READS of those, and the standing's inputs
(server/duties/runner.py `preview`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from faq.normalize import normalize
from server.chat import texts
from server.chat.binding import ChatBinding
from server.chat.duties import DutiesChat
from server.chat.person import on_account
from server.duties import standing as rules
from server.lifecycle.store import Doc, LifecycleStore
from server.lifecycle.tables import CE_CLAIM, RECOVERY, TRANSFER_IN, TRANSFER_KINDS, UNIT_ADMIN
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
LATER_KINDS = frozenset({"change", *TRANSFER_KINDS, RECOVERY.name})  # said as "the latest application"
LATER_READS = 8  # the archive's newest later applications read for the latest one and the claims
UNIT_ADMIN_READS = 6  # the account's newest unit-administrator applications read
UNITS_SAID = 3  # at most this many units' administrator applications are said
REASON_CHARS = 60  # a longer reason is cut (the whole of it is in the mini-program)
REPLY_BYTES = 2000  # a passive text reply stays within WeChat's 2048 bytes: the last items give way

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


def _kind(app: Doc) -> str:
    """An application's kind (a change document may predate `kind`)."""
    return app.get("kind") or "change"


def _step_into(app: Doc) -> Doc:
    """The last recorded step that led to the application's current state ({} when none is recorded)."""
    status = app.get("status")
    for step in reversed(app.get("history") or []):
        if isinstance(step, dict) and step.get("status") == status:
            return step
    return {}


def _clip(reason: Any) -> str:
    """A reason as said (cut at REASON_CHARS), or the pointer to the mini-program when there is none."""
    text = " ".join(str(reason).split()) if reason else ""
    if not text:
        return "请在小程序中查看"
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def _credits(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _claim(payload: Doc) -> str:
    """An equivalence claim's year and credits asked, in brackets ("" when neither is known)."""
    year, credits = payload.get("year"), _credits(payload.get("credits"))
    parts = ([f"{year}年度"] if isinstance(year, int) else []) + ([f"申请{credits}学分"] if credits else [])
    return f"（{'，'.join(parts)}）" if parts else ""


def _granted(payload: Doc, decision: Doc) -> str:
    """The credits a claim's approval granted, in words."""
    granted = _doc(decision.get("granted"))
    credits = _credits(granted.get("credits"))
    if not credits:
        return texts.STATUS_GRANTED_UNKNOWN
    year = payload.get("year")
    subject = rules.TYPE_LABELS.get(str(granted.get("type")), "")
    return f"认定{f'{year}年度' if isinstance(year, int) else ''}{subject}{credits}学分"


def _doc(value: Any) -> Doc:
    return value if isinstance(value, dict) else {}


def fields(app: Doc) -> dict[str, str]:
    """The placeholders of an application's texts (see texts.STATUS)."""
    decision, payload = _doc(app.get("decision")), _doc(app.get("payload"))
    step = _step_into(app)
    archive_no = app.get("archive_no")
    return {
        "submitted": _day(app.get("submitted_at")) or "近期",
        "decided": _day(step.get("at")) or _day(app.get("decided_at") or decision.get("at")) or "近期",
        "reason": _clip(step.get("reason") or decision.get("reason") or _doc(app.get("ordered")).get("reason")),
        "archive": texts.STATUS_ARCHIVE_NO.format(archive_no=archive_no) if archive_no else "",
        "to": payload.get("to_region_name") or texts.STATUS_TO_UNKNOWN,
        "unit": payload.get("unit_name") or texts.STATUS_UNIT_UNKNOWN,
        "claim": _claim(payload),
        "granted": _granted(payload, decision),
    }


def describe_application(app: Doc | None) -> str:
    """A sentence on one application of any kind in its state ("" when there is none, or its kind
    or state has no words)."""
    text = texts.STATUS.get(_kind(app), {}).get(app.get("status") or "") if app else None
    return text.format(**fields(app)).strip() if app and text else ""


def describe_unit(unit: Doc | None, required: bool = False) -> str:
    """A sentence on the unit's confirmation (报备确认) when it is pending or denied, else ""."""
    state = (unit or {}).get("state")
    if not unit or state not in ("pending", "denied"):
        return ""
    key = "pending_required" if state == "pending" and required else state
    name = f"（{unit['unit_name']}）" if unit.get("unit_name") else ""
    return texts.STATUS_UNIT[key].format(unit=name, reason=_clip(unit.get("reason")))


def describe_standing(standing: Doc | None) -> str:
    """A sentence on the yearly standing when it is not 正常 (a preview: server/duties/runner.py), else ""."""
    text = texts.STATUS_STANDING.get((standing or {}).get("standing") or "")
    return text.format(reason=standing.get("reason") or rules.reason(standing)) if standing and text else ""


@dataclass
class Facts:
    """Everything the reply says, read beforehand (see ChatStatus.facts)."""

    record: Doc | None  # the first collection now on the person's account (None: not started)
    latest: Doc | None = None  # the archive's latest change, transfer or recovery, else the record's transfer in
    recovery: Doc | None = None  # the account's own latest recovery
    unit: Doc | None = None  # the unit's confirmation (server/units/answers.person_view)
    required: bool = False  # the district waits for the unit's confirmation before approving
    claim: Doc | None = None  # the newest open equivalence claim, else the one decided last
    open_claims: int = 0
    standing: Doc | None = None  # the standing computed now (None: no archive, or transferred out)
    unit_admins: list[Doc] = field(default_factory=list)  # the latest application per unit


def describe(facts: Facts, hotline: str) -> str:
    """The status reply: one sentence (or two) an item, one item a line."""
    record = facts.record
    status = (record or {}).get("status")
    recovery = facts.recovery if _says_recovery(record, facts.recovery, facts.latest) else None
    recovering = recovery is not None and recovery.get("status") in RECOVERY.open_states
    parts = []
    if not (recovering and status in (None, "draft")):  # the new account's empty draft is no news then
        parts.append(_describe_record(record, hotline, facts.latest))
    if _says_latest(record, facts.latest):
        parts.append(describe_application(facts.latest))
    parts.append(describe_application(recovery))
    parts.append(describe_unit(facts.unit, facts.required and status == "submitted"))
    if facts.claim is not None:
        claim = describe_application(facts.claim)
        more = facts.open_claims - (1 if facts.claim.get("status") in CE_CLAIM.open_states else 0)
        parts.append(f"{claim}{texts.STATUS_CLAIMS_OPEN.format(more=more)}" if claim and more > 0 else claim)
    parts.append(describe_standing(facts.standing))
    parts += [describe_application(a) for a in facts.unit_admins]
    said = [p for p in parts if p]
    if len("\n".join(said).encode()) > REPLY_BYTES:
        while len(said) > 1 and len("\n".join([*said, texts.STATUS_MORE]).encode()) > REPLY_BYTES:
            said.pop()
        said.append(texts.STATUS_MORE)
    return "\n".join(said)


def _says_latest(record: Doc | None, latest: Doc | None) -> bool:
    """Whether the latest application is said after the record's state: once there is an archive
    (a transfer in only when it created it); before that, a transfer in that ended without one."""
    status = (record or {}).get("status")
    app = latest or {}
    if not app:
        return False
    if app.get("kind") != TRANSFER_IN.name:
        return status == "approved"
    if status == "approved":
        return app.get("status") == "accepted"
    return status == "draft" and app.get("status") in ENDED_IN


def _says_recovery(record: Doc | None, recovery: Doc | None, latest: Doc | None) -> bool:
    """Whether the account's own recovery is said: while it is open; once refused or withdrawn, until
    the account has an archive of its own. An approved one moved the archive here: it is the archive's
    (said as the latest application while it is)."""
    if recovery is None or (latest is not None and latest.get("_id") == recovery.get("_id")):
        return False
    if recovery.get("status") in RECOVERY.open_states:
        return True
    return recovery.get("status") != "approved" and (record or {}).get("status") != "approved"


def _describe_record(record: Doc | None, hotline: str, latest: Doc | None = None) -> str:
    """The first collection's state in words."""
    status = (record or {}).get("status")
    if record is None or not status:
        return texts.STATUS_NO_RECORD
    if status == "transferring":  # held by a transfer in: its dates and destination
        transfer = latest if latest and latest.get("kind") == TRANSFER_IN.name else {}
        return texts.STATUS["collection"]["transferring"].format(**fields(transfer))
    text = texts.STATUS["collection"].get(status)
    return text.format(**fields(record)).strip() if text else texts.STATUS_UNKNOWN.format(hotline=hotline)


def _moved_at(app: Doc) -> float:
    """When an application reached its state (0 when unknown), to order decided ones."""
    at = _step_into(app).get("at") or app.get("decided_at") or app.get("submitted_at")
    return at.timestamp() if isinstance(at, dt.datetime) else 0.0


def _claim_to_say(claims: list[Doc]) -> tuple[Doc | None, int]:
    """(the claim to say, how many are open) of claims newest first: the newest open one, else the
    one decided (or withdrawn) last."""
    waiting = [c for c in claims if c.get("status") in CE_CLAIM.open_states]
    if waiting:
        return waiting[0], len(waiting)
    return (max(claims, key=_moved_at), 0) if claims else (None, 0)


def _newest_per_unit(apps: list[Doc]) -> list[Doc]:
    """The newest unit-administrator application of each unit, newest first, at most UNITS_SAID."""
    seen: set[str] = set()
    out: list[Doc] = []
    for app in reversed(apps):
        unit = str((app.get("payload") or {}).get("uscc") or app["_id"])
        if unit not in seen:
            seen.add(unit)
            out.append(app)
    return out[:UNITS_SAID]


class ChatStatus:
    """Finds a chat user's record (link, then unionid) and describes what they have going."""

    def __init__(self, services):
        self.services = services
        self.binding = services.get(ChatBinding)
        self.store = services.get(LifecycleStore)

    async def reply(self, chat_openid: str) -> tuple[str, Callable[[], Awaitable[None]] | None]:
        """(reply text, a link to store) for a status question; reads only."""
        hotline = self.services.settings.hotline
        linked, record = await self.binding.linked(chat_openid)
        if linked:
            record, account = await on_account(self.store, record)
            return describe(await self.facts(record, account), hotline), None
        unionid = await self._unionid(chat_openid)
        account = await self.store.account_by_unionid(unionid) if unionid else None
        record = await self.store.application(account.get("record_id")) if account else None
        if record is None or account is None:
            return texts.STATUS_NOT_LINKED, None
        found = record

        async def link() -> None:
            await self.binding.link(chat_openid, found["_id"])

        return describe(await self.facts(record, account), hotline), link

    async def facts(self, record: Doc | None, account: Doc | None) -> Facts:
        """What the reply says of a person: their record and its account (see module doc)."""
        archive = await self.store.archive_of(record)
        (latest, claims), (unit, required), standing, recovery, unit_admins = await asyncio.gather(
            self._later(record, archive),
            self._unit(record, archive),
            self._standing(archive),
            self._recovery(account),
            self._unit_admins(account),
        )
        claim, open_claims = _claim_to_say(claims)
        return Facts(
            record,
            latest=latest,
            recovery=recovery,
            unit=unit,
            required=required,
            claim=claim,
            open_claims=open_claims,
            standing=standing,
            unit_admins=unit_admins,
        )

    async def _later(self, record: Doc | None, archive: Doc | None) -> tuple[Doc | None, list[Doc]]:
        """(the latest change, transfer or recovery; the claims, newest first) among the archive's
        newest LATER_READS later applications. Without one there: the application holding the
        archive (`open_change`), else the record's transfer in (`transfer_in` while it holds or once
        it created the record; a refused or withdrawn one is cleared there, listed in `transfers_in`)."""
        ids: list[Any] = list((archive or {}).get("changes") or [])[-LATER_READS:]
        held = (archive or {}).get("open_change")
        found = await asyncio.gather(*[self.store.application(i) for i in ids])
        newest = [a for a in reversed(found) if a is not None]
        latest = next((a for a in newest if _kind(a) in LATER_KINDS), None)
        claims = [a for a in newest if _kind(a) == CE_CLAIM.name]
        if latest is None and held and held not in ids:
            latest = await self.store.application(held)
        if latest is None:
            tried = list((record or {}).get("transfers_in") or [])
            transfer_in = (record or {}).get("transfer_in") or (tried[-1] if tried else None)
            latest = await self.store.application(transfer_in) if transfer_in else None
        return latest, claims

    async def _unit(self, record: Doc | None, archive: Doc | None) -> tuple[Doc | None, bool]:
        """The unit's confirmation of the person, and whether their district waits for it."""
        if not record or record.get("status") not in answers.LISTED_STATUSES:
            return None, False
        unit = answers.person_view(record, archive)
        if unit is None or unit["state"] != "pending" or record.get("status") != "submitted":
            return unit, False
        return unit, await self.services.get(UnitConfirmations).required(record.get("region_code"))

    async def _standing(self, archive: Doc | None) -> Doc | None:
        """The archive's standing as “查询继续教育” computes it (None without an archive here)."""
        if archive is None or archive.get("transferred_out"):
            return None
        return await self.services.get(DutiesChat).standing(archive)

    async def _recovery(self, account: Doc | None) -> Doc | None:
        """The account's latest recovery (None when it made none)."""
        ids = list((account or {}).get("recoveries") or [])
        mine = await self.store.owned(ids[-1:], account["_id"], RECOVERY.name) if account and ids else []
        return mine[-1] if mine else None

    async def _unit_admins(self, account: Doc | None) -> list[Doc]:
        """The account's latest unit-administrator application of each unit (newest first)."""
        ids = list((account or {}).get("unit_admins") or [])[-UNIT_ADMIN_READS:]
        if not account or not ids:
            return []
        found = await asyncio.gather(*[self.store.application(i) for i in ids])
        mine = [a for a in found if a and a.get("openid") == account["_id"] and a.get("kind") == UNIT_ADMIN.name]
        return _newest_per_unit(mine)

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
