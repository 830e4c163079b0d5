"""继续教育合规统计 in the admin page, headless Chromium: a city administrator opens the report,
sees the per-year chart (inline SVG), drills down to a district's people (ID numbers masked) and
the stats page's charts; a district reviewer sees only their district. Nothing is loaded from
outside the server."""

from __future__ import annotations

from server.duties.reports import ComplianceReports
from server.masking import mask_id_number
from tests.admin.conftest import A, B, add_staff
from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM, pytestmark  # noqa: F401
from tests.admin.test_admin_transfers import sign_in
from tests.duties.duty_data import approved, standing_of


async def test_the_compliance_report_and_its_chart_in_the_browser(server, http):
    from playwright.async_api import async_playwright

    s = server.services
    await add_staff(s, "city", role="city_admin", regions=[])
    await add_staff(s, "rev-b", regions=[B])
    people = {}
    for key, region, name in (("a1", A, "陈一"), ("a2", A, "陈二"), ("a3", A, "刘䶮"), ("b1", B, "林一")):
        people[key] = await approved(s, f"demo-openid-page-{key}", region, name)
    await standing_of(s, people["a1"], {2023: 95, 2024: 90, 2025: 92})
    await standing_of(s, people["a2"], {2023: 90, 2024: 91, 2025: 10})
    await standing_of(s, people["a3"], {2023: 0, 2024: 0, 2025: 0})  # 异动
    await standing_of(s, people["b1"], {2024: 20, 2025: 100}, not_in_post=True)
    await s.get(ComplianceReports).rebuild(force=True)
    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await sign_in(browser, server.url, "city", problems, requests)
            await page.click("#nav a[data-view='compliance']")
            row_a = page.locator(f"#ce-table tr[data-region='{A}']")
            await row_a.wait_for()
            assert await page.input_value("#ce-year") == "2025"
            cells = await row_a.locator("td").all_inner_texts()
            assert cells == ["思明区", "3", "1", "2", "33.3%", "1", "0"]
            assert (await page.locator("#ce-table tr.total").locator("th").all_inner_texts())[1:5] == [
                "4",
                "2",
                "2",
                "50.0%",
            ]
            assert "统计时间" in await page.inner_text("#ce-built")
            assert await page.is_visible("#ce-rebuild")

            # the per-year chart: one column per year, completed and not completed stacked
            chart = page.locator("#ce-chart svg")
            await chart.wait_for()
            cols = chart.locator("g.col")
            assert await cols.count() >= 10  # 2017 (the year after the qualification) to this year
            col_2024 = chart.locator("g.col[data-category='2024']")
            assert await col_2024.locator("rect[data-series='已完成']").get_attribute("data-value") == "2"
            assert await col_2024.locator("rect[data-series='未完成']").get_attribute("data-value") == "2"

            # drill down: 思明区's people who did not complete 2025
            await row_a.locator("a[data-category='incomplete']").click()
            await page.wait_for_selector("#ce-people-card:not([hidden])")
            assert await page.inner_text("#ce-people-title") == "思明区 · 2025年度未完成（2 人）"
            rows = page.locator("#ce-people tbody tr")
            assert await rows.count() == 2
            text = await page.inner_text("#ce-people")
            assert "陈二" in text and "刘䶮" in text and mask_id_number(people["a2"]["archive_no"]) in text
            assert people["a2"]["archive_no"] not in text
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "admin-compliance.png"), full_page=True)

            # another year: 2024
            await page.select_option("#ce-year", "2024")
            await row_a.locator("td", has_text="66.7%").wait_for()
            assert await row_a.locator("td").all_inner_texts() == ["思明区", "3", "2", "1", "66.7%", "1", "0"]
            assert await page.is_hidden("#ce-people-card")

            # the stats page's numbers as charts
            await page.click("#nav a[data-view='stats']")
            await page.wait_for_selector("#stats-progress-chart svg g.col")
            assert await page.locator("#stats-progress-chart svg g.col").count() >= 2  # one per district
            assert await page.locator("#stats-days svg g.col").count() == 30
            await page.wait_for_selector("#stats-compliance-chart svg g.col")
            await page.screenshot(path=str(ARTIFACTS / "admin-stats-charts.png"), full_page=True)

            # a district reviewer: their district only, no recount button
            page_b = await sign_in(browser, server.url, "rev-b", problems, requests)
            await page_b.click("#nav a[data-view='compliance']")
            await page_b.locator(f"#ce-table tr[data-region='{B}']").wait_for()
            assert await page_b.locator("#ce-table tbody tr[data-region]").count() == 1
            assert await page_b.is_hidden("#ce-rebuild")
        finally:
            await browser.close()

    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(server.url)]
    assert not outside, outside
    assert not problems, problems
    asset = await http.get("/admin/static/admin_compliance.js")
    assert asset.status == 200 and b"http://" not in asset.body and b"https://" not in asset.body
