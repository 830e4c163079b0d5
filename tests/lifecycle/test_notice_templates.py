"""Notice templates follow the tables: every notice a row names has a template that renders."""

from __future__ import annotations

import datetime as dt
import re

from server.lifecycle.tables import KINDS
from server.notify.notices import DEFAULT_REASON, MESSAGE_KINDS, SENT_BY_JOBS, TEMPLATES, render
from server.notify.template import fit

AT = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def test_every_notice_of_the_tables_has_a_template_and_no_template_is_orphaned():
    named = {t.notice for k in KINDS.values() for t in k.table if t.notice}
    assert named | SENT_BY_JOBS == set(TEMPLATES) and not named & SENT_BY_JOBS
    assert set(DEFAULT_REASON) <= set(TEMPLATES)
    assert "transfer_result" in MESSAGE_KINDS


def test_every_template_renders_with_its_reason_and_a_short_result_phrase():
    needs_reason = {t.notice for k in KINDS.values() for t in k.table if t.notice and t.needs_reason}
    for key, (kind, result, title, _body) in TEMPLATES.items():
        assert re.fullmatch(r"[a-z_]+", kind) and title, key
        assert re.fullmatch(r"[\u4e00-\u9fff]{1,5}", result) and fit("phrase2", result) == result, key
        notice = render(key, "n-1", "openid", "app", "材料不全", "张三", "厦门市思明区财政局", AT)
        assert "{" not in notice["body"] and notice["data"]["result"] == result, key
        if key in needs_reason:
            assert "材料不全" in notice["body"], key  # a refusal says why
        else:
            assert render(key, "n-1", "o", "app", "", "张三", "", AT)["data"]["reason"], key  # never empty


def test_the_destination_s_steps_do_not_name_the_origin_office():
    # a 区内调转's notices are rendered with the origin district's office ({office})
    for key in ("transfer_accepted", "transfer_declined"):
        assert "{office}" not in TEMPLATES[key][3] and "调入地" in TEMPLATES[key][3]
    assert "调转信息表" in TEMPLATES["transfer_out_approved"][3]
