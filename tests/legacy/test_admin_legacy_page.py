"""The admin page's 原档案 view in headless Chromium: a city administrator imports a small file
with one bad row, sees the row's error, fixes the file, previews again and confirms; the history,
the mismatch check and the not-yet-collected counts show up."""

from __future__ import annotations

import os

import pytest

from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM
from tests.legacy.conftest import add_staff, number, person, xlsx_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_an_administrator_fixes_a_bad_row_and_imports_in_the_browser(server):
    from playwright.async_api import async_playwright

    s = server.services
    await add_staff(s, "legacy-admin", role="city_admin", regions=[])
    bad = xlsx_bytes([person(1, "王小明"), person(2, "李四", first_work_date="2005-13-01"), person(3, "张三")])
    good = xlsx_bytes([person(1, "王小明"), person(2, "李四", first_work_date="2005-12-01"), person(3, "张三")])
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on(
                "response",
                lambda resp: problems.append(f"{resp.status} {resp.url}") if resp.status >= 500 else None,
            )
            await page.goto(server.url + "/admin/")
            await page.fill("#login-username", "legacy-admin")
            await page.fill("#login-password", "correct-horse-42")
            await page.click("#login-submit")
            await page.wait_for_selector("#nav a[data-view='legacy']")
            await page.click("#nav a[data-view='legacy']")
            await page.wait_for_selector("#legacy-file")

            await page.set_input_files("#legacy-file", {"name": "原档案.xlsx", "mimeType": XLSX, "buffer": bad})
            await page.click("#legacy-preview")
            error = page.locator("#legacy-errors tr[data-row='3']")
            await error.wait_for()
            assert "首次参加会计工作日期" in await error.inner_text()
            assert "有问题 1 行" in await page.inner_text("#legacy-counts")
            assert await page.is_disabled("#legacy-confirm")
            assert await page.is_visible("#legacy-fix")
            await page.screenshot(path=str(ARTIFACTS / "admin-legacy-preview-error.png"), full_page=True)
            assert await s.db["legacy_register"].count_documents({}) == 0

            await page.set_input_files("#legacy-file", {"name": "原档案-改.xlsx", "mimeType": XLSX, "buffer": good})
            await page.click("#legacy-preview")
            await page.wait_for_selector("#legacy-errors", state="hidden")
            assert "新增 3" in await page.inner_text("#legacy-counts")
            assert await page.locator("#legacy-sample tbody tr").count() == 3
            await page.click("#legacy-confirm")
            await page.wait_for_selector("#legacy-counts:text('已导入：新增 3')")
            await page.wait_for_selector("#legacy-history tbody tr:has-text('已导入')")
            assert await page.locator("#legacy-history tbody tr").count() == 2  # the bad preview is kept too
            assert await s.db["legacy_register"].count_documents({}) == 3
            assert (await s.db["legacy_register"].find_one({"_id": number(2)}))["first_work_date"] == "2005-12-01"

            pending = page.locator("#legacy-pending tr[data-region='350203']")
            await pending.wait_for()
            for _ in range(100):  # the list is computed in the background after the import
                await page.evaluate("legacyPending()")
                if await pending.locator("a").count():
                    break
                await page.wait_for_timeout(100)
            assert await pending.locator("a").inner_text() == "3"
            await pending.locator("a").click()
            await page.wait_for_selector("#legacy-pending-list tbody tr")
            assert await page.locator("#legacy-pending-list tbody tr").count() == 3
            assert "王*明" in await page.inner_text("#legacy-pending-list")
            await page.screenshot(path=str(ARTIFACTS / "admin-legacy-imported.png"), full_page=True)
        finally:
            await browser.close()
    assert problems == []
