"""Continuing education by chat: "查询继续教育" (or the menu key `DUTIES:ce`) answers a bound
follower with their years and standing in a few lines (server/duties/view.py says the same).
`查询进度` says the standing too when it is not 正常 (server/chat/status.py), from `standing` here:
the same computation, so the two answers never disagree."""

from __future__ import annotations

import re

from faq.normalize import to_simplified
from server.chat.binding import ChatBinding
from server.chat.person import linked_person
from server.duties.view import DutiesView
from server.lifecycle.store import Doc, LifecycleStore

DUTIES_KEY = "DUTIES:ce"  # a menu click button's key
NOT_LINKED = (
    "您的微信还没有关联会计人员档案。请打开“会计人员信息采集”小程序，在“我的”页面获取 6 位绑定码，"
    "然后在这里发送“绑定 123456”（换成您的绑定码），即可查询继续教育情况。"
)
_QUERY = re.compile(r"(我要|我想|帮我)?(查询|查看|查一下|查下|查|看看|我的)?继续教育(学分|情况|进度)?(查询|怎么样了?)?")


def is_duties_query(text: str) -> bool:
    """True for "查询继续教育" and close variants (traditional characters accepted)."""
    if len(text) > 24 or "教" not in text and "敎" not in text:
        return False
    compact = to_simplified("".join(text.split()))
    return bool(_QUERY.fullmatch(compact)) and compact != "继续教育"


class DutiesChat:
    """The reply to a duties question."""

    def __init__(self, services):
        self.binding = services.get(ChatBinding)
        self.view = services.get(DutiesView)
        self.store = services.get(LifecycleStore)

    async def reply(self, chat_openid: str) -> str:
        person = await linked_person(self.binding, self.store, chat_openid)  # a recovered archive, not the draft
        return await self.view.chat_text(person[0]) if person else NOT_LINKED

    async def standing(self, archive: Doc) -> Doc:
        """The archive's standing computed now, as the reply above reads it (`standing`,
        `standing_label`, `reason` naming the years, `what_to_do`...)."""
        return await self.view.standing.preview(archive)
