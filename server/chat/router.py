"""Routing one inbound message to a reply: FAQ, numbered choices, binding, status, menu, hints.

`plan` only reads; anything that writes is returned as `Outcome.effect`, which the
webhook runs once, after the message is claimed against retries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from wechatpy.messages import BaseMessage

from faq.normalize import normalize
from server.chat import texts
from server.chat.binding import ChatBinding
from server.chat.choices import ChoiceStore
from server.chat.duties import DUTIES_KEY, DutiesChat, is_duties_query
from server.chat.faq_service import FaqService
from server.chat.greetings import THANKS, courtesy
from server.chat.menu import FAQ_KEY
from server.chat.misses import MissLog
from server.chat.offices import ChatOffices
from server.chat.status import ChatStatus, is_status_query

_BIND = re.compile(r"绑定\s*[:：]?\s*(\d{6})")
_CHOICE = re.compile(r"[1-9]")
HELP_KEY = "HELP:"
MIN_CANDIDATE_CONFIDENCE = 0.2  # closest topics below this are not offered
# a keyword or two ("档案", "图片") is never left without an answer: its closest topics are offered
# down to this confidence
SHORT_QUESTION = 8  # characters, after normalisation
MIN_SHORT_CONFIDENCE = 0.02
# what a greeting or thanks offers as numbered choices (those that exist), with the status command
MENU_TOPICS = ("how_to_collect", "materials", "review_status", "info_change", "transfer")
MAX_TEXT = 600  # longer messages are cut before matching
SILENT_EVENTS = {
    "unsubscribe",
    "view",
    "view_miniprogram",
    "location",
    "templatesendjobfinish",
    "masssendjobfinish",
    "subscribe_msg_popup_event",
    "subscribe_msg_change_event",
}
HINT_TYPES = {"image", "voice", "video", "shortvideo", "location", "link", "file"}


@dataclass(frozen=True)
class Outcome:
    """The reply (None = "success"), or an effect that writes and returns the reply."""

    reply: str | None
    effect: Callable[[], Awaitable[str | None]] | None = None


class ChatRouter:
    """Decides what to answer to each message type."""

    def __init__(self, services):
        self.hotline = services.settings.hotline
        self.faq = services.get(FaqService)
        self.choices = services.get(ChoiceStore)
        self.misses = services.get(MissLog)
        self.binding = services.get(ChatBinding)
        self.status = services.get(ChatStatus)
        self.duties = services.get(DutiesChat)
        self.offices = services.get(ChatOffices)
        self.welcome = texts.WELCOME.format(hotline=self.hotline)
        self.self_service = texts.SELF_SERVICE.format(hotline=self.hotline)

    async def plan(self, msg: BaseMessage) -> Outcome:
        """What to answer to `msg` (reads only; writes go into the effect)."""
        kind = msg.type
        if kind == "text":
            return await self.on_text(msg.source, msg.content or "")
        if kind == "voice" and (msg.recognition or "").strip():
            return await self.on_text(msg.source, msg.recognition)
        if kind == "event":
            if (msg.event or "").lower() == "click" and str(msg.key or "") == DUTIES_KEY:
                return Outcome(await self.duties.reply(msg.source))
            return await self.on_event(msg)
        if kind in HINT_TYPES:
            return Outcome(texts.HINT_NOT_TEXT)
        return Outcome(None)

    async def on_event(self, msg: BaseMessage) -> Outcome:
        """Subscribe → welcome; menu clicks → FAQ answer or self-service; others → nothing."""
        event = (msg.event or "").lower()
        if event in ("subscribe", "subscribe_scan"):
            return Outcome(self.welcome)
        if event == "click":
            key = str(msg.key or "")
            if key.startswith(FAQ_KEY):
                return Outcome(await self.answer(msg.source, key[len(FAQ_KEY) :]) or texts.TOPIC_GONE)
            if key.startswith(HELP_KEY):
                return Outcome(self.self_service)
        return Outcome(None)

    async def on_text(self, openid: str, raw: str) -> Outcome:
        """Binding code, numbered choice, status question, else the FAQ."""
        text = unicodedata.normalize("NFKC", raw).strip()[:MAX_TEXT]
        if not text:
            return Outcome(texts.HINT_EMPTY)
        said = courtesy(text)
        if said.kind:
            kind = said.kind
            return Outcome(None, lambda: self._menu(openid, kind))
        command = said.rest or text  # "你好，查询进度" is the status command
        bind = _BIND.fullmatch(text)
        if bind:
            return Outcome(None, lambda: self._bind(openid, bind.group(1)))
        if _CHOICE.fullmatch(text):
            topic_id = await self.choices.pick(openid, int(text))
            answer = await self.answer(openid, topic_id) if topic_id else None
            return Outcome(answer or texts.CHOICE_EXPIRED)
        if is_status_query(command):
            reply, link = await self.status.reply(openid)
            return Outcome(reply, _then(link, reply) if link else None)
        if is_duties_query(command):
            return Outcome(await self.duties.reply(openid))
        result = self.faq.match(text)
        if result.topic:
            answer = await self.answer(openid, result.topic)
            if answer:
                return Outcome(answer)
        if result.out_of_scope:
            return Outcome(None, lambda: self._miss(openid, text, [], out_of_scope=True))
        offered = offered_topics(text, result.candidates)
        return Outcome(None, lambda: self._miss(openid, text, offered))

    async def answer(self, openid: str, topic_id: str) -> str | None:
        """A topic's answer; one that names the managing office names the asker's own district's
        office when the chat user is linked to a record (else the city's)."""
        if not self.faq.personal(topic_id):
            return self.faq.answer(topic_id)
        return self.faq.answer(topic_id, await self.offices.of_chat_user(openid))

    async def _menu(self, openid: str, kind: str) -> str:
        """A friendly line and the menu: the main topics as numbered choices, and the commands."""
        offered = [tid for tid in MENU_TOPICS if self.faq.title(tid)]
        await self.choices.offer(openid, offered)
        lines = self._numbered(offered)
        opening = texts.THANKS_REPLY if kind == THANKS else texts.GREETING_REPLY
        return texts.COURTESY_MENU.format(opening=opening, choices=lines, hotline=self.hotline)

    def _numbered(self, topic_ids: list[str]) -> str:
        """Topics as numbered choices, one line each ("1. 标题")."""
        return "\n".join(f"{i}. {self.faq.title(tid)}" for i, tid in enumerate(topic_ids, 1))

    async def _bind(self, openid: str, code: str) -> str:
        """Redeem a binding code."""
        result = await self.binding.redeem(openid, code)
        if result.outcome == "bound":
            return texts.BIND_OK if result.record and result.record.get("status") else texts.BIND_OK_NO_RECORD
        return texts.BIND_TOO_MANY if result.outcome == "too_many" else texts.BIND_BAD_CODE

    async def _miss(self, openid: str, text: str, offered: list[str], out_of_scope: bool = False) -> str:
        """Record the miss, offer the closest topics as numbered choices."""
        await self.misses.record(text, offered, out_of_scope)
        if out_of_scope:
            return texts.OUT_OF_SCOPE.format(hotline=self.hotline)
        if not offered:
            return texts.MISS_NO_CHOICES.format(hotline=self.hotline)
        await self.choices.offer(openid, offered)
        lines = self._numbered(offered)
        return texts.MISS_WITH_CHOICES.format(choices=lines, hotline=self.hotline)


def offered_topics(text: str, candidates: list[tuple[str, float]]) -> list[str]:
    """The closest topics offered as numbered choices after a miss (at most 3): a short message (a
    keyword or two) is offered its closest topics even when they are far, never a bare miss."""
    short = len(normalize(text).replace(" ", "")) <= SHORT_QUESTION
    floor = MIN_SHORT_CONFIDENCE if short else MIN_CANDIDATE_CONFIDENCE
    return [tid for tid, score in candidates if score >= floor][:3]


def _then(effect: Callable[[], Awaitable[None]], reply: str) -> Callable[[], Awaitable[str]]:
    """An effect that runs `effect` and then answers `reply`."""

    async def run() -> str:
        await effect()
        return reply

    return run
