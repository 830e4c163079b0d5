"""Whose status a chat user asks about: the first collection their chat is linked to (or found by
unionid), followed to the record now on that record's account.

An account recovery (server/recovery/effects.py) moves an archive onto the account that applied:
that account's own draft, which its chat may be linked to, is abandoned and the account now points
at the recovered record. Answering from the linked draft would tell a person whose archive is now
theirs that they have not started; so the record is read through its account (`accounts`, by
`_id`), and the account's record is taken when it belongs to the same account.
"""

from __future__ import annotations

from typing import Any

from server.chat.binding import ChatBinding
from server.lifecycle.store import LifecycleStore


async def on_account(store: LifecycleStore, record: Any) -> tuple[Any, Any]:
    """(the record now on the account that owns `record`, that account); `record` itself when
    the account still points at it, has no record, or points at one it does not own."""
    openid = (record or {}).get("openid")
    account = await store.account(openid) if openid else None
    now_id = (account or {}).get("record_id")
    if record is None or not now_id or now_id == record.get("_id"):
        return record, account
    moved = await store.application(now_id)
    return (moved, account) if moved is not None and moved.get("openid") == openid else (record, account)


async def linked_person(binding: ChatBinding, store: LifecycleStore, chat_openid: str) -> tuple[Any, Any] | None:
    """(record, account) of the chat user's link, followed to the record now on the account; None
    when the chat user is not linked or the linked record is gone."""
    linked, record = await binding.linked(chat_openid)
    if not linked or record is None:
        return None
    return await on_account(store, record)
