"""Knowledge base: built-in topics, staff overrides, answer rendering."""

from __future__ import annotations

from faq import FaqEngine, Topic
from faq.kb import render

BUILT_IN = {
    "rare_characters",
    "password_reset",
    "account_recovery",
    "public_query",
    "transfer",
    "photo_spec",
    "login",
    "id_documents",
    "work_proof",
    "who_must_register",
    "info_change",
    "existing_certificate",
    "work_start_date",
    "review_status",
    "materials",
    "continuing_education",
    "annual_assessment",
    "unit_confirmation",
    "management_office",
    "collection_period",
    "display_problem",
    "archive_number",
    "work_unit",
    "how_to_collect",
    "commitment_letter",
    "onsite_confirmation",
}


def test_built_in_topics_are_complete(engine: FaqEngine) -> None:
    topics = engine.topics()
    assert {t.id for t in topics} == BUILT_IN
    for t in topics:
        assert isinstance(t, Topic)
        assert t.title and t.answer and t.keywords and t.synonyms and len(t.examples) >= 5
        assert len(engine.render_answer(t.id, {})) <= 300


def test_topic_lookup(engine: FaqEngine) -> None:
    assert engine.topic("transfer").title
    assert engine.topic("no_such_topic") is None
    assert engine.render_answer("no_such_topic", {}) == ""


def test_extra_topic_overrides_builtin_field_by_field() -> None:
    engine = FaqEngine.load([{"id": "photo_spec", "answer": "照片不超过{photo_max_kb}KB。"}])
    topic = engine.topic("photo_spec")
    assert topic.answer == "照片不超过{photo_max_kb}KB。"
    assert "证件照" in topic.keywords
    assert engine.render_answer("photo_spec", {"photo_max_kb": 20}) == "照片不超过20KB。"


def test_extra_topic_can_replace_matching_vocabulary() -> None:
    engine = FaqEngine.load([{"id": "login", "keywords": ["蓝莓口令"], "synonyms": [], "examples": []}])
    assert engine.topic("login").keywords == ("蓝莓口令",)
    assert engine.match("蓝莓口令").topic == "login"


def test_disabled_topic_is_removed() -> None:
    engine = FaqEngine.load([{"id": "transfer", "disabled": True}])
    assert engine.topic("transfer") is None
    assert "transfer" not in {t.id for t in engine.topics()}
    assert engine.match("档案调转怎么办").topic != "transfer"


def test_new_staff_topic_is_matched() -> None:
    extra = {
        "id": "certificate_mailing",
        "title": "证书邮寄",
        "answer": "证书邮寄请联系{hotline}。",
        "keywords": ["证书邮寄", "邮寄证书"],
        "synonyms": ["快递证书"],
        "examples": ["纸质证书能寄到家吗"],
    }
    engine = FaqEngine.load([extra, "not a dict", {"title": "no id"}])
    assert engine.match("证书邮寄到哪里").topic == "certificate_mailing"
    assert engine.render_answer("certificate_mailing", {"hotline": "12345"}) == "证书邮寄请联系12345。"


def test_render_answer_fills_context(engine: FaqEngine) -> None:
    text = engine.render_answer("photo_spec", {"photo_max_kb": 20})
    assert "不超过20KB" in text
    assert "{" not in text and "[[" not in text


def test_render_answer_without_context_never_fails(engine: FaqEngine) -> None:
    for topic in engine.topics():
        for context in ({}, None, {"hotline": None}, {"unrelated": 1}):
            text = engine.render_answer(topic.id, context)
            assert text and "{" not in text and "[[" not in text
    assert "KB" not in engine.render_answer("photo_spec", {})


def test_render_defaults_and_optional_segments() -> None:
    defaults = {"hotline": "当地电话"}
    assert render("电话：{hotline}", {}, defaults) == "电话：当地电话"
    assert render("电话：{hotline}", {"hotline": "123"}, defaults) == "电话：123"
    assert render("a[[，上限{kb}KB]]。", {}, defaults) == "a。"
    assert render("a[[，上限{kb}KB]]。", {"kb": 20}, defaults) == "a，上限20KB。"
    assert render("{unknown}x", {}, defaults) == "x"
    assert render("花括号 { 不配对 } 也不崩", {}, defaults) == "花括号 { 不配对 } 也不崩"
