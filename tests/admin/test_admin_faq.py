"""The FAQ screen (常见问题) of the admin page, headless Chromium: the questions the chat bot could not
answer, most frequent first with their candidate topics; a city administrator adds one as an
example of a topic (and another as a keyword), after which the bot answers it with that topic;
a new topic is added, then disabled; a district reviewer only reads. The same questions grouped
by similarity (admin_faq.js): a group is added to a topic, another becomes a new topic."""

from __future__ import annotations

from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, A
from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM, pytestmark  # noqa: F401
from tests.admin.test_admin_transfers import sign_in
from tests.chat.conftest import answer_of, chat, chat_settings, event_xml  # noqa: F401

ASKED = "可以让同事帮我填写吗"  # no topic claims it; two are close
LOST = "会计证丢了怎么补办"  # out of the FAQ's scope: no close topic offered
PARKING = "财政局可以停车吗"
PARKING_ANSWER = "区财政局大院内有少量访客车位，建议乘坐公共交通前往。"


async def _chat_with_staff(make_chat):
    """A chat server with a city administrator ("city") and a reviewer of district A ("rev-a")."""
    srv, sender = await make_chat()
    accounts = srv.services.get(StaffAccounts)
    await accounts.add("city", "city_admin", [], PASSWORD)
    await accounts.add("rev-a", "reviewer", [A], PASSWORD)
    return srv, sender


async def test_a_missed_question_becomes_an_example_and_the_bot_answers_it(chat, http_factory):  # noqa: F811
    from playwright.async_api import async_playwright

    srv, sender = await _chat_with_staff(chat)
    for _ in range(3):
        missed = await sender.ask("o-faq-1", ASKED)
        assert "1. 会计档案号是什么" in missed.content, missed.content  # the closest topics, as numbered choices
    await sender.ask("o-faq-2", LOST)
    before_parking = (await sender.ask("o-faq-3", PARKING)).content
    assert PARKING_ANSWER not in before_parking
    http = http_factory(srv)  # the topics as the API stores them, read as the administrator
    assert (await http.post("/admin/api/login", json={"username": "city", "password": PASSWORD})).status == 200
    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await sign_in(browser, srv.url, "city", problems, requests)
            await page.click("#nav a[data-view='faq']")
            rows = page.locator("#faq-misses tbody tr")
            await page.locator("#faq-misses tbody tr[data-id]").first.wait_for()
            assert await rows.count() == 2
            first, second = rows.nth(0), rows.nth(1)
            assert await first.locator("td.question").inner_text() == ASKED
            assert await first.locator("td.count").inner_text() == "3"
            chips = await first.locator(".chip").all_inner_texts()
            assert chips[:2] == ["会计档案号是什么", "继续教育与信息采集的关系"], chips
            assert await second.locator("td.question").inner_text() == LOST
            assert "超出咨询范围" in await second.inner_text()
            await page.locator("#faq-topics tbody tr[data-id='login']").wait_for()
            assert await page.locator("#faq-topics tbody tr[data-id]").count() >= 20

            # 加入到话题: the closest topic comes first; the administrator picks another one
            await first.locator("button.faq-add").click()
            await page.wait_for_selector("#faq-add-form:not([hidden])")
            assert await page.inner_text("#faq-add-question") == ASKED
            assert await page.input_value("#faq-add-topic") == "archive_number"
            assert await page.input_value("#faq-add-text") == ASKED
            assert await page.is_checked("#faq-add-as-examples") and await page.is_checked("#faq-add-delete")
            await page.select_option("#faq-add-topic", "login")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "admin-faq.png"), full_page=False)
            await page.click("#faq-add-save")
            await page.wait_for_selector("#flash:has-text('已将“可以让同事帮我填写吗”加入话题')")
            await page.wait_for_selector("#faq-add-form", state="hidden")
            await page.locator("#faq-misses tbody tr[data-id]", has_text=ASKED).wait_for(state="detached")
            login = page.locator("#faq-topics tbody tr[data-id='login']")
            assert "内置（已修改）" in await login.inner_text() and "city " in await login.inner_text()

            # the bot answers it now, with that topic (this process reloaded at once)
            answered = await sender.ask("o-faq-4", ASKED)
            assert answered.content == answer_of("login"), answered.content
            topic = (await http.get("/admin/api/faq/topics/login")).json
            assert topic["examples"][-1] == ASKED and topic["updated_by"] == "city"

            # the other one as a keyword, edited, keeping the question in the list
            lost = page.locator("#faq-misses tbody tr[data-id]", has_text=LOST)
            await lost.locator("button.faq-add").click()
            await page.select_option("#faq-add-topic", "existing_certificate")
            await page.check("#faq-add-as-keywords")
            await page.fill("#faq-add-text", "会计证丢了")
            await page.uncheck("#faq-add-delete")
            await page.click("#faq-add-save")
            await page.wait_for_selector("#flash:has-text('的关键词')")
            assert await page.locator("#faq-misses tbody tr[data-id]").count() == 1
            assert (await sender.ask("o-faq-5", LOST)).content == answer_of("existing_certificate")
            topic = (await http.get("/admin/api/faq/topics/existing_certificate")).json
            assert "会计证丢了" in topic["keywords"] and LOST not in topic["examples"]

            # a new topic: a bad id is refused beside the field; then it answers
            await page.click("#faq-new")
            await page.fill("#faq-id", "Bad Id")
            await page.fill("#faq-title", "到财政局办事能否停车")
            await page.fill("#faq-answer", PARKING_ANSWER)
            await page.fill("#faq-keywords", "停车\n车位\n")
            await page.fill("#faq-examples", PARKING)
            await page.click("#faq-save")
            await page.wait_for_selector("#faq-form [data-error='id']:has-text('小写字母')")
            await page.fill("#faq-id", "parking")
            await page.click("#faq-save")
            parking = page.locator("#faq-topics tbody tr[data-id='parking']")
            await parking.wait_for()
            assert "新增" in await parking.inner_text() and "启用" in await parking.inner_text()
            assert (await sender.ask("o-faq-6", PARKING)).content == PARKING_ANSWER
            stored = (await http.get("/admin/api/faq/topics/parking")).json
            assert stored["keywords"] == ["停车", "车位"] and stored["examples"] == [PARKING]

            # disabled: the bot no longer answers with it
            await parking.locator("button.faq-edit").click()
            assert await page.is_hidden("#faq-id-label")
            assert await page.input_value("#faq-keywords") == "停车\n车位"
            await page.screenshot(path=str(ARTIFACTS / "admin-faq-topic.png"), full_page=False)
            await page.check("#faq-disabled")
            await page.click("#faq-save")
            await page.locator("#faq-topics tbody tr[data-id='parking']:has-text('已停用')").wait_for()
            assert (await sender.ask("o-faq-7", PARKING)).content != PARKING_ANSWER
            await page.fill("#faq-filter", "停车")
            assert await page.locator("#faq-topics tbody tr[data-id]").count() >= 1

            # a district reviewer reads the screen without any of its buttons
            rev = await sign_in(browser, srv.url, "rev-a", problems, requests)
            await rev.click("#nav a[data-view='faq']")
            await rev.locator("#faq-misses tbody tr[data-id]", has_text=LOST).wait_for()
            assert await rev.is_visible("#faq-readonly") and await rev.is_hidden("#faq-new")
            assert await rev.locator("#faq-misses button, #faq-topics button").count() == 0
        finally:
            await browser.close()

    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(srv.url)]
    assert not outside, outside
    assert [p for p in problems if not p.startswith("422 ")] == [], problems  # the bad id's 422 is expected


WATER = {"办事大厅有没有饮水机": 3, "办事大厅有饮水机吗": 2, "大厅有没有饮水机": 1}  # no topic claims them
COLLEAGUE = ("可以让同事帮我填写吗", "同事帮我填写可以吗")
WATER_TOPIC = "onsite_confirmation"
HELP_ANSWER = "可以请同事协助操作，但须由本人确认信息并提交。"


async def test_a_group_of_missed_questions_is_added_to_a_topic_from_the_page(chat, http_factory):  # noqa: F811
    from playwright.async_api import async_playwright

    srv, sender = await _chat_with_staff(chat)
    topic_answer = (await sender.send(event_xml("o-grp", "CLICK", f"FAQ:{WATER_TOPIC}", created=1700000201))).content
    assert topic_answer
    for question, times in WATER.items():
        for _ in range(times):
            assert (await sender.ask("o-grp", question)).content != topic_answer
    for question in COLLEAGUE:
        assert (await sender.ask("o-grp", question)).content != HELP_ANSWER
    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await sign_in(browser, srv.url, "city", problems, requests)
            await page.click("#nav a[data-view='faq']")
            water = page.locator("#faq-groups tbody tr[data-id]").first
            await water.wait_for()
            assert await page.locator("#faq-groups tbody tr[data-id]").count() == 2
            assert (await water.locator("td.question").inner_text()).endswith("办事大厅有没有饮水机")
            assert await water.locator("td.count").inner_text() == "6"
            assert await water.locator("td.size").inner_text() == "3"

            # the group's wordings, expanded
            gid = await water.get_attribute("data-id")
            members = page.locator(f"#faq-groups tr.faq-group-members[data-group='{gid}']")
            assert await members.is_hidden()
            await water.locator("button.faq-group-toggle").click()
            assert await members.locator("li[data-member] .member-question").all_inner_texts() == list(WATER)
            ARTIFACTS.mkdir(exist_ok=True)

            # 处理: the questions ticked as examples, a typed keyword, a topic picked
            await water.locator("button.faq-group-resolve").click()
            await page.wait_for_selector("#faq-group-form:not([hidden])")
            assert await page.inner_text("#faq-group-question") == "办事大厅有没有饮水机"
            boxes = page.locator("#faq-group-members input[type=checkbox]")
            assert await boxes.count() == 3 and all([await boxes.nth(i).is_checked() for i in range(3)])
            await page.select_option("#faq-group-topic", WATER_TOPIC)
            await page.fill("#faq-group-keywords", "饮水机")
            await page.screenshot(path=str(ARTIFACTS / "admin-faq-groups.png"), full_page=True)
            await page.click("#faq-group-save")
            await page.wait_for_selector("#flash:has-text('删除了 3 个未回答问题')")
            await page.wait_for_selector("#faq-group-form", state="hidden")
            await page.locator(f"#faq-groups tbody tr[data-id='{gid}']").wait_for(state="detached")
            assert await page.locator("#faq-groups tbody tr[data-id]").count() == 1
            await page.locator("#faq-misses tbody tr[data-id]", has_text="饮水机").first.wait_for(state="detached")
            row = page.locator(f"#faq-topics tbody tr[data-id='{WATER_TOPIC}']")
            assert "内置（已修改）" in await row.inner_text()

            # the same questions now get the topic's answer
            for question in WATER:
                assert (await sender.ask("o-grp", question)).content == topic_answer, question

            # the other group becomes a new topic (a bad id is refused beside its field first)
            await page.locator("#faq-groups tbody tr[data-id] button.faq-group-resolve").click()
            await page.check("#faq-group-action-create")
            assert await page.is_hidden("#faq-group-topic")
            await page.fill("#faq-group-id", "Bad Id")
            await page.fill("#faq-group-answer", HELP_ANSWER)
            await page.click("#faq-group-save")
            await page.wait_for_selector("#faq-group-form [data-error='id']:has-text('小写字母')")
            await page.fill("#faq-group-id", "colleague_help")
            await page.fill("#faq-group-title", "可以请别人代填吗")
            await page.click("#faq-group-save")
            await page.wait_for_selector("#flash:has-text('已新建话题')")
            await page.locator("#faq-topics tbody tr[data-id='colleague_help']").wait_for()
            await page.locator("#faq-groups tbody td", has_text="暂无未能回答的问题").wait_for()
            await page.screenshot(path=str(ARTIFACTS / "admin-faq-groups-done.png"), full_page=False)
            for question in COLLEAGUE:
                assert (await sender.ask("o-grp", question)).content == HELP_ANSWER, question

            # a district reviewer sees the groups without the button that changes them
            await sender.ask("o-grp", "食堂几点开饭")
            rev = await sign_in(browser, srv.url, "rev-a", problems, requests)
            await rev.click("#nav a[data-view='faq']")
            await rev.locator("#faq-groups tbody tr[data-id]").first.wait_for()
            assert await rev.locator("#faq-groups button.faq-group-resolve").count() == 0
            assert await rev.is_hidden("#faq-group-form")
        finally:
            await browser.close()

    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(srv.url)]
    assert not outside, outside
    assert [p for p in problems if not p.startswith("422 ")] == [], problems  # the bad id's 422 is expected
