"""Notices that are never lost: written into the record with the decision, then delivered.

A notice lives at `records.notices.<id>` (the inbox reads it there); `outbox_due_at` on the
record is the earliest moment one of its notices needs the sender. `NoticeSender` claims a
due notice with an atomic lease, sends it as a WeChat subscribe message and records the
outcome (sent, retry with backoff, or final: skipped on 43101 / failed).
"""
from server.notify.notices import next_due, review_notice
from server.notify.sender import NoticeSender

__all__ = ["NoticeSender", "next_due", "review_notice"]
