"""Matching behaviour: normalisation, typos, thresholds, candidates, speed of reload."""

from __future__ import annotations

import pytest

from faq import FaqEngine, tokens
from faq.normalize import normalize


def test_normalize_width_case_traditional_punctuation() -> None:
    assert normalize("ＡＢＣ１２３，會計檔案號？") == "abc123 会计档案号"
    assert normalize("  調轉!!!怎麼辦  ") == "调转 怎么办"
    assert normalize("") == ""


def test_colloquial_words_are_read_as_the_knowledge_base_words_them(engine) -> None:
    assert normalize("照片咋弄，啥尺寸？密码忘了咋整") == "照片怎么弄 什么尺寸 密码忘了怎么办"
    assert engine.match("啥时候开始").topic == "collection_period"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("會計檔案怎麼調轉", "transfer"),
        ("年度考評沒做會怎樣", "annual_assessment"),
        ("忘記密碼了", "password_reset"),
        ("護照要傳哪幾頁", "id_documents"),
    ],
)
def test_traditional_input(engine: FaqEngine, question: str, topic: str) -> None:
    assert engine.match(question).topic == topic


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("掉转", "transfer"),
        ("掉转怎么办", "transfer"),
        ("生辟字", "rare_characters"),
        ("名字里有生辟字怎么填", "rare_characters"),
        ("考評", "annual_assessment"),
        ("档案好是什么", "archive_number"),
        ("申核要多久", "review_status"),
        ("我的管理机够在哪", "management_office"),
    ],
)
def test_homophone_typos(engine: FaqEngine, question: str, topic: str) -> None:
    assert engine.match(question).topic == topic


def test_typo_is_corrected_to_the_keyword(engine: FaqEngine) -> None:
    assert engine.explain("掉转怎么办")["normalized"].startswith("调转")
    assert engine.explain("体现在哪")["normalized"].startswith("体现")


@pytest.mark.parametrize("question", ["今天天气怎么样", "qwerty", "好的 多谢", "注册会计师考几门", "", "   ", "！！！"])
def test_out_of_scope_gets_no_topic(engine: FaqEngine, question: str) -> None:
    assert engine.match(question).topic is None


def test_a_match_says_whether_an_out_of_scope_class_beat_every_topic(engine: FaqEngine) -> None:
    assert engine.match("今天天气怎么样").out_of_scope
    assert engine.match("注册会计师考几门").out_of_scope
    assert not engine.match("忘记密码了怎么办").out_of_scope
    assert not engine.match("qwerty").out_of_scope  # nothing scores: no topic, yet not out of scope
    raw = engine.raw_scores("今天天气怎么样")
    assert max(v for k, v in raw.items() if k.startswith("~")) > max(v for k, v in raw.items() if k[0] != "~")


def test_candidates_are_given_even_when_not_confident(engine: FaqEngine) -> None:
    result = engine.match("电子发票怎么下载")
    assert result.topic is None
    assert len(result.candidates) <= 3
    ambiguous = engine.match("照片")
    assert ambiguous.topic == "photo_spec"
    assert ambiguous.candidates[0][0] == "photo_spec"
    assert all(isinstance(s, float) for _, s in ambiguous.candidates)


def test_score_is_confidence_with_half_at_threshold(engine: FaqEngine) -> None:
    strong = engine.match("我名字里有生僻字系统不认")
    assert strong.topic == "rare_characters"
    assert 0.5 <= strong.score < 1.0
    weak = engine.match("股市明天会涨吗")
    assert weak.topic is None
    assert 0.0 <= weak.score < 0.5


def test_raising_the_threshold_rejects_everything() -> None:
    strict = FaqEngine.load(threshold=1e9)
    assert strict.match("忘记密码怎么办").topic is None


def test_tokenizer_is_shared_across_reloads(engine: FaqEngine) -> None:
    # a reload builds a new index but never a second jieba dictionary (bench/faq_match.py times it)
    before = tokens.tokenizer()
    reloaded = FaqEngine.load([{"id": "x_new", "title": "新", "answer": "a", "keywords": ["新关键词"]}])
    assert tokens.tokenizer() is before
    assert reloaded.match("新关键词").topic == "x_new"


def test_odd_input_never_crashes(engine: FaqEngine) -> None:
    assert engine.match("调转\ud800怎么办").topic == "transfer"
    assert engine.match("😀😀 http://x.y/z?a=1").topic is None
    assert engine.match(None).topic is None  # type: ignore[arg-type]
    assert engine.match("会计档案调转" * 2000).topic == "transfer"


def test_explain_shows_contributions(engine: FaqEngine) -> None:
    report = engine.explain("跨省調轉怎麼弄")
    assert report["normalized"] == "跨省调转怎么弄"
    top = report["classes"][0]
    assert top["id"] == "transfer"
    assert any(key.startswith("k:") for key in top["features"])
