"""The parts of an application as its applicant sees it that every kind with slots shares (unit
administrator, recovery, equivalence claim): its state, its files (no download URL), the decision
and the history (no staff names)."""

from __future__ import annotations

from collections.abc import Mapping

from server.documents.service import document_view
from server.lifecycle.store import Doc
from server.lifecycle.tables import Kind, step_label

APPLICANT_ONLY = {"applicant": "本人"}


def state_view(app: Doc, kind: Kind) -> Doc:
    """id, kind, status (with its label) and whether the applicant may still withdraw it."""
    return {
        "id": str(app["_id"]),
        "kind": kind.name,
        "status": app.get("status"),
        "status_label": kind.state_label(app.get("status")),
        "withdrawable": kind.transition(app.get("status") or "", "withdraw") is not None,
    }


def documents_view(app: Doc, slots: Mapping[str, str]) -> Doc:
    """The application's files by slot, labelled, without a download URL."""
    return {
        k: document_view(k, v) | {"url": None, "label": slots.get(k, k)}
        for k, v in (app.get("documents") or {}).items()
    }


def decision_view(app: Doc) -> Doc | None:
    """The decision (decision, reason, at), or None before one."""
    decision = app.get("decision") or {}
    return {k: decision.get(k) for k in ("decision", "reason", "at")} if decision else None


def history_view(app: Doc, kind: Kind, by: Mapping[str, str] = APPLICANT_ONLY) -> list[Doc]:
    """Each step: its label, the state it led to, when, and who by (`by` names roles; anyone else is 财政局)."""
    return [
        {
            "label": step_label(kind.name, h.get("from"), h.get("action")),
            "status_label": kind.state_label(h.get("status")),
            "at": h.get("at"),
            "by": by.get(h.get("role") or "", "财政局"),
            "reason": h.get("reason"),
        }
        for h in app.get("history") or []
    ]
