"""Announcements (公告): published by staff, read by people, pushed to chat followers.

`service.Announcements` (writes, the per-process cache, who may write what), `model` (fields,
validation, views), `push` (the fan-out to the outbox and the customer-service messages).
"""

from server.announcements.push import AnnouncementPusher, ChatNoticeSender
from server.announcements.service import Announcements

__all__ = ["AnnouncementPusher", "Announcements", "ChatNoticeSender"]
