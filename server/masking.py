"""Masking of personal data (ID numbers, phone numbers) in logs and lists."""

from __future__ import annotations

import re

# 18-character resident ID / permit numbers and 15-digit old IDs, not inside longer digit runs.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{6,9}(\d{2}[\dXx]|\d{3})(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally with +86.
_MOBILE_RE = re.compile(r"(?<!\d)((?:\+?86)?1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_id_number(value: str | None) -> str:
    """110101********123X style: keep the area and the last four."""
    if not value:
        return ""
    v = str(value)
    if len(v) <= 8:
        return v[:1] + "*" * (len(v) - 1)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_mobile(value: str | None) -> str:
    """138****5678 style."""
    if not value:
        return ""
    v = str(value)
    return v[:3] + "****" + v[-4:] if len(v) >= 11 else "*" * len(v)


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number found in free text (logs, URLs)."""
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 10) + m.group(0)[-4:], text)
    return _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
