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
include the application's district: a district reviewer or a city administrator),
"system". Effects: "create_archive" (the first collection becomes the archive, version 1),
"apply_diff" (an approved change becomes a new archive version), None.
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


@dataclass(frozen=True)
class Kind:
    """An application kind: its states and its table."""

    name: str
    label: str
    states: dict[str, str]  # state -> label, in life order
    open_states: frozenset[str]  # states in which the application is still waiting for someone
    editable_states: frozenset[str]  # states in which the applicant may still edit the payload
    table: tuple[Transition, ...]
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
    states={"draft": "填写中", "submitted": "待审核", "approved": "已通过", "rejected": "已退回"},
    open_states=frozenset({"draft", "submitted", "rejected"}),
    editable_states=frozenset({"draft", "rejected"}),
    table=(
        Transition("", "create", "draft", "applicant", "开始填写"),
        Transition("draft", "submit", "submitted", "applicant", "提交",
                   guards=("commitment", "complete", "eligible")),
        Transition("rejected", "submit", "submitted", "applicant", "重新提交",
                   guards=("commitment", "complete", "eligible")),
        Transition("submitted", "approve", "approved", "reviewer", "通过",
                   effect="create_archive", notice="collection_approved"),
        Transition("submitted", "reject", "rejected", "reviewer", "退回",
                   notice="collection_rejected", needs_reason=True),
    ),
)

CHANGE = Kind(
    name="change", label="信息变更",
    states={"ordered": "待本人提交（责令改正）", "submitted": "待审核", "approved": "已通过", "rejected": "已退回",
            "withdrawn": "已撤回"},
    open_states=frozenset({"ordered", "submitted"}),
    editable_states=frozenset({"ordered"}),
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

# fmt: on

KINDS: dict[str, Kind] = {k.name: k for k in (COLLECTION, CHANGE)}

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
    """Every action of every kind with its label (the admin page's history and audit lines)."""
    labels = {t.action: t.label for k in KINDS.values() for t in k.table}
    return {**labels, "submit": "提交", "spot_check_confirmed": "抽查无误"}


def reviewer_actions() -> list[str]:
    """Every action a reviewer can take on any kind (for OpenAPI enums)."""
    return list(dict.fromkeys(t.action for k in KINDS.values() for t in k.table if t.actor == "reviewer"))
