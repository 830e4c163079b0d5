"""Transfers (调转), the applicant's side and the sheet: list, stage files, apply, withdraw,
download the transfer sheet; and the guard of the tables' creation rows.

One request makes an application: `{kind, reason, note, to_region | to_region_name,
from_region_name}` after the files were staged one by one (POST .../files?slot=...), as
`wx.uploadFile` sends them. Checks before anything is written, each a 4xx naming the cause:
the freeze, an archive to transfer (or, for a transfer in, none here and a complete record),
the destination, the proof the reason needs (and the old region's sheet for a transfer in),
and one open application at a time (the archive's reservation, or the held record).
"""

from __future__ import annotations

import logging
from typing import Any

from bson import ObjectId

from server.accounts.sessions import SessionUser
from server.campaigns import Campaigns
from server.db import utcnow
from server.districts import deployment_districts, district_name
from server.documents.service import document_view
from server.errors import Conflict, Invalid, NotFound, Unavailable
from server.lifecycle import staging
from server.lifecycle.archive import Archives, record_data
from server.lifecycle.engine import Actor, Lifecycle, not_found
from server.lifecycle.store import Doc, LifecycleStore
from server.lifecycle.tables import KINDS, TRANSFER_IN, TRANSFER_KINDS, TRANSFER_OUT, step_label
from server.records.fields import LISTS, SECTIONS
from server.records.store import RecordStore
from server.staff.model import Staff
from server.transfers import rules, sheets
from server.transfers.printer import SheetPrinter
from server.transfers.rules import (
    API_KINDS,
    NOTE_MAX,
    PROOF_SLOT,
    REASONS,
    REGION_TEXT_MAX,
    SHEET_SLOT,
    SLOT_LABELS,
    SLOTS,
)

log = logging.getLogger("kjcj.transfers")
BODY_FIELDS = ("kind", "reason", "note", "to_region", "to_region_name", "from_region_name", "commitment")
API_KIND_OF = {v: k for k, v in API_KINDS.items()}
HELD_RECORD_GUARDS = ("commitment", "complete", "eligible")  # a transfer in submits the filled record


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def _text(body: dict, field: str, limit: int, problems: list, required: str | None = None) -> str:
    value = body.get(field)
    if value is None or value == "":
        if required:
            problems.append(_problem(field, "required", required))
        return ""
    if not isinstance(value, str) or len(value) > limit:
        problems.append(_problem(field, "invalid", f"须为不超过{limit}字的文字"))
        return ""
    return " ".join(value.split())


class TransferService:
    """The applicant's transfers, and the transfer sheet for the applicant and staff."""

    def __init__(self, services):
        self.services = services
        self.settings = services.settings
        self.lifecycle = services.get(Lifecycle)
        self.store = services.get(LifecycleStore)
        self.records = services.get(RecordStore)
        self.archives = services.get(Archives)
        self.districts = deployment_districts(services.settings)

    def register_guards(self, lifecycle: Lifecycle) -> None:

        campaigns = self.services.get(Campaigns)

        async def transfer_allowed(app: Doc, body: dict) -> None:
            now = utcnow()
            rules.check_not_frozen(self.settings.transfer_freeze, now)
            await campaigns.check_transfers_allowed(now)

        lifecycle.register_guard("transfer_allowed", transfer_allowed)

    # --- the applicant's side -------------------------------------------------------------

    def view(self, app: Doc) -> Doc:
        """A transfer as its applicant sees it (steps by office, not by staff name)."""
        kind = self.lifecycle.kind(app)
        payload = app.get("payload") or {}
        approved_out = kind.name == TRANSFER_OUT.name and app.get("status") == "approved"
        history = []
        for h in app.get("history") or []:
            t = kind.transition(h.get("from") or "", h.get("action") or "")
            office = (self.districts.get(app.get(t.where) or "") or {}).get("office") if t else None
            history.append(
                {
                    "status": h.get("status"),
                    "status_label": kind.state_label(h.get("status")),
                    "label": step_label(kind.name, h.get("from"), h.get("action")),
                    "at": h.get("at"),
                    "by": "本人" if h.get("role") == "applicant" else office or "财政局",
                    "reason": h.get("reason"),
                }
            )
        return {
            "id": str(app["_id"]),
            "kind": API_KIND_OF.get(kind.name, kind.name),
            "kind_label": kind.label,
            "status": app.get("status"),
            "status_label": kind.state_label(app.get("status")),
            "open": app.get("status") in kind.open_states,
            "withdrawable": kind.transition(app.get("status") or "", "withdraw") is not None,
            "version": app.get("version"),
            "from_region": app.get("region_code") if kind.name != TRANSFER_IN.name else None,
            "from_region_name": payload.get("from_region_name") or district_name(self.settings, app.get("region_code")),
            "to_region": app.get("to_region"),
            "to_region_name": payload.get("to_region_name") or district_name(self.settings, app.get("to_region")),
            "reason": payload.get("reason"),
            "reason_label": payload.get("reason_label"),
            "note": payload.get("note") or "",
            "documents": {k: document_view(k, v) | {"url": None} for k, v in (app.get("documents") or {}).items()},
            "decision": {k: (app.get("decision") or {}).get(k) for k in ("decision", "reason", "at")}
            if app.get("decision")
            else None,
            "history": history,
            "sheet": {"url": f"/api/v1/me/transfers/{app['_id']}/sheet.pdf"} if approved_out else None,
            "submitted_at": app.get("submitted_at"),
            "decided_at": app.get("decided_at"),
        }

    async def _mine(self, user: SessionUser) -> tuple[Doc, Doc | None, list[Doc]]:
        """(the caller's record, their archive or None, their transfers oldest first)."""
        record = await self.records.load(user.record_id, user.openid)
        archive = await self.store.archive_of(record)
        ids = list((archive or {}).get("changes") or []) + list(record.get("transfers_in") or [])
        apps = [await self.store.application(i) for i in dict.fromkeys(ids)]
        mine = [a for a in apps if a and a.get("kind") in TRANSFER_KINDS and a.get("openid") == user.openid]
        return record, archive, sorted(mine, key=lambda a: a["_id"])

    async def overview(self, user: SessionUser) -> Doc:
        """The caller's transfers (newest first), staged files and the rules."""
        record, archive, apps = await self._mine(user)
        account = await self.store.account(user.openid) or {}
        now = utcnow()

        campaigns = self.services.get(Campaigns)
        try:
            rules.check_not_frozen(self.settings.transfer_freeze, now)
            await campaigns.check_transfers_allowed(now)
            frozen = None
        except Conflict as exc:
            frozen = exc.message
        open_app = next((a for a in reversed(apps) if a.get("status") in self.lifecycle.kind(a).open_states), None)
        return {
            "transfers": [self.view(a) for a in reversed(apps)],
            "open": str(open_app["_id"]) if open_app else None,
            "staged": {slot: staging.staged_view(slot, account.get(slot), SLOT_LABELS[slot]) for slot in SLOTS},
            "archive": {
                "archive_no_tail": archive["_id"][-4:],
                "region_code": archive.get("region_code"),
                "region_name": district_name(self.settings, archive.get("region_code")),
                "transferred_out": bool(archive.get("transferred_out")),
            }
            if archive
            else None,
            "rules": {
                **rules.option_lists(),
                "freeze": rules.freeze_view(self.settings.transfer_freeze) + await campaigns.freeze_view(now),
                "frozen": frozen,
                "slots": [{"code": s, "label": SLOT_LABELS[s]} for s in SLOTS],
            },
        }

    async def stage_file(self, user: SessionUser, slot: Any, data: bytes) -> Doc:
        """Keep a proof (or the old region's sheet) for the caller's next transfer."""
        return await staging.stage_slot(self.services, user, SLOT_LABELS, slot, data)

    def _parse(self, body: Any) -> Doc:
        """The request's fields, checked (Invalid naming every bad one)."""
        if not isinstance(body, dict):
            raise Invalid([_problem("", "invalid_type", "请求内容应为JSON对象")])
        problems = [_problem(k, "unknown_field", "不支持的字段") for k in body if k not in BODY_FIELDS]
        api_kind = body.get("kind") if isinstance(body.get("kind"), str) else None
        if api_kind not in API_KINDS:
            problems.append(
                _problem("kind", "invalid", "调转类型只能是 within（区内调转）、out（调出区外）、in（区外调入）")
            )
        reason = body.get("reason") if isinstance(body.get("reason"), str) else None
        if reason not in REASONS:
            labels = "、".join(f"{r.code}（{r.label}）" for r in REASONS.values())
            problems.append(_problem("reason", "invalid", f"调转原因只能是 {labels}"))
        note = _text(body, "note", NOTE_MAX, problems)
        to_region = body.get("to_region")
        to_name = from_name = ""
        if to_region is not None and not isinstance(to_region, str):
            problems.append(_problem("to_region", "invalid", "调入地区代码应为6位数字文字"))
            to_region = None
        if api_kind in ("within", "in") and to_region is not None and to_region not in self.districts.codes:
            problems.append(_problem("to_region", "invalid", "调入地区代码不正确"))
        if api_kind == "within" and to_region is None:
            problems.append(_problem("to_region", "required", "请选择调入的区"))
        if api_kind == "out":
            to_name = _text(body, "to_region_name", REGION_TEXT_MAX, problems, "请填写调入的省市区")
        if api_kind == "in":
            from_name = _text(body, "from_region_name", REGION_TEXT_MAX, problems, "请填写原管理地区")
        if problems or not isinstance(api_kind, str) or not isinstance(reason, str):
            raise Invalid(problems)
        kind = API_KINDS[api_kind]
        return {
            "kind": kind,
            "reason": reason,
            "reason_label": REASONS[reason].label,
            "note": note,
            "to_region": to_region,
            "to_region_name": to_name or (self.districts.get(to_region or "") or {}).get("name", ""),
            "from_region_name": from_name,
        }

    def _files(self, account: Doc, parsed: Doc) -> Doc:
        """The staged files the transfer needs; 422 naming the missing ones."""
        proof, sheet = account.get(PROOF_SLOT), account.get(SHEET_SLOT)
        problems = []
        if not proof:
            need = REASONS[parsed["reason"]].proof
            problems.append(
                _problem(PROOF_SLOT, "proof_required", f"调转原因为“{parsed['reason_label']}”，请先上传{need}")
            )
        if parsed["kind"] == TRANSFER_IN.name and not sheet:
            problems.append(_problem(SHEET_SLOT, "sheet_required", "区外调入请先上传原管理地区出具的调转信息表"))
        if problems:
            raise Invalid(problems, problems[0]["message"], problems[0]["code"])
        return {PROOF_SLOT: proof, **({SHEET_SLOT: sheet} if parsed["kind"] == TRANSFER_IN.name else {})}

    async def submit(self, user: SessionUser, body: Any) -> Doc:
        """Apply for a transfer; 4xx (and nothing written) when a rule refuses it."""
        parsed = self._parse(body)
        rules.check_not_frozen(self.settings.transfer_freeze, utcnow())  # before asking for files
        await self.services.get(Campaigns).check_transfers_allowed()  # a campaign window's freeze too
        record = await self.records.load(user.record_id, user.openid)
        account = await self.store.account(user.openid) or {}
        documents = self._files(account, parsed)
        payload = {k: parsed[k] for k in ("reason", "reason_label", "note", "to_region_name", "from_region_name")}
        app_id, now = ObjectId(), utcnow()
        base = {
            "_id": app_id,
            "kind": parsed["kind"],
            "openid": user.openid,
            "record_id": record["_id"],
            "payload": payload,
            "documents": documents,
            "submitted_at": now,
            "decided_at": None,
            "decision": None,
        }
        if parsed["kind"] == TRANSFER_IN.name:
            app = await self._transfer_in(record, base, parsed, body)
        else:
            app = await self._transfer_of_archive(record, base, parsed, body)
        for slot, entry in documents.items():
            await staging.consume(self.services, user.openid, slot, entry)
        return self.view(app)

    async def _transfer_of_archive(self, record: Doc, base: Doc, parsed: Doc, body: dict) -> Doc:
        """A transfer within or out: reserve the archive (one open application), then create."""
        archive = await self.store.archive_of(record)
        if archive is None:
            raise Conflict("信息采集审核通过、建立会计人员档案后才能申请调转", "archive_missing")
        if parsed["kind"] != TRANSFER_OUT.name and parsed["to_region"] == archive.get("region_code"):
            raise Invalid(
                [_problem("to_region", "same_region", "调入的区与现管理地区相同，无需调转")], None, "same_region"
            )
        doc = {**base, "archive_no": archive["_id"], "region_code": archive.get("region_code")}
        if parsed["kind"] != TRANSFER_OUT.name:
            doc["to_region"] = parsed["to_region"]
        await self.archives.open_change(archive["_id"], base["_id"])
        try:
            return await self.lifecycle.create(doc, "submit", Actor.applicant(base["openid"]), body)
        except BaseException:
            await self.archives.release({"_id": base["_id"], "archive_no": archive["_id"]})
            raise

    async def _transfer_in(self, record: Doc, base: Doc, parsed: Doc, body: dict) -> Doc:
        """A transfer in: the filled record is checked and held (one open application), then create."""
        if await self.store.archive_of(record) is not None:
            raise Conflict("您在本地已有会计人员档案，无需办理区外调入；变更管理地区请申请区内调转", "archive_exists")
        if record.get("status") not in ("draft", "rejected") or record.get("transfer_in"):
            raise Conflict("您的信息采集正在审核或办理中，请等待结果后再申请区外调入", "application_open")
        region = parsed["to_region"] or record.get("region_code")
        if record.get("region_code") and region != record.get("region_code"):
            message = "调入的区须与信息采集表中填写的所在区一致，请先修改所在区"
            raise Invalid([_problem("to_region", "region_mismatch", message)], message, "region_mismatch")
        for name in HELD_RECORD_GUARDS:
            await self.lifecycle.guards[name](record, body)
        doc = {
            **base,
            **{k: v for k, v in record_data(record).items() if k in SECTIONS or k in LISTS},  # lists: #14
            "region_code": region,
            "to_region": region,
            "archive_no": record.get("archive_no"),
            "photo": record.get("photo"),
            "rare_name": record.get("rare_name"),
        }
        doc["payload"] = {**doc["payload"], "to_region_name": district_name(self.settings, region)}
        held = await self.services.atomic.update(
            self.store.applications,
            {"_id": record["_id"], "status": {"$in": ["draft", "rejected"]}, "transfer_in": None},
            {"$set": {"transfer_in": base["_id"]}, "$push": {"transfers_in": base["_id"]}},
        )
        if held is None:
            raise Conflict("您的信息采集正在审核或办理中，请等待结果后再申请区外调入", "application_open")
        try:
            return await self.lifecycle.create(doc, "submit", Actor.applicant(base["openid"]), body)
        except BaseException:
            await self.services.atomic.update(
                self.store.applications,
                {"_id": record["_id"], "transfer_in": base["_id"]},
                {"$set": {"transfer_in": None}, "$pull": {"transfers_in": base["_id"]}},
            )
            raise

    async def withdraw(self, user: SessionUser, app_id: str) -> Doc:
        """Withdraw one of the caller's transfers before its first decision."""
        app = await self.store.application(app_id)
        if app is None or app.get("openid") != user.openid or app.get("kind") not in TRANSFER_KINDS:
            raise NotFound("调转申请不存在", "transfer_not_found")
        return self.view(await self.lifecycle.step(app, "withdraw", Actor.applicant(user.openid)))

    # --- the transfer sheet ---------------------------------------------------------------

    async def sheet_for_applicant(self, user: SessionUser, app_id: str) -> tuple[str, bytes]:
        app = await self.store.application(app_id)
        if app is None or app.get("openid") != user.openid:
            raise NotFound("调转申请不存在", "transfer_not_found")
        return await self._sheet(app)

    async def sheet_for_staff(self, staff: Staff, app_id: str) -> tuple[str, bytes]:
        app = await self.lifecycle.visible(Actor.reviewer(staff), app_id)
        return await self._sheet(app)

    async def _sheet(self, app: Doc) -> tuple[str, bytes]:
        """(file name, PDF) of an approved transfer out's sheet: the stored one, or rendered once."""
        from server.transfers.sheet import SheetFontMissing  # fpdf2: loaded when printing

        if app.get("kind") != TRANSFER_OUT.name:
            raise not_found()
        archive = await self.store.archive(app.get("archive_no"))
        out = (archive or {}).get("transferred_out") or {}
        if app.get("status") != "approved" or archive is None or out.get("application_id") != app["_id"]:
            raise Conflict("调出申请审核通过后才能下载调转信息表", "sheet_not_ready")
        number = out["sheet_no"]
        held = await self.services.db[sheets.SHEETS].find_one({"_id": number}, {"pdf": 1})
        if held and (held.get("pdf") or {}).get("file_id"):
            return f"{number}.pdf", await self.services.files.read(held["pdf"]["file_id"])
        photo = None
        if (archive.get("photo") or {}).get("file_id"):
            photo = await self.services.files.read(archive["photo"]["file_id"])
        content = sheets.sheet_content(self.services, app, archive, number, photo)
        try:
            pdf = await self.services.get(SheetPrinter).render(content)
        except SheetFontMissing as exc:
            log.error("transfer sheet: %s", exc)
            raise Unavailable("调转信息表暂时无法生成，请稍后重试或联系财政局", "sheet_unavailable") from exc
        await sheets.keep_pdf(self.services, number, pdf)
        return f"{number}.pdf", pdf


def kinds_for_openapi() -> dict[str, str]:
    """Every transfer kind's API name with its label."""
    return {API_KIND_OF[k]: KINDS[k].label for k in TRANSFER_KINDS}
