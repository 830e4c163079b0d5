"""The annual assessments (年度考评) as the standing rules read them: an adapter to the employers'
side (server/units/), so that the standing runner depends on one small surface.

- `assessed_years(services, archives)`: {archive number: {year: result label}}, read for a batch of
  archives by `_id` through the assessments module's `results_for(services, archive_nos)`
  (server/units/assessments.py).
- `stream_assessed(services)`: the same for every archive as one stream, for the nightly run, when
  the assessments module offers `all_results(services)`; None when it does not (read by `_id` then).
- `assessment_of(settings, data, assessed, today)`: the person's 在岗 / 非在岗 under the rule
  "连续两年没有考评信息的，自动转为非在岗人员", computed by the assessments' own pure function
  (`server.units.assessments_rules.assessment_standing`, not a copy). Years before
  ASSESSMENT_FIRST_YEAR (the assessments' setting; the current year when it is absent, so that no
  year is held against anyone before the deployment records assessments) are never expected.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from server.units.assessments import results_for
from server.units.assessments_rules import assessment_standing, periods_of

Doc = dict[str, Any]


async def assessed_years(services, archives: list[Doc]) -> dict[str, dict[int, str]]:
    """The assessments recorded for these archives (see module doc)."""
    found = await results_for(services, [a["_id"] for a in archives])
    return {k: {int(y): str(r) for y, r in (v or {}).items()} for k, v in (found or {}).items()}


def stream_assessed(services):
    """Every archive's assessments as an async stream of (archive number, {year: result label}), read
    once for the nightly run, when the assessments module offers `all_results(services)` (an async
    iterator of those pairs); None when it does not (they are then read by `_id` a batch at a time)."""
    try:
        module = importlib.import_module("server.units.assessments")
    except ImportError:
        return _nothing()
    reader = getattr(module, "all_results", None)
    if reader is None:
        return None if getattr(module, "results_for", None) else _nothing()
    return reader(services)


async def _nothing() -> AsyncIterator[tuple[str, dict[int, str]]]:
    return
    yield


def assessment_of(settings, data: Mapping[str, Any], assessed: Mapping[int, str], today: dt.date) -> Doc:
    """The assessments' standing of a person (their `assessment_standing` answer)."""
    first = getattr(settings, "assessment_first_year", None) or today.year
    return assessment_standing(periods_of(data), assessed.keys(), today, int(first))
