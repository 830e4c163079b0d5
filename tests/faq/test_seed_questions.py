"""The seeds' own questions, verbatim, reach the right topic (issue #16, item 2).

Seed 001 (Xiamen FAQ, traditional characters as published), seed 002 (the Inner Mongolia 自助答疑
keyword list), seed 004 (问题1-5 of the how-to guide) and the issue's own examples. "best": the
engine claims that topic. "choices": a single ambiguous word; the bot either claims that topic or
offers it among the numbered choices (candidates at or above the router's MIN_CANDIDATE_CONFIDENCE),
never another topic and never a bare miss. None of these sentences is a knowledge-base example."""

from __future__ import annotations

import pytest

from faq import FaqEngine
from server.chat.router import MIN_CANDIDATE_CONFIDENCE

BEST, CHOICES = "best", "choices"

XIAMEN_001 = [
    ("系統除了i廈門有其他登錄方式嗎?", "login"),
    (
        "登錄時系統提示“(未注冊過)手機號已注冊不能重復注冊/手機號被占用/身份證號碼已被注冊但手機號不是自己的/"
        "收不到注冊驗證碼/手機號注冊不了/忘記密碼等問題”如何處理?",
        "login",
    ),
    ("部分信息顯示不全什么解決?", "display_problem"),
    ("名字為生僻字如何采集?", "rare_characters"),
    ("照片上傳一定要規范的證件照嗎?", "photo_spec"),
    ("信息采集后信息還可以修改嗎?", "info_change"),
    ("身份證件需要同時上傳正反面信息嗎?", "id_documents"),
    ("我已有原會計證需要補錄所有信息嗎?", "existing_certificate"),
    ("我沒有原會計證需要進行信息采集嗎?", "who_must_register"),
    ("信息采集時一定要上傳工作證明嗎?工作證明有沒有固定格式?", "work_proof"),
    ("原會計證不屬于廈門,可以采集到系統中嗎?", "transfer"),
    ("從事會計工作時間如何填寫?", "work_start_date"),
]

INNER_MONGOLIA_002 = [
    ("信息采集", "how_to_collect", BEST),
    ("照片", "photo_spec", BEST),
    ("图片", "photo_spec", CHOICES),  # a photo or a scanned document: the photo first
    ("扫描件", "materials", BEST),
    ("调转", "transfer", BEST),
    ("年度考评", "annual_assessment", BEST),
    ("信息变更", "info_change", BEST),
    ("履历", "work_start_date", BEST),
    ("密码", "password_reset", BEST),
    ("档案", "archive_number", CHOICES),  # the archive number, its transfer or its recovery
    ("修改", "info_change", BEST),
    ("工作单位", "work_unit", BEST),
    ("在校学生", "who_must_register", BEST),
    ("会计人员范围", "who_must_register", BEST),
    ("管理地区", "management_office", BEST),
    ("管理机构", "management_office", BEST),
    ("会计工作证明", "work_proof", BEST),
]

GUIDE_004 = [
    ("工作单位与实际用工单位不一致怎么办?", "work_unit"),
    ("没有从事会计工作,但持有会计证,需要采集吗?", "who_must_register"),
    ("信息采集与继续教育如何衔接?", "continuing_education"),
    ("跨省调转工作,信息如何处理?", "transfer"),
    ("忘记平台登录密码怎么办?", "password_reset"),
]

ISSUE_16 = [
    ("我换了微信号怎么办", "account_recovery"),
    ("怎么修改已经通过的信息", "info_change"),
    ("我已有原会计证需要补录所有信息吗", "existing_certificate"),
    ("我没有原会计证需要进行信息采集吗", "who_must_register"),
    ("原会计证不属于厦门，可以采集到系统中吗", "transfer"),
    ("承诺函是什么", "commitment_letter"),
    ("需要现场确认吗", "onsite_confirmation"),
    ("单位怎么报备确认会计人员信息", "unit_confirmation"),
    ("需要准备哪些材料", "materials"),
]

ALL_BEST = XIAMEN_001 + GUIDE_004 + ISSUE_16 + [(q, t) for q, t, how in INNER_MONGOLIA_002 if how == BEST]


@pytest.mark.parametrize(("question", "topic"), ALL_BEST)
def test_a_seed_question_gets_its_topic(engine: FaqEngine, question: str, topic: str) -> None:
    result = engine.match(question)
    assert result.topic == topic, (result, engine.explain(question))


@pytest.mark.parametrize(("word", "topic"), [(q, t) for q, t, how in INNER_MONGOLIA_002 if how == CHOICES])
def test_an_ambiguous_keyword_gets_its_topic_or_the_choices(engine: FaqEngine, word: str, topic: str) -> None:
    result = engine.match(word)
    offered = [tid for tid, score in result.candidates if score >= MIN_CANDIDATE_CONFIDENCE]
    assert result.topic in (topic, None) and not result.out_of_scope, result
    assert topic in offered, result


def test_the_seed_questions_are_not_copied_into_the_knowledge_base(engine: FaqEngine) -> None:
    examples = {e for t in engine.topics() for e in t.examples}
    questions = [q for q, _ in ALL_BEST] + [q for q, _, _ in INNER_MONGOLIA_002]
    assert not [q for q in questions if q in examples or q.rstrip("?？") in examples]
