"""单位管理 in the admin page, headless Chromium: the unit's district opens a unit-administrator
application from the verification queue, sees the claim and the business licence, verifies it
(the applicant can then act for the unit over HTTP), turns on the district's confirmation
requirement, sees the unit in the district's list with its administrator and counts, and a first
collection's unit answer on the queue and the record page."""

from __future__ import annotations

from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM, pytestmark  # noqa: F401
from tests.admin.test_admin_transfers import confirm, sign_in
from tests.units.conftest import A, new_uscc, person_of_unit, unit_reviewer


async def test_a_reviewer_verifies_a_unit_administrator_in_the_browser(server, apply_unit_admin, staff_client):
    from playwright.async_api import async_playwright

    uscc = new_uscc()
    client, app = await apply_unit_admin("page-admin", uscc)
    assert (await client.get(f"/api/v1/unit/{uscc}")).status == 403
    await unit_reviewer(server, staff_client, A)
    denied = await person_of_unit(server, uscc, name="蒋被否认")
    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await sign_in(browser, server.url, f"unit-rev-{A}", problems, requests)
            await page.click("#nav a[data-view=units]")
            row = page.locator(f"#unit-admin-queue tr[data-id='{app['id']}']")
            await row.wait_for()
            text = await row.inner_text()
            assert "林财务" in text and "厦门示例会计服务有限公司" in text and uscc in text
            await row.locator("a", has_text="认证").click()
            await page.wait_for_selector("#r-unit-card:not([hidden])")
            assert (await page.inner_text("#r-meta")).startswith("单位管理员认证 · 思明区")
            assert await page.inner_text("#r-name") == "林财务" and await page.locator("#r-sections .card").count() == 0
            card = page.locator("#r-unit-card")
            assert await card.locator("dd[data-key=uscc]").inner_text() == uscc
            assert "受委托人" in await card.locator("dd[data-key=applicant]").inner_text()
            assert await card.locator("dd[data-key=mobile]").inner_text() == "13912345678"
            tabs = await page.locator("#r-doc-tabs button").all_inner_texts()
            assert tabs == ["单位营业执照（或登记证书）", "授权委托书"]
            assert await page.locator("#decision-actions button").all_inner_texts() == ["通过认证", "不予认证"]
            ARTIFACTS.mkdir(exist_ok=True)
            await confirm(page, "#approve-btn")
            await page.wait_for_selector("#r-status:text('已认证')")
            assert "林*务" in await card.locator("dd[data-key=admins]").inner_text()
            assert await page.locator("#decision-actions button").all_inner_texts() == ["撤销管理员"]
            assert await page.inner_text("#r-name") == "林财务"
            await page.screenshot(path=str(ARTIFACTS / "admin-unit-verify.png"), full_page=False)

            # the district's setting and list
            await page.click("#nav a[data-view=units]")
            await page.wait_for_selector("#unit-admin-queue td.muted")  # nothing left to verify
            unit_row = page.locator(f"#unit-list tr[data-uscc='{uscc}']")
            await unit_row.wait_for()
            cells = await unit_row.locator("td").all_inner_texts()
            assert cells[0] == "厦门示例会计服务有限公司" and "林*务" in cells[3] and cells[4:] == ["0", "0", "1"]
            await page.check(f"#unit-settings input[data-region='{A}']")
            await page.wait_for_selector("#flash:has-text('审核通过前须经单位确认')")
        finally:
            await browser.close()

        # the verified administrator acts for the unit; the reviewer sees the answer
        assert (await client.get(f"/api/v1/unit/{uscc}")).status == 200
        r = await client.post(f"/api/v1/unit/{uscc}/people/{denied['_id']}/deny", json={"reason": "非本单位人员"})
        assert r.status == 200, r.text
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await sign_in(browser, server.url, f"unit-rev-{A}", problems, requests)
            badge = page.locator(f"#queue-table tr[data-id='{denied['_id']}'] [data-unit=denied]")
            await badge.wait_for()
            assert await badge.inner_text() == "单位未确认"
            await page.locator(f"#queue-table tr[data-id='{denied['_id']}'] a", has_text="审核").click()
            await page.wait_for_selector("#r-unit-card dd[data-key=reason]")
            assert await page.inner_text("#r-unit-card dd[data-key=reason]") == "非本单位人员"
            assert await page.locator("#r-unit-required").is_visible()
            await confirm(page, "#approve-btn")  # the district waits for the unit: refused, and said why
            await page.wait_for_selector("#decision-error:has-text('本区要求工作单位确认后才能审核通过')")
            assert await page.inner_text("#r-status") == "待审核"
            await page.screenshot(path=str(ARTIFACTS / "admin-unit-denied.png"), full_page=False)
        finally:
            await browser.close()

    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(server.url)]
    assert not outside, outside
    assert problems == [f"409 {server.url}/admin/api/applications/{denied['_id']}/decision"]  # the refused approval
    setting = await server.services.db["unit_settings"].find_one({"_id": A})
    assert setting["require_confirmation"] is True and setting["updated_by"] == f"unit-rev-{A}"
