"""Staff's side of a person's credits: their years and standing by archive number, and manual
entries (财政局录入, audited); imports are undone as a whole (server/duties/imports.py)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from server.db import utcnow
from server.districts import district_name
from server.duties.credits import (
    CREDITS_MAX,
    EARLIEST_YEAR,
    NOTE_MAX,
    TEXT_MAX,
    CreditAudit,
    CreditStore,
    credit_type,
    entry_view,
    number_of,
    parse_credits,
    parse_year,
)
from server.duties.runner import StandingService
from server.errors import Invalid, NotFound
from server.lifecycle.store import Doc, LifecycleStore
from server.masking import mask_id_number, mask_text
from server.staff.model import Staff

log = logging.getLogger("kjcj.duties")


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


class ManualCredits:
    """Staff's side: a person's credits by archive number, and manual entries (audited)."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(CreditStore)
        self.lifecycle = services.get(LifecycleStore)

    async def _archive(self, staff: Staff, number: Any) -> Doc:
        key = number_of(number)
        archive = await self.lifecycle.archive(key) if key else None
        if archive is None or not staff.can_see(archive.get("region_code")):
            raise NotFound("未找到该会计人员档案", "archive_not_found")
        return archive

    async def person(self, staff: Staff, number: Any) -> Doc:
        """A person's credits and standing for staff of the archive's district."""
        archive = await self._archive(staff, number)
        entries = await self.store.entries(archive["_id"])
        result = await self.services.get(StandingService).preview(archive, entries)
        profile = (archive.get("data") or {}).get("profile") or {}
        return {
            "archive_no": archive["_id"],
            "name": profile.get("name") or "",
            "id_number": mask_id_number(profile.get("id_number")),
            "region_code": archive.get("region_code"),
            "region_name": district_name(self.services.settings, archive.get("region_code")),
            "entries": [entry_view(e) for e in sorted(entries, key=lambda e: (e.get("year") or 0, str(e.get("at"))))],
            **result,
        }

    def _parse(self, body: Any) -> Doc:
        if not isinstance(body, dict):
            raise Invalid([_problem("", "invalid_type", "请求内容应为JSON对象")])
        allowed = ("archive_no", "year", "credits", "type", "provider", "course", "note")
        problems = [_problem(k, "unknown_field", "不支持的字段") for k in body if k not in allowed]
        this_year = utcnow().year
        year = parse_year(body.get("year"), this_year)
        if year is None:
            problems.append(_problem("year", "bad_year", f"年度应为 {EARLIEST_YEAR} 至 {this_year} 年之间的年份"))
        credits = parse_credits(body.get("credits"))
        if credits is None:
            problems.append(
                _problem("credits", "bad_credits", f"学分应为大于0、不超过{CREDITS_MAX}的数字（最多一位小数）")
            )
        ctype = credit_type(body.get("type"))
        if ctype is None:
            problems.append(_problem("type", "bad_type", "科目类型只能是专业科目（professional）或公需科目（general）"))
        texts = {}
        for name, limit, required in (
            ("course", TEXT_MAX, True),
            ("provider", TEXT_MAX, False),
            ("note", NOTE_MAX, False),
        ):
            value = body.get(name)
            if value is None and not required:
                texts[name] = ""
                continue
            if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
                problems.append(_problem(name, "invalid", f"请填写不超过{limit}字的文字"))
                continue
            texts[name] = " ".join(value.split())
        if not isinstance(body.get("archive_no"), str):
            problems.append(_problem("archive_no", "required", "请填写档案号（证件号码）"))
        if problems:
            raise Invalid(problems)
        return {"year": year, "credits": credits, "type": ctype, **texts}

    async def add_manual(self, staff: Staff, body: Any) -> Doc:
        """A manual entry by staff of the archive's district; recomputes the standing."""
        fields = self._parse(body)
        archive = await self._archive(staff, body.get("archive_no"))
        now = utcnow()
        entry = {
            "key": "m-" + secrets.token_hex(8),
            **fields,
            "provider": fields["provider"] or "财政局",
            "source": "manual",
            "by": staff.username,
            "at": now,
        }
        await self.store.add(archive["_id"], [entry])
        await self.services.get(CreditAudit).write(staff, "ce_credit_added", archive, entry_view(entry))
        await self.services.get(StandingService).recompute([archive["_id"]])
        log.info("manual credits for %s by %s", mask_text(archive["_id"]), staff.username)
        return await self.person(staff, archive["_id"])

    async def remove_manual(self, staff: Staff, number: Any, key: str) -> Doc:
        """Remove one manual entry (imports are undone as a whole; claims stand)."""
        archive = await self._archive(staff, number)
        entries = await self.store.entries(archive["_id"])
        entry = next((e for e in entries if e.get("key") == key and e.get("source") == "manual"), None)
        if entry is None:
            raise NotFound("没有这条财政局录入的学分", "credit_not_found")
        await self.store.remove(archive["_id"], lambda e: e.get("key") == key)
        await self.services.get(CreditAudit).write(staff, "ce_credit_removed", archive, entry_view(entry))
        await self.services.get(StandingService).recompute([archive["_id"]])
        return await self.person(staff, archive["_id"])
