"""The payload rules of the three transfer kinds (tables in server/lifecycle/tables.py).

- `kind` in the API: "within" (区内调转), "out" (调出区外), "in" (区外调入).
- The reason decides the proof (the national platform's rule): a new employer → the labour
  contract or appointment letter; study → the student card; residence → a residence proof.
- A transfer in also needs the transfer sheet (调转信息表) issued by the old region.
- During a freeze (setting TRANSFER_FREEZE: date ranges, China time) no transfer is accepted
  (seed 000: "在采集时间内，全市停止一切省内、省外调转工作").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.errors import Conflict
from server.lifecycle.tables import TRANSFER_IN, TRANSFER_OUT, TRANSFER_WITHIN

API_KINDS = {"within": TRANSFER_WITHIN.name, "out": TRANSFER_OUT.name, "in": TRANSFER_IN.name}
KIND_LABELS = {"within": TRANSFER_WITHIN.label, "out": TRANSFER_OUT.label, "in": TRANSFER_IN.label}
PROOF_SLOT = "transfer_proof"
SHEET_SLOT = "transfer_sheet"
SLOTS = (PROOF_SLOT, SHEET_SLOT)
SLOT_LABELS = {PROOF_SLOT: "调转证明材料", SHEET_SLOT: "原地区调转信息表"}
NOTE_MAX = 200
REGION_TEXT_MAX = 60
CHINA = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    proof: str  # what proof the reason needs


REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason("new_employer", "工作单位变动", "新单位的劳动合同或聘用文件"),
        Reason("study", "入学深造", "学生证"),
        Reason("residence", "居住地变动", "居住证明（居住证、户口簿或房产证明）"),
    )
}


def option_lists() -> dict[str, list[dict[str, str]]]:
    """Transfer kinds, reasons and the proof each reason needs (code = the reason) for GET /api/v1/options."""
    return {
        "transfer_kinds": [{"code": k, "label": v} for k, v in KIND_LABELS.items()],
        "transfer_reasons": [{"code": r.code, "label": r.label} for r in REASONS.values()],
        "transfer_proofs": [{"code": r.code, "label": r.proof} for r in REASONS.values()],
    }


def parse_freeze(text: str) -> list[tuple[dt.date, dt.date]]:
    """TRANSFER_FREEZE "2027-03-01..2027-04-30,2027-09-01..2027-09-15" as inclusive date ranges."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        start, sep, end = part.partition("..")
        if not sep:
            raise ValueError(f"TRANSFER_FREEZE: {part!r} is not START..END")
        first, last = dt.date.fromisoformat(start.strip()), dt.date.fromisoformat(end.strip())
        if last < first:
            raise ValueError(f"TRANSFER_FREEZE: {part!r} ends before it starts")
        out.append((first, last))
    return out


def _day(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def freeze_view(text: str) -> list[dict[str, str]]:
    """The freeze ranges for the mini-program (ISO dates and a label)."""
    return [
        {"start": a.isoformat(), "end": b.isoformat(), "label": f"{_day(a)}至{_day(b)}"} for a, b in parse_freeze(text)
    ]


def check_not_frozen(text: str, now: dt.datetime) -> None:
    """409 `transfer_frozen` naming the dates when today (China time) is in a freeze."""
    today = now.astimezone(CHINA).date()
    for first, last in parse_freeze(text):
        if first <= today <= last:
            raise Conflict(
                f"信息采集期间（{_day(first)}至{_day(last)}）暂停办理调转，请在此之后再申请",
                "transfer_frozen",
                start=first.isoformat(),
                end=last.isoformat(),
            )
