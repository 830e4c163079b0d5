"""Campaign windows (采集时间) in the admin page, headless Chromium: a city administrator adds a
window that has ended (submissions after it marked late: the record shows 逾期提交), then the
current one; the mini-program's GET /api/v1/campaign shows it; field errors come from the server;
a district reviewer only reads."""

from __future__ import annotations

from tests.admin.conftest import A, add_staff, insert_record
from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM, pytestmark  # noqa: F401
from tests.admin.test_admin_transfers import sign_in
from tests.campaigns.conftest import CAMPAIGN, day, label

PAST = "2026年会计人员信息采集（第一期）"
NOW = "会计人员信息采集（第二期）"


async def fill_window(page, title: str, start: str, end: str, rule: str, reminder: int, freeze: bool) -> None:
    await page.fill("#camp-title", title)
    await page.fill("#camp-start", start)
    await page.fill("#camp-end", end)
    await page.check(f"#camp-rule-{rule}")
    await page.fill("#camp-reminder", str(reminder))
    await page.set_checked("#camp-freeze", freeze)


async def test_a_city_admin_sets_the_collection_windows_in_the_browser(server, http):
    from playwright.async_api import async_playwright

    s = server.services
    await add_staff(s, "city", role="city_admin", regions=[])
    await add_staff(s, "rev-a", regions=[A])
    rec = await insert_record(s, name="王小明")  # submitted today
    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await sign_in(browser, server.url, "city", problems, requests)
            await page.click("#nav a[data-view='campaigns']")
            await page.wait_for_selector("#camp-table td.muted:text('尚未设置采集时间（全年可提交）')")
            assert "全年开放" in await page.inner_text("#camp-current")
            assert await page.is_hidden("#camp-readonly")

            # a window that ended ten days ago, late submissions marked; first with its end before its start
            await page.click("#camp-new")
            await page.click("#camp-save")  # the name is missing: said beside it
            assert await page.inner_text("#camp-form [data-error='title']") == "请填写名称"
            await fill_window(page, PAST, day(-40), day(-50), "mark_late", 0, False)
            await page.click("#camp-save")  # the server's field error, beside the end date
            await page.wait_for_selector("#camp-form [data-error='end']:text('结束日期不能早于开始日期')")
            await page.fill("#camp-end", day(-10))
            await page.click("#camp-save")
            row = page.locator("#camp-table tbody tr", has_text=PAST)
            await row.wait_for()
            assert await page.is_hidden("#camp-form")
            cells = await row.locator("td").all_inner_texts()
            assert cells[:6] == [PAST, label(day(-40), day(-10)), "已结束", "标记逾期", "否", "不提醒"]
            assert cells[6].startswith("city ")
            current = (await http.get(CAMPAIGN)).json
            assert current["window"]["title"] == PAST and current["submission"]["late"] is True

            # the record submitted today is late under it (逾期提交)
            await page.click("#nav a[data-view='queue']")
            await page.locator(f"#queue-table tr[data-id='{rec['_id']}'] a", has_text="审核").click()
            await page.wait_for_selector("#r-late:not([hidden])")
            assert await page.inner_text("#r-late") == "逾期提交"

            # the current window: refused after its end, transfers frozen, a reminder 7 days before
            await page.click("#nav a[data-view='campaigns']")
            await row.wait_for()
            await page.click("#camp-new")
            await fill_window(page, NOW, day(-45), day(30), "refuse", 7, True)
            await page.click("#camp-save")  # overlaps the first: the server names it
            await page.wait_for_selector(f"#camp-form [data-error='start']:has-text('与“{PAST}”')")
            await page.fill("#camp-start", day(-1))
            await page.click("#camp-save")
            row2 = page.locator("#camp-table tbody tr", has_text=NOW)
            await row2.wait_for()
            cells = await row2.locator("td").all_inner_texts()
            assert cells[:6] == [
                NOW,
                label(day(-1), day(30)),
                "进行中（还有 30 天截止）",
                "逾期拒收",
                "暂停调转",
                f"截止前 7 天（{day(23)}）",
            ]
            today_rule = await page.inner_text("#camp-current")  # today's rule, as the FAQ and mini-program say it
            assert today_rule.startswith("今日规则：本期信息采集时间为" + label(day(-1), day(30))), today_rule

            # edit its name (the version read goes along)
            await row2.locator("button.camp-edit").click()
            assert await page.input_value("#camp-title") == NOW
            await page.fill("#camp-title", "2026年" + NOW)
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "admin-campaigns.png"), full_page=False)
            await page.click("#camp-save")
            await page.locator("#camp-table tbody tr", has_text="2026年" + NOW).wait_for()

            # the mini-program reads the open window
            current = (await http.get(CAMPAIGN)).json
            assert current["open"] is True and current["window"]["title"] == "2026年" + NOW
            assert current["window"]["label"] == label(day(-1), day(30))
            assert current["window"]["freeze_transfers"] is True and current["window"]["late_rule"] == "refuse"

            # today is inside the open window now: the record is no longer late
            await page.click("#nav a[data-view='queue']")
            await page.locator(f"#queue-table tr[data-id='{rec['_id']}'] a", has_text="审核").click()
            await page.wait_for_selector("#view-record:not([hidden])")
            assert await page.is_hidden("#r-late")

            # the ended window is removed (two clicks)
            await page.click("#nav a[data-view='campaigns']")
            await row.locator("button.camp-delete").click()
            await row.locator("button.camp-delete:text('确认删除')").click()
            await row.wait_for(state="detached")
            assert [c["title"] for c in (await s.db["campaigns"].find({}).to_list(None))] == ["2026年" + NOW]

            # a district reviewer reads the windows, without the editor
            rev = await sign_in(browser, server.url, "rev-a", problems, requests)
            await rev.click("#nav a[data-view='campaigns']")
            await rev.locator("#camp-table tbody tr", has_text=NOW).wait_for()
            assert await rev.is_hidden("#camp-new") and await rev.is_visible("#camp-readonly")
            assert await rev.locator("#camp-table button").count() == 0
        finally:
            await browser.close()

    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(server.url)]
    assert not outside, outside
    assert [p for p in problems if not p.startswith("422 ")] == [], problems  # the two 422s are expected
