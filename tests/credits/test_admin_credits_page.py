"""The admin page's 学分 view in headless Chromium: a city administrator previews a provider's file
with a bad row (nothing written), imports its valid rows, sees the import listed and undoes it; then
grants an equivalence claim and looks the person up."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from server.staff import StaffAccounts
from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM
from tests.credits.conftest import PASSWORD, XLSX, form, row, xlsx
from tests.miniprogram.conftest import jpeg_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]
THIS_YEAR = dt.date.today().year


async def test_an_administrator_imports_undoes_and_grants_a_claim_in_the_browser(server, person):
    from playwright.async_api import async_playwright

    s = server.services
    await s.get(StaffAccounts).ensure("ce-page", "city_admin", [], PASSWORD)
    client, rec = await person("page-ce", qualified=THIS_YEAR - 4)
    staged = await client.post("/api/v1/me/ce-claims/files?slot=ce_claim_proof", data=form(jpeg_bytes(), "c.jpg"))
    assert staged.status == 201
    claim = await client.post(
        "/api/v1/me/ce-claims", json={"activity": "accounting_exam", "year": THIS_YEAR - 1, "credits": 90}
    )
    assert claim.status == 201, claim.text
    data = xlsx(
        [row(rec, THIS_YEAR - 2, 60), ["110105194912310029", "无档案", THIS_YEAR - 2, 30, "专业科目", "机构", "课"]]
    )
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
            page.on("dialog", lambda d: d.accept())
            await page.goto(server.url + "/admin/")
            await page.fill("#login-username", "ce-page")
            await page.fill("#login-password", PASSWORD)
            await page.click("#login-submit")
            await page.click("#nav a[data-view='credits']")
            await page.wait_for_selector("#ce-file")

            await page.set_input_files("#ce-file", {"name": "学分.xlsx", "mimeType": XLSX, "buffer": data})
            await page.click("#ce-preview")
            await page.wait_for_selector("#ce-errors tbody tr")
            assert "没有该证件号码" in await page.inner_text("#ce-errors")
            assert "有误 1 行" in await page.inner_text("#ce-counts")
            assert await s.db["ce_credits"].count_documents({}) == 0
            await page.screenshot(path=str(ARTIFACTS / "admin-credits-preview.png"), full_page=True)
            await page.check("#ce-skip")
            await page.click("#ce-commit")
            await page.wait_for_selector("#ce-imports tbody tr:has-text('已导入')")
            assert await s.db["ce_credits"].count_documents({}) == 1
            await page.click("#ce-imports tbody tr button")
            await page.wait_for_selector("#ce-imports tbody tr:has-text('已撤销')")
            assert await s.db["ce_credits"].count_documents({}) == 0

            await page.fill("#ce-claims .ce-grant", "60")
            await page.click("#ce-claims button:has-text('认定')")
            await page.wait_for_selector("#ce-claims:has-text('没有待审核的申请')")
            entries = (await s.db["ce_credits"].find_one({"_id": rec["archive_no"]}))["entries"]
            assert [(e["source"], e["credits"]) for e in entries] == [("claim", 60)]

            await page.fill("#ce-archive", rec["archive_no"])
            await page.click("#ce-lookup")
            await page.wait_for_selector("#ce-person table")
            text = await page.inner_text("#ce-person")
            assert "异动" in text and f"{THIS_YEAR - 1}" in text and "60 / 90" in text
            await page.screenshot(path=str(ARTIFACTS / "admin-credits-person.png"), full_page=True)
        finally:
            await browser.close()
    assert problems == []
