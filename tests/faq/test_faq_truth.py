"""The bot tells the truth about this system (issue #16): the 26 built-in topics of topics.md exist;
every answer, rendered by the running app with unusual settings, quotes only numbers it was given
(settings, the code's own limits, a campaign's dates) or a few national facts named below; every
function it names in 「」 is a route of the running app or a button of the menu; every label it
quotes in “” is a chat command or text the system really shows; and it claims no function the
system lacks. The checks are plain functions so that a broken answer can be shown to fail them."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from faq import FaqEngine
from handlers.openapi import implemented_methods, route_paths
from server.chat.duties import is_duties_query
from server.chat.faq_service import FaqService, answer_context
from server.chat.router import _BIND
from server.chat.status import is_status_query
from server.staff import StaffAccounts
from server.units.assessments_rules import ASSESSMENT_MISSING, IN_POST, Period, assessment_standing
from settings import ROOT, Settings
from tests.admin.conftest import PASSWORD, staff_client  # noqa: F401

_SHARED_TOPICS = ROOT.parent / "shared" / "faq" / "topics.md"
TOPICS_MD = _SHARED_TOPICS if _SHARED_TOPICS.exists() else Path(__file__).resolve().parent / "data" / "topics.md"
FUNCTIONS = json.loads((ROOT / "faq" / "data" / "functions.json").read_text(encoding="utf-8"))
MENU = json.loads((ROOT / "config" / "menu.json").read_text(encoding="utf-8"))
SOURCE_DIRS = ("server", "miniprogram_api", "handlers", "config")  # not faq/: the answers must not vouch for themselves

# Numbers an answer may state without a placeholder: national facts, the same everywhere.
ALLOWED_NUMBERS = {
    "25": "一寸 ID photo: 25 mm wide (the usual national size, 25×35 mm)",
    "35": "一寸 ID photo: 35 mm high",
}
ALLOWED_CHINESE = {"一寸": "一寸证件照 (25×35 mm) is the national ID-photo size"}

# Claims about functions this system does not have (it logs in with WeChat, has no password, issues
# no certificate and reviews everything online). Patterns, so that mentioning another system's
# password reset or saying "不需要现场确认" stays allowed.
DENIED = {
    r"[「“]\s*(忘记密码|找回密码|重置密码|修改密码)\s*[」”]": "a password button: this system has no password",
    r"(点击|进入|选择)\s*(忘记密码|找回密码|重置密码)": "a password reset in this system",
    r"(用|通过|输入|凭)(手机)?短信验证码(登录|注册)": "SMS-code login: login is WeChat authorisation",
    r"(发放|补发|换发|领取|补办|打印)[^，。；]{0,4}会计(从业资格)?证": "issuing accounting certificates (abolished in 2017)",
    r"(?<![不无])(必须|需要|须)(本人)?(到|去)?现场(审核|确认|核验)": "an on-site review: every review is online",
    r"(?<![不无])(须|需要|必须)(邮寄|寄送|提交|递交)纸质": "paper submissions: everything is uploaded",
}

_DIGITS = re.compile(r"[0-9]+")
_CHINESE_NUMBER = re.compile(
    r"[零〇一二两三四五六七八九十百千万]+(?=个?(?:年|个月|月|周|天|日|小时|分钟|次|学分|寸|工作日|岁))"
)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FUNCTION = re.compile(r"「(.+?)」")
_LABEL = re.compile(r"“(.+?)”")
_TITLE = re.compile(r"《(.+?)》")


# --- the checks -----------------------------------------------------------------------------------


def topic_ids(markdown: str) -> list[str]:
    """The topic ids of topics.md's table (first column, in backquotes)."""
    return re.findall(r"^\|\s*`([a-z_]+)`\s*\|", markdown, re.M)


def number_problems(template: str, rendered: str, context: Mapping) -> list[str]:
    """Numbers of an answer that are neither one of the values it was given nor a national fact.

    The template with its placeholders left out may state only allowed numbers; every digit run of
    the rendered answer is a digit run of a value its placeholders took (or allowed); a Chinese
    numeral before a unit (两年, 三次) is allowed or part of such a value."""
    problems = []
    bare = _PLACEHOLDER.sub(" ", template).replace("[[", "").replace("]]", "")
    problems += [f"typed number {n}" for n in _DIGITS.findall(bare) if n not in ALLOWED_NUMBERS]
    problems += [f"typed number {m.group()}" for m in _CHINESE_NUMBER.finditer(bare) if not _national(bare, m)]
    values = [str(context[name]) for name in set(_PLACEHOLDER.findall(template)) if context.get(name) is not None]
    given = {d for v in values for d in _DIGITS.findall(v)} | set(ALLOWED_NUMBERS)
    problems += [f"number {n} is no value it was given" for n in _DIGITS.findall(rendered) if n not in given]
    for m in _CHINESE_NUMBER.finditer(rendered):
        if not _national(rendered, m) and not any(m.group() in v for v in values):
            problems.append(f"number {m.group()} is no value it was given")
    return problems


def _national(text: str, number: re.Match) -> bool:
    """True when the Chinese numeral found at `number` starts one of the allowed national facts."""
    return text.startswith(tuple(ALLOWED_CHINESE), number.start())


def route_table(app) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route the running app serves."""
    return {(m.upper(), path) for path, handler in route_paths(app) for m in implemented_methods(handler)}


def menu_names(menu: Mapping) -> set[str]:
    """Every button name of the official account's menu, at any level."""
    names: set[str] = set()
    for button in menu.get("button", []):
        names.add(button["name"])
        names |= {sub["name"] for sub in button.get("sub_button", [])}
    return names


def function_problems(rendered: str, functions: Mapping, routes: set[tuple[str, str]], menu: set[str]) -> list[str]:
    """「X」 names that are not a listed function, or whose route or menu button does not exist."""
    problems = []
    for name in _FUNCTION.findall(rendered):
        entry = functions.get(name)
        if entry is None:
            problems.append(f"「{name}」 is not in functions.json")
            continue
        for route in entry.get("routes", []):
            method, _, path = route.partition(" ")
            if (method, path) not in routes:
                problems.append(f"「{name}」: {route} is not a route of the app")
        if "menu" in entry and entry["menu"] not in menu:
            problems.append(f"「{name}」: no menu button {entry['menu']}")
        if not entry.get("routes") and "menu" not in entry:
            problems.append(f"「{name}」 lives nowhere")
    return problems


def system_text() -> str:
    """The source of server/, miniprogram_api/, handlers/ and config/: what the system can show."""
    parts = []
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".json", ".html", ".js") and path.is_file():
                parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def is_chat_command(text: str) -> bool:
    """A message the chat router answers itself (status, continuing education, binding)."""
    return is_status_query(text) or is_duties_query(text) or bool(_BIND.fullmatch(text))


def label_problems(rendered: str, source: str) -> list[str]:
    """“X” that is neither a chat command nor shown by the system; 《X》 titles the system does not use.
    Short Latin labels (“GA”) must be a string literal of the source, not just letters in a word."""
    problems = []
    for label in _LABEL.findall(rendered):
        if is_chat_command(label):
            continue
        found = re.search(rf"[\"']{re.escape(label)}[\"']", source) if label.isascii() else label in source
        if not found:
            problems.append(f"“{label}” is neither a chat command nor a label of the system")
    problems += [f"《{t}》 is not a title the system uses" for t in _TITLE.findall(rendered) if t not in source]
    return problems


def denied_claims(rendered: str) -> list[str]:
    """Claims of functions the system lacks."""
    return [f"{why}: {m.group()}" for pattern, why in DENIED.items() if (m := re.search(pattern, rendered))]


# --- the built-in knowledge base under unusual settings -------------------------------------------

UNUSUAL = {
    "upload_max_mb": 7,
    "photo_max_kb": 37,
    "photo_min_kb": 12,
    "photo_width_px": 358,
    "photo_height_px": 441,
    "photo_backgrounds": "blue,red",
    "hotline": "0592-7654321",
    "ce_required_credits": 88,
    "ce_professional_share": "3/5",
    "assessment_first_year": 2031,
}
CITY = {"office": "鹭岛市会计管理中心", "phone": "0596-1357913", "address": "鹭岛市文兴路86号"}
WINDOW = ("2033-03-05", "2033-04-27")


@pytest.fixture
def districts_file(tmp_path) -> str:
    """The deployment's districts with an unusual city office (name, phone, address)."""
    data = json.loads((ROOT / "config" / "districts.json").read_text(encoding="utf-8"))
    data["city"].update(CITY)
    path = tmp_path / "districts.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.fixture
async def unusual(make_server, districts_file, staff_client):  # noqa: F811
    """A running server with unusual settings and a collection window created by a city admin;
    returns (server, {topic id: the answer as the chat would send it}, the context it used)."""
    running = await make_server(**UNUSUAL, districts_file=districts_file)
    await running.services.get(StaffAccounts).ensure("truth-city", "city_admin", [], PASSWORD)
    city = await staff_client(running, "truth-city")
    body = {"title": "会计人员信息采集", "start": WINDOW[0], "end": WINDOW[1], "late_rule": "refuse"}
    r = await city.post("/admin/api/campaigns", json=body)
    assert r.status == 201, r.text
    faq = running.services.get(FaqService)
    answers = {t.id: faq.answer(t.id) for t in faq.engine.topics()}
    return running, answers, faq.context


def test_the_26_topics_of_topics_md_are_built_in(engine: FaqEngine) -> None:
    ids = topic_ids(TOPICS_MD.read_text(encoding="utf-8"))
    assert len(ids) == len(set(ids)) == 26, ids
    assert set(ids) <= {t.id for t in engine.topics()}, set(ids) - {t.id for t in engine.topics()}


async def test_every_number_is_a_value_the_answer_was_given(unusual, engine: FaqEngine) -> None:
    _, answers, context = unusual
    assert "2033年3月5日至2033年4月27日" in context["collection_period"]  # pushed by the campaign
    problems = {}
    for topic in engine.topics():
        rendered = answers[topic.id]
        assert rendered and "{" not in rendered and "[[" not in rendered, topic.id
        assert rendered == engine.render_answer(topic.id, context), topic.id  # the template, filled, nothing else
        assert len(rendered) <= 320, (topic.id, len(rendered))
        if found := number_problems(topic.answer, rendered, context):
            problems[topic.id] = found
    assert not problems
    # the values reached the answers people read
    assert "7MB" in answers["materials"] and "KB" not in answers["materials"]
    assert "37KB" in answers["photo_spec"] and "蓝色或红色" in answers["photo_spec"]
    assert "88学分" in answers["continuing_education"] and "五分之三" in answers["continuing_education"]
    assert "2033年4月27日" in answers["collection_period"]
    assert all(CITY[k] in answers["management_office"] for k in CITY)
    assert "0592-7654321" in answers["display_problem"]


def test_changing_a_setting_changes_the_answers(engine: FaqEngine, districts_file) -> None:
    default, odd = Settings.from_env({}), Settings.from_env({}, **UNUSUAL, districts_file=districts_file)
    a, b = answer_context(default), answer_context(odd)
    changed = {name for name in b if a.get(name) != b[name]}
    # every setting-driven placeholder the answers use follows its setting
    used = {name for t in engine.topics() for name in _PLACEHOLDER.findall(t.answer)}
    settings_driven = used - {"entry_name", "collection_period", "ce_consecutive_years", "ce_cumulative_years"}
    settings_driven -= {"assessment_lapse_years", "recovery_per_account_day", "recovery_per_number_day"}
    assert settings_driven <= changed, settings_driven - changed
    for topic in engine.topics():
        if set(_PLACEHOLDER.findall(topic.answer)) & changed:
            assert engine.render_answer(topic.id, a) != engine.render_answer(topic.id, b), topic.id


def test_code_limits_quoted_are_the_code_s() -> None:
    from server.duties.standing import CONSECUTIVE, CUMULATIVE
    from server.recovery.service import PER_ACCOUNT_DAY, PER_ID_NUMBER_DAY

    context = answer_context(Settings.from_env({}))
    assert (context["recovery_per_account_day"], context["recovery_per_number_day"]) == (
        PER_ACCOUNT_DAY,
        PER_ID_NUMBER_DAY,
    )
    assert (context["ce_consecutive_years"], context["ce_cumulative_years"]) == (CONSECUTIVE, CUMULATIVE)
    # "连续N年没有考评记录": N-1 missing years keep someone in post, N make them 非在岗
    n = context["assessment_lapse_years"]
    in_post = [Period(dt.date(2026, 1, 1))]
    assert assessment_standing(in_post, [], dt.date(2026 + n - 1, 6, 1), 2026)["code"] == IN_POST
    assert assessment_standing(in_post, [], dt.date(2026 + n, 6, 1), 2026)["code"] == ASSESSMENT_MISSING


async def test_every_named_function_exists(unusual) -> None:
    running, answers, _ = unusual
    routes, menu = route_table(running.app), menu_names(MENU)
    problems = {tid: p for tid, text in answers.items() if (p := function_problems(text, FUNCTIONS, routes, menu))}
    assert not problems
    named = {name for text in answers.values() for name in _FUNCTION.findall(text)}
    assert set(FUNCTIONS) == named, "functions.json lists exactly the functions the answers name"


async def test_every_quoted_label_is_a_command_or_shown_by_the_system(unusual) -> None:
    _, answers, _ = unusual
    source = system_text()
    problems = {tid: p for tid, text in answers.items() if (p := label_problems(text, source))}
    assert not problems


async def test_no_answer_claims_a_function_the_system_lacks(unusual) -> None:
    _, answers, _ = unusual
    problems = {tid: p for tid, text in answers.items() if (p := denied_claims(text))}
    assert not problems


# --- each check fails on an untrue answer ---------------------------------------------------------


def _broken(topic_id: str, answer: str, context: Mapping) -> tuple[str, str]:
    engine = FaqEngine.load([{"id": topic_id, "answer": answer}])
    return answer, engine.render_answer(topic_id, context)


def test_the_checks_catch_untrue_answers(districts_file) -> None:
    context = answer_context(Settings.from_env({}, **UNUSUAL, districts_file=districts_file))
    routes = {("GET", "/api/v1/me/record")}
    source = system_text()

    def numbers(answer: str) -> list[str]:
        return number_problems(*_broken("materials", answer, context), context)

    assert numbers("单个文件不超过{file_max_mb}MB，一寸照片25×35mm。") == []
    assert numbers("单个文件不超过{file_max_kb}KB。") == []  # 7168: a value it was given (ugly, not untrue)
    assert numbers("单个文件不超过10MB。")  # typed
    assert numbers("每天最多申请3次。")  # typed
    assert numbers("连续两年没有考评的，转为非在岗。")  # a Chinese numeral typed
    assert numbers("[[咨询电话{hotline}，]]文件不超过7MB。")  # 7 is upload_max_mb, but typed, not given
    assert number_problems("照片不超过{photo_max_kb}KB。", "照片不超过20KB。", context)  # rendered with another value

    assert (
        function_problems("在「信息变更」中提交。", {"信息变更": {"routes": ["GET /api/v1/me/record"]}}, routes, set())
        == []
    )
    assert function_problems("在「找回密码」中重置。", FUNCTIONS, routes, set())
    assert function_problems(
        "在「信息变更」中提交。", {"信息变更": {"routes": ["POST /api/v1/me/nothing"]}}, routes, set()
    )
    assert function_problems("点「信息采集」。", {"信息采集": {"menu": "采集入口"}}, routes, {"信息采集"})

    assert label_problems("发送“查询进度”或“查询继续教育”，或“绑定 123456”。", source) == []
    assert label_problems("标明“来自原会计档案”，前缀“GA”，阅读《承诺书》。", source) == []
    assert label_problems("点击“一键找回”按钮。", source)
    assert label_problems("前缀“QX”。", source)
    assert label_problems("下载《会计人员证书》。", source)

    assert denied_claims("其他平台的密码请在该平台按短信验证码找回；不需要现场确认。") == []
    assert denied_claims("在小程序点击“忘记密码”即可。")
    assert denied_claims("用短信验证码登录即可。")
    assert denied_claims("审核通过后到财政局领取会计证。")
    assert denied_claims("提交后必须到现场确认。")
    assert topic_ids("| `a_b` | x |\n|---|---|\n| `c` | y |\n") == ["a_b", "c"]
