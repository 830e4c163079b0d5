"""Matching a person's record with the old register, and the staff's mismatch cases.

`LegacyMatcher.after_patch` runs after the person's PATCH was written (wired in server/app.py as
a hook of `RecordService`): when the PATCH newly claimed an archive number, or changed the name
of a record holding one, and the register holds that number:

- the name equals the register's (compared as the public query compares names,
  `server.publicquery.comparable_name`: NFKC, traditional → simplified, case, spaces) → the record
  gets its `legacy` section (docs: /work/notes/shape.md) and is prefilled:
  `employment.accounting_since` = first_work_date, `employment.old_certificate_no`, and the
  register's dated past employers as `work_history` entries when the person has none yet (the
  person completes and confirms them; `legacy.prefilled` names what came from the register).
  The record service locks the fields `legacy` holds (`locked_by_register`).
- the name differs → nothing is merged; a **mismatch case** is opened for the district's
  reviewers (the register's district). Staff see both names, and either link the record after
  checking (the same prefill, `matched_by: "staff:<username>"`) or dismiss the case. A person
  who corrects the name to the register's is matched then and their case closes by itself.
- no name entered yet → nothing happens; the name's PATCH tries again.

A person who changes the ID number after a match loses the `legacy` section (the prefilled
values stay, unlocked); their open case of the old number is withdrawn.

`legacy_mismatches`, `_id` = a digest of (number, record id) (so that neither appears in URLs or
logs): `{state: "open" | "linked" | "dismissed" | "matched" | "withdrawn", archive_no, record_id,
region_code (the register's), register_name, record_name, opened_at, updated_at, resolved_by,
resolved_at, note}`. The open cases of a district are the sorted list
`legacy-mismatches:<district>` (key: opening time + id; rows masked), read by pages.
Logs name record ids and case ids only.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from server.db import utcnow
from server.districts import district_name
from server.errors import Conflict, Invalid, NotFound
from server.lifecycle.engine import Lifecycle
from server.lifecycle.readmodel import stamp
from server.lists import SortedList, counts, merged_page
from server.masking import mask_id_number, mask_name
from server.publicquery import REGISTER, comparable_name
from server.records.entries import new_entry_id
from server.records.store import EDITABLE, WRITE_RETRIES, RecordStore
from server.staff import Staff

log = logging.getLogger("kjcj.legacy")

CASES = "legacy_mismatches"
OPEN, LINKED, DISMISSED, MATCHED, WITHDRAWN = "open", "linked", "dismissed", "matched", "withdrawn"
STATE_LABELS = {
    OPEN: "待处理",
    LINKED: "已核实关联",
    DISMISSED: "已驳回",
    MATCHED: "本人已更正姓名",
    WITHDRAWN: "本人已更换证件号码",
}
NOTE_MAX = 200


def case_id(number: str, record_id: Any) -> str:
    return hashlib.sha256(f"{number}|{record_id}".encode()).hexdigest()[:24]


def list_name(region: str) -> str:
    return f"legacy-mismatches:{region}"


def _name(value: Any) -> str:
    return value if isinstance(value, str) else ""


def same_name(a: Any, b: Any) -> bool:
    return bool(_name(a).strip()) and comparable_name(_name(a)) == comparable_name(_name(b))


def legacy_section(reg: dict, number: str, by: str) -> dict:
    """The record's `legacy` section from a register row."""
    return {
        "source": "legacy_register",
        "archive_no": number,
        "matched_at": utcnow(),
        "matched_by": by,
        "archive_no_old": reg.get("archive_no_old"),
        "old_certificate_no": reg.get("old_certificate_no"),
        "first_work_date": reg.get("first_work_date"),
        "ce_years": list(reg.get("ce_years") or []),
        "past_employers": list(reg.get("past_employers") or []),
        "integrity_notes": list(reg.get("integrity_notes") or []),
    }


def work_entries(employers: list[dict], since: str | None) -> list[dict]:
    """The register's past employers that carry both dates, as work periods; none when they overlap
    or one starts before the first accounting work date (the record would refuse them)."""
    dated = sorted(
        (e for e in employers if isinstance(e, dict) and e.get("unit_name") and e.get("from") and e.get("to")),
        key=lambda e: e["from"],
    )
    if since and dated and dated[0]["from"] < since:
        return []
    for a, b in zip(dated, dated[1:]):
        if b["from"] <= a["to"]:
            return []
    taken: set[str] = set()
    return [{"id": new_entry_id(taken), "unit_name": e["unit_name"], "from": e["from"], "to": e["to"]} for e in dated]


def prefill(doc: dict, reg: dict, number: str, by: str) -> dict:
    """The `$set` that links a record to its register row."""
    legacy = legacy_section(reg, number, by)
    prefilled = []
    employment = dict(doc.get("employment") or {}) if isinstance(doc.get("employment"), dict) else {}
    if legacy["first_work_date"]:
        employment["accounting_since"] = legacy["first_work_date"]
        prefilled.append("employment.accounting_since")
    if legacy["old_certificate_no"]:
        employment["old_certificate_no"] = legacy["old_certificate_no"]
        prefilled.append("employment.old_certificate_no")
    sets: dict[str, Any] = {"employment": employment}
    if not doc.get("work_history"):
        entries = work_entries(legacy["past_employers"], legacy["first_work_date"])
        if entries:
            sets["work_history"] = entries
            prefilled += [f"work_history.{i}" for i in range(len(entries))]
            legacy["prefilled_work_history"] = [e["id"] for e in entries]
    legacy["prefilled"] = prefilled
    sets["legacy"] = legacy
    return sets


class LegacyMatcher:
    """The hook after a person's PATCH, and the staff's mismatch cases."""

    def __init__(self, services):
        self.services = services
        self.register = services.db[REGISTER]
        self.cases = services.db[CASES]
        self.store = services.get(RecordStore)

    def _list(self, region: str) -> SortedList:
        return SortedList(self.services.db, self.services.atomic, list_name(region))

    # -- the person's side -------------------------------------------------------------------

    async def after_patch(self, before: dict, doc: dict) -> dict:
        """Match, open a case, or unlink after a PATCH wrote `doc`; the record as it now is."""
        number = doc.get("archive_no")
        legacy = doc.get("legacy") if isinstance(doc.get("legacy"), dict) else None
        old_number = before.get("archive_no")
        if old_number and old_number != number:
            await self._close(case_id(old_number, doc["_id"]), WITHDRAWN, None)
        if legacy and legacy.get("archive_no") != number:
            doc = await self._write(doc, lambda d: ({}, {"legacy": ""})) or doc
            legacy = None
            log.info("legacy register: record %s unlinked (ID number changed)", doc["_id"])
        name = (doc.get("profile") or {}).get("name")
        renamed = name != (before.get("profile") or {}).get("name")
        if not number or legacy or not (number != old_number or renamed) or not _name(name).strip():
            return doc
        reg = await self.register.find_one({"_id": number})
        if reg is None:
            return doc
        if same_name(name, reg.get("name")):
            linked = await self.link_record(doc, reg, number, "auto")
            await self._close(case_id(number, doc["_id"]), MATCHED, None)
            return linked
        await self._open(reg, number, doc)
        return doc

    async def _write(self, doc: dict, change) -> dict | None:
        """Apply `change(doc) -> ($set, $unset)` with the record's version condition, retrying;
        None when the record is no longer editable or holds another number."""
        number = doc.get("archive_no")
        for _ in range(WRITE_RETRIES):
            sets, unsets = change(doc)
            update: dict = {"$set": sets}
            if unsets:
                update["$unset"] = unsets
            updated = await self.store.write(doc, update)
            if updated is not None:
                return updated
            doc = await self.store.records.find_one({"_id": doc["_id"]})
            if doc is None or doc.get("status") not in EDITABLE or doc.get("archive_no") != number:
                return None
        return None

    async def link_record(self, doc: dict, reg: dict, number: str, by: str) -> dict:
        """Write the `legacy` section and the prefill (see `prefill`); the record after it."""
        updated = await self._write(doc, lambda d: (prefill(d, reg, number, by), {}))
        if updated is None:
            raise Conflict("登记信息已提交或已更换证件号码，未能关联原会计档案", "record_not_linkable")
        await self.services.get(Lifecycle).readmodels.sync(updated["_id"])
        log.info("legacy register: record %s linked (%s)", updated["_id"], "auto" if by == "auto" else "staff")
        return updated

    async def _open(self, reg: dict, number: str, doc: dict) -> None:
        cid = case_id(number, doc["_id"])
        now = utcnow()
        region = reg.get("region_code") or ""
        record_name = _name((doc.get("profile") or {}).get("name"))
        before = await self.cases.find_one({"_id": cid})
        if before is not None and before.get("state") == OPEN:
            if before.get("record_name") != record_name:
                await self.cases.update_one({"_id": cid}, {"$set": {"record_name": record_name, "updated_at": now}})
                await self._list(before["region_code"]).put(
                    self._key(before), self._row({**before, "record_name": record_name})
                )
            return
        case = {
            "_id": cid,
            "state": OPEN,
            "archive_no": number,
            "record_id": doc["_id"],
            "region_code": region,
            "register_name": _name(reg.get("name")),
            "record_name": record_name,
            "opened_at": now,
            "updated_at": now,
            "resolved_by": None,
            "resolved_at": None,
            "note": None,
        }
        await self.cases.replace_one({"_id": cid}, case, upsert=True)
        await self._list(region).put(self._key(case), self._row(case))
        log.info("legacy register: name mismatch, case %s opened for record %s", cid, doc["_id"])

    @staticmethod
    def _key(case: dict) -> str:
        return f"{stamp(case['opened_at'])}|{case['_id']}"

    @staticmethod
    def _row(case: dict) -> dict:
        return {
            "id": case["_id"],
            "register_name_masked": mask_name(case.get("register_name")),
            "record_name_masked": mask_name(case.get("record_name")),
            "id_masked": mask_id_number(case.get("archive_no")),
            "opened_at": stamp(case.get("opened_at")),
        }

    async def _close(self, cid: str, state: str, username: str | None, note: str | None = None) -> dict | None:
        case = await self.services.atomic.update(
            self.cases,
            {"_id": cid, "state": OPEN},
            {"$set": {"state": state, "resolved_by": username, "resolved_at": utcnow(), "note": note}},
        )
        if case is not None:
            await self._list(case["region_code"]).remove(self._key(case))
            log.info("legacy register: case %s closed (%s)", cid, state)
        return case

    # -- the staff's side --------------------------------------------------------------------

    async def _case(self, staff: Staff, cid: str) -> dict:
        case = await self.cases.find_one({"_id": cid}) if isinstance(cid, str) else None
        if case is None or not staff.can_see(case.get("region_code")):
            raise NotFound("没有这条待核实记录", "mismatch_not_found")
        return case

    def view(self, case: dict) -> dict:
        """A case as staff see it: both names in full (they compare them), the number masked."""
        return {
            "id": case["_id"],
            "state": case.get("state"),
            "state_label": STATE_LABELS.get(case.get("state") or "", case.get("state")),
            "region_code": case.get("region_code"),
            "region_name": district_name(self.services.settings, case.get("region_code")),
            "register_name": case.get("register_name"),
            "record_name": case.get("record_name"),
            "id_masked": mask_id_number(case.get("archive_no")),
            "record_id": str(case.get("record_id")),
            "opened_at": case.get("opened_at"),
            "resolved_by": case.get("resolved_by"),
            "resolved_at": case.get("resolved_at"),
            "note": case.get("note"),
        }

    async def open_cases(self, staff: Staff, region: str | None, page: int, page_size: int) -> dict:
        """The open cases of one of the caller's districts (or of each, merged by time), a page."""
        regions = [region] if region else list(staff.regions)
        if region is not None and not staff.can_see(region):
            raise NotFound("没有该区", "region_not_found")
        lists = [self._list(r) for r in regions]
        if len(lists) == 1:
            entries = await lists[0].page((page - 1) * page_size, page_size)
            total = await lists[0].count()
        else:
            entries = await merged_page(lists, (page - 1) * page_size, page_size)
            total = sum(await counts(lists))
        return {"total": total, "page": page, "page_size": page_size, "items": [row for _, row in entries]}

    async def get(self, staff: Staff, cid: str) -> dict:
        return self.view(await self._case(staff, cid))

    async def resolve(self, staff: Staff, cid: str, action: object, note: object) -> dict:
        """Link the record after checking (`link`) or dismiss the case (`dismiss`)."""
        if action not in ("link", "dismiss"):
            raise Invalid([{"field": "action", "code": "invalid_action", "message": "请选择关联或驳回"}])
        if note is not None and (not isinstance(note, str) or len(note.strip()) > NOTE_MAX):
            raise Invalid([{"field": "note", "code": "invalid_note", "message": f"备注应为不超过{NOTE_MAX}字的文字"}])
        text = note.strip() if isinstance(note, str) and note.strip() else None
        case = await self._case(staff, cid)
        if case.get("state") != OPEN:
            raise Conflict("这条记录已经处理过了", "mismatch_closed")
        if action == "link":
            doc = await self.store.records.find_one({"_id": case["record_id"]})
            reg = await self.register.find_one({"_id": case["archive_no"]})
            if (
                doc is None
                or reg is None
                or doc.get("archive_no") != case["archive_no"]
                or doc.get("status") not in EDITABLE
            ):
                raise Conflict("该人员已提交、已更换证件号码或原档案已变更，不能关联", "record_not_linkable")
            await self.link_record(doc, reg, case["archive_no"], f"staff:{staff.username}")
        closed = await self._close(cid, LINKED if action == "link" else DISMISSED, staff.username, text)
        if closed is None:
            raise Conflict("这条记录已经处理过了", "mismatch_closed")
        return self.view(closed)
