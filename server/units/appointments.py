"""Appointment registration (单位聘任会计人员入库备案): a unit registers an accountant it employs.

Inner Mongolia: "被…各级各类单位聘任为会计人员的，通过【单位聘任会计人员入库备案】模块进入。备案进入后，
必须在【会计人员信息采集】模块中进行信息采集". A verified administrator registers a person by ID number,
name, post and start date; the unit lists its registrations; when the person later claims that ID
number in their first collection (or an approved change names this unit), their current work
period is prefilled from the registration and the unit's confirmation is already given. The unit
can end an appointment: the person is 非在岗 with this unit from the end date (their period with it
is read as closed, `assessments_rules.periods_of(ended=...)`) and is told so in their inbox.

Documents (every read by `_id`, or a range of a sorted list, server/lists.py):

- `unit_appointments` (`_id` "<credit code>|<archive number>"): the truth about one unit and one
  person: {uscc, unit_name, archive_no, id_type, name, post, from, status "active" | "ended",
  token (the current registration's public id: an ObjectId string, so registration order),
  registered_at, registered_by (the administrator's openid), to?, ended_at?, ended_by?,
  end_reason?, notice_id?, prefilled_record?, history: [earlier registrations, ended]}.
  Registering is a unique-key insert, re-registering after an end and ending are conditional
  updates (`services.atomic`) naming the token and status seen.
- sorted list `unit_appointments` keyed "<credit code>|<token>": the unit's registrations in
  registration order, a row per registration: {no, name, post, from, to, status, at}.
- sorted list `appointments_by_person` keyed "<archive number>|<credit code>": the person's
  registrations, read when they claim the number: {token, unit_name, name, post, from, to, status}.

Both lists are written after the document and repeat its final values, so repeating a write
after a crash repairs them (`sync`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from faq.normalize import to_simplified
from server.accounts.sessions import SessionUser
from server.db import utcnow
from server.errors import Conflict, Invalid, NotFound
from server.lifecycle.archive import Archives
from server.lifecycle.readmodel import ReadModels
from server.lifecycle.store import LifecycleStore
from server.lists import SortedList
from server.masking import mask_id_number
from server.notify.notices import render
from server.notify.outbox import Outbox
from server.notify.sender import NoticeSender
from server.records.derived import derive
from server.records.entries import new_entry_id
from server.records.errors import FieldProblem
from server.records.identifiers import (
    archive_no_for,
    normalize_passport,
    parse_residence_permit,
    parse_resident_id,
    parse_travel_permit,
)
from server.records.names import normalize_name
from server.records.options import option_codes, option_label
from server.records.store import RecordStore
from server.units import answers
from server.units.assessments_rules import parse_date

log = logging.getLogger("kjcj.units")

APPOINTMENTS = "unit_appointments"
UNIT_LIST = "unit_appointments"
PERSON_LIST = "appointments_by_person"
ACTIVE, ENDED = "active", "ended"
STATUS_LABELS = {ACTIVE: "在聘", ENDED: "已解聘"}
REASON_MAX = 200
PAGE_MAX = 100
NOTICE = "appointment_ended"
RETRIES = 5
CHINA_TZ = dt.timezone(dt.timedelta(hours=8))

Doc = dict[str, Any]


def today() -> dt.date:
    """Today in China."""
    return dt.datetime.now(CHINA_TZ).date()


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def identity(id_type: str, raw: str, on: dt.date) -> str:
    """The archive number of an ID document (FieldProblem when the number is not valid for its type)."""
    if id_type == "resident_id":
        number = parse_resident_id(raw, on).number
    elif id_type == "residence_permit":
        number = parse_residence_permit(raw, on).number
    elif id_type == "passport":
        number = normalize_passport(raw)
    else:
        parse_travel_permit(id_type, raw)
        number = raw
    no = archive_no_for(id_type, number)
    if not no:
        raise FieldProblem("required", "请填写证件号码")
    return no


def check_registration(body: Mapping[str, Any], on: dt.date) -> Doc:
    """The normalised registration {id_type, archive_no, name, post, from}; Invalid (422) naming each
    bad field."""
    errors: list[dict] = []
    known = {"id_type", "id_number", "name", "post", "from"}
    errors += [_problem(k, "unknown_field", "不支持的字段") for k in body if k not in known]
    out: Doc = {}
    id_type = body.get("id_type") or "resident_id"
    if not isinstance(id_type, str) or id_type not in option_codes("id_types"):
        errors.append(_problem("id_type", "invalid_choice", "证件类型的取值不在可选范围内"))
    raw_no = body.get("id_number")
    if not isinstance(raw_no, str) or not raw_no.strip():
        errors.append(_problem("id_number", "required", "请填写证件号码"))
    elif len(raw_no) > 40:
        errors.append(_problem("id_number", "too_long", "证件号码过长"))
    elif isinstance(id_type, str) and id_type in option_codes("id_types"):
        try:
            out["archive_no"] = identity(id_type, raw_no, on)
            out["id_type"] = id_type
        except FieldProblem as exc:
            errors.append(_problem("id_number", exc.code, exc.message))
    name = body.get("name")
    try:
        if not isinstance(name, str):
            raise FieldProblem("required", "请填写姓名")
        out["name"] = normalize_name(to_simplified(name) if name.strip() else name)
    except FieldProblem as exc:
        errors.append(_problem("name", exc.code, exc.message))
    post = body.get("post")
    if not isinstance(post, str) or post not in option_codes("posts"):
        errors.append(_problem("post", "invalid_choice", "请选择会计岗位"))
    else:
        out["post"] = post
    start = parse_date(body.get("from")) if isinstance(body.get("from"), str) and len(body["from"]) == 10 else None
    if start is None:
        errors.append(_problem("from", "invalid_date", "聘任开始日期格式应为YYYY-MM-DD"))
    elif start > on:
        errors.append(_problem("from", "date_in_future", "聘任开始日期不能晚于今天"))
    elif start.year < 1950:
        errors.append(_problem("from", "date_too_early", "聘任开始日期不合理"))
    else:
        out["from"] = start.isoformat()
    if errors:
        raise Invalid(errors)
    return out


def check_end(body: Mapping[str, Any], start: str, on: dt.date) -> Doc:
    """{to, reason} of an end; Invalid when the date is not between the start and today."""
    errors = [_problem(k, "unknown_field", "不支持的字段") for k in body if k not in ("to", "reason")]
    raw = body.get("to")
    end = on if raw in (None, "") else (parse_date(raw) if isinstance(raw, str) and len(raw) == 10 else None)
    if end is None:
        errors.append(_problem("to", "invalid_date", "解聘日期格式应为YYYY-MM-DD"))
    elif end > on:
        errors.append(_problem("to", "date_in_future", "解聘日期不能晚于今天"))
    elif end.isoformat() < start:
        errors.append(_problem("to", "before_start", "解聘日期不能早于聘任开始日期"))
    reason = body.get("reason") or ""
    if not isinstance(reason, str) or len(reason.strip()) > REASON_MAX:
        errors.append(_problem("reason", "too_long", f"解聘说明不能超过{REASON_MAX}个字"))
    if errors:
        raise Invalid(errors)
    assert end is not None
    return {"to": end.isoformat(), "reason": reason.strip()}


def appointment_view(doc: Mapping[str, Any]) -> Doc:
    """One registration as the unit sees it (the ID number masked)."""
    status = doc.get("status") or ACTIVE
    return {
        "id": doc.get("token"),
        "id_number": mask_id_number(doc.get("archive_no") or doc.get("no")),
        "name": doc.get("name") or "",
        "post": doc.get("post"),
        "post_label": option_label("posts", doc.get("post") or "") or "",
        "from": doc.get("from"),
        "to": doc.get("to"),
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "registered_at": doc.get("registered_at") or doc.get("at"),
        "end_reason": doc.get("end_reason") or "",
    }


class Appointments:
    """Register, list and end a unit's appointments; prefill a person's record from them."""

    def __init__(self, services):
        self.services = services
        self.docs = services.db[APPOINTMENTS]
        self.unit_list = SortedList(services.db, services.atomic, UNIT_LIST)
        self.person_list = SortedList(services.db, services.atomic, PERSON_LIST)

    # -- the unit's side ---------------------------------------------------------------------

    async def register(self, user: SessionUser, unit: Doc, body: Mapping[str, Any]) -> Doc:
        """Register an accountant the unit employs (201); 409 `appointment_exists` when one is in force."""
        reg = check_registration(body, today())
        key = f"{unit['_id']}|{reg['archive_no']}"
        now = utcnow()
        fresh = {
            **reg,
            "uscc": unit["_id"],
            "unit_name": unit.get("name") or "",
            "status": ACTIVE,
            "token": str(ObjectId()),
            "registered_at": now,
            "registered_by": user.openid,
        }
        for _ in range(RETRIES):
            try:
                await self.docs.insert_one({"_id": key, **fresh, "history": []})
                doc: Doc | None = {"_id": key, **fresh}
            except DuplicateKeyError:
                held = await self.docs.find_one({"_id": key})
                if held is None:
                    continue
                if held.get("status") == ACTIVE:
                    raise Conflict(
                        "该人员已由本单位登记聘任，如需修改请先解聘后重新登记", "appointment_exists"
                    ) from None
                past = {
                    k: held.get(k) for k in ("token", "post", "from", "to", "registered_at", "ended_at", "end_reason")
                }
                unset = {k: "" for k in ("to", "ended_at", "ended_by", "end_reason", "notice_id", "prefilled_record")}
                doc = await self.services.atomic.update(
                    self.docs,
                    {"_id": key, "status": ENDED, "token": held.get("token")},
                    {"$set": fresh, "$unset": unset, "$push": {"history": past}},
                )
            if doc is not None:
                await self.sync(doc)
                log.info("unit %s registered appointment of %s", unit["_id"], mask_id_number(reg["archive_no"]))
                return appointment_view(doc)
        raise Conflict("操作过于频繁，请稍后重试", "appointment_busy")

    async def page(self, unit: Doc, after: str | None, limit: int) -> Doc:
        """The unit's registrations in registration order, `limit` after the id `after`."""
        prefix = f"{unit['_id']}|"
        lo = prefix + (after + "\x00" if after else "")
        rows = await self.unit_list.range(lo, prefix + "\uffff", limit + 1)
        items = [appointment_view({**row, "token": key.split("|", 1)[1]}) for key, row in rows[:limit]]
        return {"items": items, "next": items[-1]["id"] if len(rows) > limit and items else None}

    async def _by_token(self, unit: Doc, token: str) -> Doc:
        row = await self.unit_list.get(f"{unit['_id']}|{token}") if ObjectId.is_valid(token) else None
        doc = await self.docs.find_one({"_id": f"{unit['_id']}|{row['no']}"}) if row else None
        if doc is None or doc.get("token") != token:
            raise NotFound("没有找到该聘任登记", "appointment_not_found")
        return doc

    async def get(self, unit: Doc, token: str) -> Doc:
        """One registration of the unit (404 for another unit's)."""
        return appointment_view(await self._by_token(unit, token))

    async def end(self, user: SessionUser, unit: Doc, token: str, body: Mapping[str, Any]) -> Doc:
        """End an appointment: the person is 非在岗 with this unit from `to`; a notice tells them."""
        doc = await self._by_token(unit, token)
        if doc.get("status") != ACTIVE:
            raise Conflict("该聘任已解聘", "appointment_ended")
        end = check_end(body, doc.get("from") or "", today())
        ended = await self.services.atomic.update(
            self.docs,
            {"_id": doc["_id"], "token": token, "status": ACTIVE},
            {
                "$set": {
                    "status": ENDED,
                    "to": end["to"],
                    "end_reason": end["reason"],
                    "ended_at": utcnow(),
                    "ended_by": user.openid,
                }
            },
        )
        if ended is None:
            raise Conflict("该聘任已解聘", "appointment_ended")
        await self.sync(ended)
        await self._tell_person(ended)
        return appointment_view(ended)

    async def _tell_person(self, doc: Doc) -> None:
        """The end notice in the person's inbox (kept on their account), when they have a record."""
        holder = await self.holder(doc["archive_no"])
        if holder is None:
            return
        nid = f"appt-{doc['token']}-end"
        reason = f"{doc.get('unit_name') or '工作单位'}已于{doc['to']}解除对您的会计岗位聘任"
        if doc.get("end_reason"):
            reason += f"（{doc['end_reason']}）"
        notice = render(NOTICE, nid, holder["openid"], holder["record_id"], reason, doc.get("name") or "", "", utcnow())
        await self.services.get(Outbox).put(notice)
        store = self.services.get(LifecycleStore)
        await self.services.atomic.update(
            store.accounts, {"_id": holder["openid"]}, {"$addToSet": {"notices": nid}}, upsert=True
        )
        await self.services.atomic.update(self.docs, {"_id": doc["_id"]}, {"$set": {"notice_id": nid}})
        self.services.get(NoticeSender).poke()  # the subscribe message goes out now, not at the next poll

    async def holder(self, number: str) -> Doc | None:
        """{record_id, openid} of the record holding an archive number (an archive, or a draft's claim)."""
        store = self.services.get(LifecycleStore)
        archive = await store.archive(number)
        if archive is not None and archive.get("openid"):
            return {"record_id": archive.get("record_id"), "openid": archive["openid"]}
        claim = await self.services.db["archive_numbers"].find_one({"_id": number})
        app = await store.application(claim.get("record_id")) if claim else None
        if app is not None and app.get("openid") and app.get("archive_no") == number:
            return {"record_id": app["_id"], "openid": app["openid"]}
        return None

    async def sync(self, doc: Doc) -> None:
        """Write the two list rows of a registration from its document (idempotent)."""
        common = {k: doc.get(k) for k in ("name", "post", "from", "to", "status")}
        await self.unit_list.put(
            f"{doc['uscc']}|{doc['token']}",
            {"no": doc["archive_no"], **common, "at": doc.get("registered_at"), "end_reason": doc.get("end_reason")},
        )
        await self.person_list.put(
            f"{doc['archive_no']}|{doc['uscc']}", {"token": doc["token"], "unit_name": doc.get("unit_name"), **common}
        )

    # -- hooks (wired in server/app.py) -------------------------------------------------------

    async def after_patch(self, before: Doc, doc: Doc) -> Doc:
        """RecordService's hook after a written PATCH: a newly claimed ID number is prefilled from an
        appointment in force."""
        if doc.get("archive_no") and doc.get("archive_no") != before.get("archive_no"):
            return await self.prefill(doc) or doc
        return doc

    def register_effects(self, lifecycle) -> None:
        """After the effect of an approved change, confirm for a unit that registered the person."""
        applied = lifecycle.effects["apply_diff"]

        async def apply_diff(app: Doc, step: Doc) -> None:
            await applied(app, step)
            await self.after_change(app, step)

        lifecycle.register_effect("apply_diff", apply_diff)

    # -- the person's side -------------------------------------------------------------------

    async def of_person(self, number: str | None) -> list[Doc]:
        """Every unit's registration of an archive number: [{uscc, token, unit_name, name, post, from, to, status}]."""
        if not number:
            return []
        rows = await self.person_list.range(f"{number}|", f"{number}|\uffff", 200)
        return [{"uscc": key.split("|", 1)[1], **row} for key, row in rows]

    async def ended_units(self, number: str | None) -> dict[str, dt.date]:
        """{credit code: end date} of the units that ended this person's appointment (and did not register
        them again)."""
        out: dict[str, dt.date] = {}
        for row in await self.of_person(number):
            end = parse_date(row.get("to")) if row.get("status") == ENDED else None
            if end is not None:
                out[row["uscc"]] = end
        return out

    async def person_view(self, number: str | None) -> list[Doc]:
        """What the person sees of the units' registrations of them."""
        return [
            {
                "unit_name": row.get("unit_name") or "",
                "unit_credit_code": row["uscc"],
                "post": row.get("post"),
                "post_label": option_label("posts", row.get("post") or "") or "",
                "from": row.get("from"),
                "to": row.get("to"),
                "status": row.get("status"),
                "status_label": STATUS_LABELS.get(row.get("status") or "", ""),
            }
            for row in await self.of_person(number)
        ]

    async def prefill(self, doc: Doc) -> Doc | None:
        """Prefill a first collection from an appointment in force for its archive number.

        Called when the person claims an ID number. When the record has no current work period and
        no period running past the registration's start, the latest registration in force (whose
        name matches the record's, if the record has one) becomes the current period: unit name and
        code, post, start date. The unit's confirmation is then given (`confirm_from`). Returns the
        record after the write, or None when nothing was prefilled."""
        store = self.services.get(RecordStore)
        for _ in range(RETRIES):
            rows = [r for r in await self.of_person(doc.get("archive_no")) if r.get("status") == ACTIVE]
            name = ((doc.get("profile") or {}).get("name") or "").strip()
            if name:
                rows = [r for r in rows if to_simplified(r.get("name") or "") == to_simplified(name)]
            if not rows or doc.get("status") not in ("draft", "rejected"):
                return None
            best = max(rows, key=lambda r: (r.get("from") or "", r["uscc"]))
            history = [dict(e) for e in doc.get("work_history") or [] if isinstance(e, dict)]
            if any(not e.get("to") or (e.get("to") or "") >= (best.get("from") or "") for e in history):
                return None  # the person declared a current or overlapping period: theirs stands
            entry = {
                "id": new_entry_id({str(e.get("id")) for e in history}),
                "unit_name": best.get("unit_name") or "",
                "unit_credit_code": best["uscc"],
                "post": best.get("post"),
                "from": best.get("from"),
            }
            history.append(entry)
            employment = {**(doc.get("employment") or {})}
            for k, v in derive({**doc, "work_history": history})["employment"].items():
                if v is None:
                    employment.pop(k, None)
                else:
                    employment[k] = v
            updated = await store.write(doc, {"$set": {"work_history": history, "employment": employment}})
            if updated is not None:
                await self.services.atomic.update(
                    self.docs,
                    {"_id": f"{best['uscc']}|{doc['archive_no']}", "token": best["token"]},
                    {"$set": {"prefilled_record": doc["_id"]}},
                )
                await self.confirm_from(updated, best)
                log.info("record %s prefilled from unit %s", doc["_id"], best["uscc"])
                return updated
            doc = await store.load(doc["_id"], doc["openid"])
        return None

    async def confirm_from(self, record: Doc, row: Doc) -> None:
        """Give the unit's confirmation (报备确认, server/units/answers.py) of a person it registered: the
        answer `confirmed` on their first collection, by the registration (idempotent on its token)."""
        current = answers.answer_for(record, row["uscc"])
        if current and current.get("state") == "confirmed":
            return
        entry = {
            "id": f"appt-{row['token']}",
            "uscc": row["uscc"],
            "unit_name": row.get("unit_name") or "",
            "state": "confirmed",
            "reason": "",
            "at": utcnow(),
            "by": f"appointment:{row['token']}",
        }
        await self.services.get(Archives).record_unit_answer(record["_id"], entry)
        await self.services.get(ReadModels).sync(record["_id"])

    async def after_change(self, app: Doc, step: Doc) -> None:
        """After an approved change: when the archive's employer is now a unit that registered this person
        (an appointment in force), that unit's confirmation is given (the change named this unit)."""
        store = self.services.get(LifecycleStore)
        archive = await store.archive(app.get("archive_no"))
        unit = answers.employer((archive or {}).get("data"))
        if archive is None or unit is None:
            return
        row = next(
            (r for r in await self.of_person(archive["_id"]) if r["uscc"] == unit[0] and r.get("status") == ACTIVE),
            None,
        )
        record = await store.application(archive.get("record_id")) if row else None
        if row is not None and record is not None:
            await self.confirm_from(record, row)
