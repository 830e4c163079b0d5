"""Chat status answers follow the tables: every state of every kind has words, none falls through."""

from __future__ import annotations

import datetime as dt

from server.chat import texts
from server.chat.status import describe, describe_change
from server.lifecycle.tables import CHANGE, COLLECTION

AT = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def test_every_state_of_the_first_collection_has_its_own_answer():
    answers = {}
    for state in COLLECTION.states:
        record = {
            "status": state,
            "submitted_at": AT,
            "decided_at": AT,
            "archive_no": "X",
            "decision": {"reason": "证件不清晰"},
        }
        answers[state] = describe(record, "0592-0000000")
        assert answers[state] and "0592-0000000" not in answers[state], state  # not the "unknown" fallback
    assert len(set(answers.values())) == len(COLLECTION.states)
    assert "证件不清晰" in answers["rejected"] and "2026年11月30日" in answers["submitted"]


def test_every_state_of_a_change_has_words_and_is_said_after_an_approved_record():
    assert set(texts.STATUS_CHANGE) == set(CHANGE.states)
    approved = {"status": "approved", "decided_at": AT, "archive_no": "X"}
    for state in CHANGE.states:
        change = {
            "status": state,
            "submitted_at": AT,
            "decided_at": AT,
            "decision": {"reason": "材料不全"},
            "ordered": {"reason": "学历信息有误"},
        }
        said = describe_change(change)
        assert said and said in describe(approved, "0592-0000000", change), state
    assert "学历信息有误" in describe_change({"status": "ordered", "ordered": {"reason": "学历信息有误"}})
    assert "材料不全" in describe_change({"status": "rejected", "decision": {"reason": "材料不全"}})
    assert describe({"status": "draft"}, "x", {"status": "submitted"}) == texts.STATUS_DRAFT  # no archive yet
