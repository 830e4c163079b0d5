"""Every kind of application and its whole life, one transition table per kind.

Read a kind top to bottom: its states (with the labels people see), which states are still
open, and its rows: (state, action) -> next state, who may act, the guard checked before,
the effect on the archive and the notice that goes out. Queues, the admin page's buttons,
audit entries, chat status answers, OpenAPI enums and notices are derived from these
tables (see `server/lifecycle/engine.py`); nothing else writes states or transitions out.

Adding a kind: write its `Kind(...)` below and register it in `KINDS`, then its payload
rules (what the applicant sends: `server/records/` for the first collection,
`server/lifecycle/changes.py` for a change) and the guards its rows name.

Actors: "applicant" (the person, from the mini-program), "reviewer" (staff whose districts
include the district the row's `where` names: the application's `region_code` unless said
otherwise, e.g. a transfer's destination `to_region`; a district reviewer or a city
administrator), "unit" (a verified administrator of the unit a unit_admin application names,
checked by server/units/access.py), "system" (a step another application's effect takes). Effects, registered
by name with the engine: "create_archive" (the first collection becomes the archive,
version 1), "apply_diff" (an approved change becomes a new archive version), and the
transfers' "move_archive", "transfer_out", "hold_record", "admit_record", "return_record"
(server/transfers/effects.py), or None.

A kind that `holds_archive` reserves the archive while it is open (the archive's
`open_change`): one such application at a time per person, whatever its kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Transition:
    """One row of a kind's table."""

    state: str
    action: str
    to: str
    actor: str
    label: str  # the action as a button or a history line reads it
    guards: tuple[str, ...] = ()  # names checked by the engine before the step is written
    effect: str | None = None
    notice: str | None = None  # key of the notice template (server/notify/notices.py)
    needs_reason: bool = False
    where: str = "region_code"  # the application field naming the district whose reviewers take this row


@dataclass(frozen=True)
class Kind:
    """An application kind: its states and its table."""

    name: str
    label: str
    states: dict[str, str]  # state -> label, in life order
    open_states: frozenset[str]  # states in which the application is still waiting for someone
    editable_states: frozenset[str]  # states in which the applicant may still edit the payload
    table: tuple[Transition, ...]
    holds_archive: bool = False  # while open, the archive waits for it (one such application at a time)
    rows: dict[tuple[str, str], Transition] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows = {(t.state, t.action): t for t in self.table}
        assert len(rows) == len(self.table), f"{self.name}: a (state, action) appears twice"
        for t in self.table:  # state "" is "not yet created": the rows that create an application
            assert (t.state in self.states or t.state == "") and t.to in self.states, (self.name, t)
        object.__setattr__(self, "rows", rows)

    def transition(self, state: str, action: str) -> Transition | None:
        """The row for (state, action), or None when the table has none."""
        return self.rows.get((state, action))

    def actions(self, state: str, actor: str) -> list[Transition]:
        """The rows an actor may take from a state, in table order."""
        return [t for t in self.table if t.state == state and t.actor == actor]

    def state_label(self, state: str | None) -> str:
        """The label of a state (unknown ones as they are)."""
        return self.states.get(state or "", state or "")

    @property
    def review_states(self) -> list[str]:
        """States in which a reviewer has something to do (the review queue's default)."""
        return [s for s in self.states if any(t.state == s and t.actor == "reviewer" for t in self.table)]


# The tables read best as one row per transition: the formatter leaves them as written.
# fmt: off
COLLECTION = Kind(
    name="collection", label="信息采集",
    states={"draft": "填写中", "submitted": "待审核", "approved": "已通过", "rejected": "已退回",
            "transferring": "区外调入办理中"},
    open_states=frozenset({"draft", "submitted", "rejected", "transferring"}),
    editable_states=frozenset({"draft", "rejected"}),
    table=(
        Transition("", "create", "draft", "applicant", "开始填写"),
        Transition("draft", "submit", "submitted", "applicant", "提交",
                   guards=("collection_window", "commitment", "complete", "eligible")),
        Transition("rejected", "submit", "submitted", "applicant", "重新提交",
                   guards=("collection_window", "commitment", "complete", "eligible")),
        Transition("submitted", "approve", "approved", "reviewer", "通过", guards=("unit_confirmation",),
                   effect="create_archive", notice="collection_approved"),
        Transition("submitted", "reject", "rejected", "reviewer", "退回",
                   notice="collection_rejected", needs_reason=True),
        # a transfer in (TRANSFER_IN) holds the filled record while it is decided, and admits it
        Transition("draft", "hold", "transferring", "system", "申请区外调入"),
        Transition("rejected", "hold", "transferring", "system", "申请区外调入"),
        Transition("transferring", "admit", "approved", "system", "区外调入通过", effect="create_archive"),
        Transition("transferring", "return", "draft", "system", "区外调入未办结"),
    ),
)

CHANGE = Kind(
    name="change", label="信息变更",
    states={"ordered": "待本人提交（责令改正）", "submitted": "待审核", "approved": "已通过", "rejected": "已退回",
            "withdrawn": "已撤回"},
    open_states=frozenset({"ordered", "submitted"}),
    editable_states=frozenset({"ordered"}),
    holds_archive=True,
    table=(
        Transition("", "submit", "submitted", "applicant", "申请变更"),
        Transition("", "order", "ordered", "reviewer", "责令改正", notice="correction_order", needs_reason=True),
        Transition("ordered", "submit", "submitted", "applicant", "提交变更"),
        Transition("submitted", "withdraw", "withdrawn", "applicant", "撤回"),
        Transition("submitted", "approve", "approved", "reviewer", "通过",
                   effect="apply_diff", notice="change_approved"),
        Transition("submitted", "reject", "rejected", "reviewer", "退回",
                   notice="change_rejected", needs_reason=True),
    ),
)

# Transfers (调转): seed 002's 区内调转, 调出区外 and 区外调入. Within the deployment the origin
# district releases and then the destination district (`to_region`) accepts; the archive moves.
TRANSFER_WITHIN = Kind(
    name="transfer_within", label="区内调转",
    states={"submitted": "待调出地审核", "released": "待调入地接收", "accepted": "已调入",
            "refused": "调出地不同意", "declined": "调入地不同意", "withdrawn": "已撤回"},
    open_states=frozenset({"submitted", "released"}),
    editable_states=frozenset(),
    holds_archive=True,
    table=(
        Transition("", "submit", "submitted", "applicant", "申请调转", guards=("transfer_allowed",)),
        Transition("submitted", "withdraw", "withdrawn", "applicant", "撤回"),
        Transition("submitted", "approve", "released", "reviewer", "同意调出", notice="transfer_released"),
        Transition("submitted", "reject", "refused", "reviewer", "不同意调出",
                   notice="transfer_refused", needs_reason=True),
        Transition("released", "approve", "accepted", "reviewer", "同意调入", where="to_region",
                   effect="move_archive", notice="transfer_accepted"),
        Transition("released", "reject", "declined", "reviewer", "不同意调入", where="to_region",
                   notice="transfer_declined", needs_reason=True),
    ),
)

# Out of the deployment: the origin district approves; the archive becomes 已调出 (read-only)
# and a transfer sheet (调转信息表) with a verification code is issued for the other region.
TRANSFER_OUT = Kind(
    name="transfer_out", label="调出区外",
    states={"submitted": "待审核", "approved": "已调出", "rejected": "已退回", "withdrawn": "已撤回"},
    open_states=frozenset({"submitted"}),
    editable_states=frozenset(),
    holds_archive=True,
    table=(
        Transition("", "submit", "submitted", "applicant", "申请调出", guards=("transfer_allowed",)),
        Transition("submitted", "withdraw", "withdrawn", "applicant", "撤回"),
        Transition("submitted", "approve", "approved", "reviewer", "同意调出",
                   effect="transfer_out", notice="transfer_out_approved"),
        Transition("submitted", "reject", "rejected", "reviewer", "不同意调出",
                   notice="transfer_out_rejected", needs_reason=True),
    ),
)

# Into the deployment: the person fills the record as for a first collection and brings the
# old region's transfer sheet and proof of the local link; the destination district accepts,
# and the held record becomes the archive (the collection's "admit" row).
TRANSFER_IN = Kind(
    name="transfer_in", label="区外调入",
    states={"submitted": "待调入地审核", "accepted": "已调入", "refused": "已退回", "withdrawn": "已撤回"},
    open_states=frozenset({"submitted"}),
    editable_states=frozenset(),
    table=(
        Transition("", "submit", "submitted", "applicant", "申请调入", guards=("transfer_allowed",),
                   effect="hold_record"),
        Transition("submitted", "withdraw", "withdrawn", "applicant", "撤回", effect="return_record"),
        Transition("submitted", "approve", "accepted", "reviewer", "同意调入",
                   effect="admit_record", notice="transfer_in_accepted"),
        Transition("submitted", "reject", "refused", "reviewer", "不同意调入",
                   effect="return_record", notice="transfer_in_refused", needs_reason=True),
    ),
)

# Account recovery (账号找回): from a new WeChat account, the person proves who they are (both sides
# of the ID document and a photo holding it); the archive's district compares them with the
# archive and approves: the archive moves to the new account and the old one is shut out.
RECOVERY = Kind(
    name="recovery", label="账号找回",
    states={"submitted": "待审核", "approved": "已找回", "rejected": "已退回", "withdrawn": "已撤回"},
    open_states=frozenset({"submitted"}),
    editable_states=frozenset(),
    table=(
        Transition("", "submit", "submitted", "applicant", "申请找回"),
        Transition("submitted", "withdraw", "withdrawn", "applicant", "撤回", effect="release_recovery"),
        Transition("submitted", "approve", "approved", "reviewer", "同意找回",
                   effect="rebind_account", notice="recovery_approved"),
        Transition("submitted", "reject", "rejected", "reviewer", "不同意找回",
                   effect="release_recovery", notice="recovery_rejected", needs_reason=True),
    ),
)

# Unit administrators (单位管理员): a person applies, from the same mini-program, to act for an
# employer (keyed by its unified social credit code); the district where the unit is registered
# (`region_code`) verifies the business licence and the authorisation letter. A verified
# administrator is revoked by that district or by another verified administrator of the unit
# (server/units/admins.py; the unit's document follows the steps: server/units/effects.py).
UNIT_ADMIN = Kind(
    name="unit_admin", label="单位管理员认证",
    states={"submitted": "待认证", "verified": "已认证", "rejected": "未通过认证", "withdrawn": "已撤回",
            "revoked": "已撤销"},
    open_states=frozenset({"submitted"}),
    editable_states=frozenset(),
    table=(
        Transition("", "submit", "submitted", "applicant", "申请单位管理员"),
        Transition("submitted", "withdraw", "withdrawn", "applicant", "撤回"),
        Transition("submitted", "approve", "verified", "reviewer", "通过认证",
                   effect="unit_admin_verified", notice="unit_admin_verified"),
        Transition("submitted", "reject", "rejected", "reviewer", "不予认证",
                   effect="unit_admin_noticed", notice="unit_admin_rejected", needs_reason=True),
        Transition("verified", "revoke", "revoked", "reviewer", "撤销管理员",
                   effect="unit_admin_revoked", notice="unit_admin_revoked", needs_reason=True),
        Transition("verified", "revoke_by_unit", "revoked", "unit", "单位其他管理员撤销",
                   effect="unit_admin_revoked", notice="unit_admin_revoked_by_unit", needs_reason=True),
    ),
)

# Equivalence claims (视同继续教育): the person claims continuing-education credits for an activity
# (exams passed, a degree course, published work...) with a proof; the archive's district grants
# credits (possibly fewer: the `claim_credits` guard reads them) or rejects (server/duties/claims.py).
CE_CLAIM = Kind(
    name="ce_claim", label="视同继续教育",
    states={"submitted": "待审核", "approved": "已认定", "rejected": "未认定", "withdrawn": "已撤回"},
    open_states=frozenset({"submitted"}),
    editable_states=frozenset(),
    table=(
        Transition("", "submit", "submitted", "applicant", "申请视同继续教育"),
        Transition("submitted", "withdraw", "withdrawn", "applicant", "撤回"),
        Transition("submitted", "approve", "approved", "reviewer", "认定学分", guards=("claim_credits",),
                   effect="grant_claim", notice="ce_claim_approved"),
        Transition("submitted", "reject", "rejected", "reviewer", "不予认定",
                   notice="ce_claim_rejected", needs_reason=True),
    ),
)

# fmt: on

KINDS: dict[str, Kind] = {
    k.name: k for k in (COLLECTION, CHANGE, TRANSFER_WITHIN, TRANSFER_OUT, TRANSFER_IN, RECOVERY, UNIT_ADMIN, CE_CLAIM)
}
TRANSFER_KINDS = (TRANSFER_WITHIN.name, TRANSFER_OUT.name, TRANSFER_IN.name)

# Spot-check outcomes (抽查) are staff acts on an archive, not an application of their own:
# "confirmed" is recorded on the archive; "correction" opens a change in state "ordered".
SPOT_CHECK_OUTCOMES = {"confirmed": "抽查无误", "correction": "责令改正"}


def kind_of(name: str | None) -> Kind | None:
    """The kind registered under a name, or None."""
    return KINDS.get(name or "")


def all_states() -> list[str]:
    """Every state of every kind (for OpenAPI enums), in a stable order."""
    seen: dict[str, None] = {}
    for kind in KINDS.values():
        seen.update(dict.fromkeys(kind.states))
    return list(seen)


def action_labels() -> dict[str, str]:
    """Every action with a label (the first kind's wording; a step's own label is `step_label`)."""
    labels: dict[str, str] = {}
    for k in KINDS.values():
        for t in k.table:
            labels.setdefault(t.action, t.label)
    return {**labels, "submit": "提交", "spot_check_confirmed": "抽查无误"}


def step_label(kind_name: str | None, before: str | None, action: str | None) -> str:
    """The label of one recorded step, from its kind's row (the action itself when there is none)."""
    kind = kind_of(kind_name or "collection")
    t = kind.transition(before or "", action or "") if kind else None
    return t.label if t else action_labels().get(action or "", action or "")


def reviewer_actions() -> list[str]:
    """Every action a reviewer can take on any kind (for OpenAPI enums)."""
    return list(dict.fromkeys(t.action for k in KINDS.values() for t in k.table if t.actor == "reviewer"))
