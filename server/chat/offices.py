"""The managing office a chat user's answers name: their district's once the chat user is linked to a
record (the archive's district after a transfer), else the city's office (config/districts.json)."""

from __future__ import annotations

from server.chat.binding import ChatBinding
from server.chat.person import linked_person
from server.districts import deployment_districts
from server.lifecycle.store import LifecycleStore

OFFICE_PLACEHOLDERS = ("office_name", "office_phone", "office_address")


def office_context(entry: dict | None) -> dict:
    """The answer placeholders of one office entry (a district or the city); missing values are left
    out so the answer's optional segments drop them."""
    entry = entry or {}
    values = {
        "office_name": entry.get("office"),
        "office_phone": entry.get("phone"),
        "office_address": entry.get("address"),
    }
    return {k: v for k, v in values.items() if isinstance(v, str) and v.strip()}


class ChatOffices:
    """Finds the office of a chat user (two or three `_id` reads, only for answers that name it)."""

    def __init__(self, services):
        self.services = services
        self.districts = deployment_districts(services.settings)
        self.binding = services.get(ChatBinding)
        self.store = services.get(LifecycleStore)

    async def of_chat_user(self, chat_openid: str) -> dict:
        """The office placeholders for this chat user: their district's, else {} (the city's stay)."""
        person = await linked_person(self.binding, self.store, chat_openid)  # after a recovery: the record now theirs
        if person is None:
            return {}
        record = person[0]
        archive = await self.store.archive_of(record)
        code = (archive or {}).get("region_code") or ((archive or {}).get("data") or {}).get("region_code")
        code = code or record.get("region_code")
        return office_context(self.districts.get(code)) if code else {}
