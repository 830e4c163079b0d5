"""The standing rules alone (server/duties/standing.py: pure) and their settings."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from server.duties import standing as rules
from settings import Settings, SettingsError

REQ = rules.Requirement.of(90, Fraction(2, 3))
TODAY = dt.date(2026, 6, 1)


def facts(first: int | None, credits: dict[int, tuple[float, float]], **kw) -> rules.Facts:
    totals = {y: (rules.credit(t), rules.credit(p)) for y, (t, p) in credits.items()}
    return rules.Facts(first_year=first, totals=totals, **kw)


def test_the_first_year_is_the_year_after_the_qualification_else_after_starting_work():
    quals = {"qualifications": [{"obtained_on": "2019-05-18"}, {"obtained_on": "2015-09-01"}]}
    assert rules.first_year(quals) == 2016
    assert (
        rules.first_year({"qualification": {"level": "none"}, "employment": {"accounting_since": "2020-03-01"}}) == 2021
    )
    assert rules.first_year({"work_history": [{"from": "2018-01-01"}, {"from": "2021-01-01"}]}) == 2019
    assert rules.first_year({}) is None


@pytest.mark.parametrize(
    ("incomplete", "trigger"),
    [
        ([2020, 2021], []),
        ([2020, 2021, 2022], [2020, 2021, 2022]),
        ([2018, 2020, 2022], []),
        ([2018, 2020, 2022, 2024], [2018, 2020, 2022, 2024]),
        ([2019, 2020, 2021, 2022], [2019, 2020, 2021, 2022]),
    ],
)
def test_three_consecutive_or_four_cumulative_incomplete_years(incomplete, trigger):
    assert rules.incomplete_trigger(incomplete) == trigger


def test_a_year_needs_the_total_and_the_professional_share():
    result = rules.evaluate(facts(2023, {2023: (90, 60), 2024: (95, 59.9), 2025: (60, 60)}), REQ, TODAY)
    done = {y["year"]: y["complete"] for y in result["years"]}
    assert done == {2023: True, 2024: False, 2025: False, 2026: False}
    assert result["incomplete_years"] == [2024, 2025] and result["standing"] == "normal"
    assert result["years"][-1]["in_progress"] is True and result["years"][0]["required_professional"] == 60


def test_the_current_year_never_counts_against_anyone_and_legacy_years_count_as_done():
    result = rules.evaluate(facts(2023, {}, legacy_done={2024}), REQ, TODAY)
    assert result["incomplete_years"] == [2023, 2025] and result["standing"] == "normal"
    result = rules.evaluate(facts(2023, {}), REQ, TODAY)
    assert result["standing"] == "abnormal" and result["abnormal_years"] == [2023, 2024, 2025]
    assert "2023、2024、2025" in rules.reason(result) and "连续3个年度" in rules.reason(result)


def test_abnormal_wins_over_not_in_post_and_not_in_post_follows_the_assessments():
    off = {"in_post": False, "code": "assessment_missing", "missing_years": [2024, 2025]}
    assert rules.evaluate(facts(2023, {}, assessment=off), REQ, TODAY)["standing"] == "abnormal"
    full = {y: (90, 60) for y in (2023, 2024, 2025)}
    result = rules.evaluate(facts(2023, full, assessment=off), REQ, TODAY)
    assert result["standing"] == "not_in_post" and result["missing_assessment_years"] == [2024, 2025]
    assert "2024、2025年度没有年度考评信息" in rules.reason(result)
    on = {"in_post": True, "code": "in_post", "missing_years": []}
    assert rules.evaluate(facts(2023, full, assessment=on), REQ, TODAY)["standing"] == "normal"


def test_the_requirement_settings_are_checked():
    assert Settings(ce_required_credits=60, ce_professional_share="0.5").ce_required_credits == 60
    for bad in (
        {"ce_required_credits": 0},
        {"ce_professional_share": "3/2"},
        {"ce_professional_share": "x"},
        {"ce_standing_hour": 24},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env({}, **bad)
    assert rules.number(rules.Requirement.of(90, rules.parse_share("2/3")).professional) == 60
    assert rules.Requirement.of(100, rules.parse_share("2/3")).professional == 667  # tenths, rounded up


def test_years_before_the_archive_was_collected_count_only_when_something_records_them():
    today = dt.date(2026, 12, 2)
    # qualified in 2010, collected in 2026, nothing recorded before: not 异动 for fifteen unknown years
    result = rules.evaluate(facts(2011, {}, records_from=2026), REQ, today)
    assert result["standing"] == "normal" and result["incomplete_years"] == []
    assert [y["year"] for y in result["years"]] == [2026]
    # credits imported for three earlier years, each short: those years are recorded, and they count
    short = {y: (30.0, 20.0) for y in (2023, 2024, 2025)}
    result = rules.evaluate(facts(2011, short, records_from=2026), REQ, today)
    assert result["standing"] == "abnormal" and result["abnormal_years"] == [2023, 2024, 2025]
    # the old register's years count too, completed or not
    result = rules.evaluate(facts(2011, {}, records_from=2026, legacy_years={2024, 2025}), REQ, today)
    assert result["incomplete_years"] == [2024, 2025] and result["standing"] == "normal"
    # without a floor (no creation time) every year since the first counts, as before
    assert rules.evaluate(facts(2011, {}), REQ, today)["standing"] == "abnormal"
