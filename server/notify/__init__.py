"""Notices that are never lost: derived from an application's recorded steps, then delivered.

A notice lives in the `notices` outbox (the inbox reads it there); while it waits for the
sender a small document in `deliveries` names it. `NoticeSender` claims a due notice with
an atomic lease, sends it as a WeChat subscribe message and records the outcome (sent,
retry with backoff, or final: skipped on 43101 / failed).
"""
