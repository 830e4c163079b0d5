"""Yearly duties (issue #13): continuing-education credits (继续教育学分), equivalence claims
(视同继续教育), and each archive's standing (正常 / 异动 / 非在岗) computed from those facts and
the annual assessments.

- `credits.py`: the `ce_credits` store (one document per archive) and the credits' audit entries;
- `manual.py`: staff's view of a person's credits, and manual entries;
- `imports.py`: providers' files (Excel/CSV): parse, preview, commit once, list, undo;
- `claims.py`: the `ce_claim` application kind's applicant side, guard and effect;
- `standing.py`: the pure rules (first year, yearly completion, 异动, 非在岗);
- `runner.py`: the service that applies them to archives and stores `standings`, on a change of
  a fact and nightly under a lease;
- `assessed.py`: the annual assessments as the standing rules read them (server/units/);
- `view.py`: what the person sees (`GET /api/v1/me/duties`, chat `查询继续教育`);
- `lease.py`, `reminders.py`, `reports.py`: the jobs' lease, the last-quarter reminders and the
  compliance reports (they read `standings`).
"""
