"""The admin page's announcements (公告) in headless Chromium: a reviewer publishes one for their
district, a person of that district reads it in the mini-program API, the reviewer withdraws it."""

from __future__ import annotations

import os

import pytest

from tests.admin.conftest import A, add_staff
from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]

TITLE = "关于2026年度会计人员信息采集的通知"
BODY = "请思明区会计人员于6月30日前在小程序完成信息采集。\n如有疑问，请致电区财政局。"


async def feed(http, token: str) -> list[dict]:
    r = await http.get("/api/v1/announcements", token=token)
    assert r.status == 200, r.text
    return r.json["items"]


async def test_a_reviewer_publishes_an_announcement_in_the_browser_and_the_district_reads_it(server, http):
    from playwright.async_api import async_playwright

    s = server.services
    await add_staff(s, "reviewer-a", regions=[A])
    login = await http.post("/api/v1/auth/login", json={"code": "demo:siming"})
    token = login.json["token"]
    assert (await http.patch("/api/v1/me/record", json={"region_code": A}, token=token)).status == 200
    other = (await http.post("/api/v1/auth/login", json={"code": "demo:haicang"})).json["token"]
    assert (await http.patch("/api/v1/me/record", json={"region_code": "350205"}, token=other)).status == 200
    requests: list[str] = []
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page.on("request", lambda req: requests.append(req.url))
            page.on(
                "console",
                lambda msg: (
                    problems.append(msg.text)
                    if msg.type == "error" and "401" not in msg.text and "422" not in msg.text
                    else None
                ),
            )  # the 401 before login and the 422 of a past expiry are expected
            page.on(
                "response",
                lambda resp: (
                    problems.append(f"{resp.status} {resp.url}")
                    if resp.status >= 400 and resp.status not in (401, 422)
                    else None
                ),
            )
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            await page.goto(server.url + "/admin/")
            await page.fill("#login-username", "reviewer-a")
            await page.fill("#login-password", "correct-horse-42")
            await page.click("#login-submit")
            await page.wait_for_selector("#view-queue:not([hidden])")
            await page.click("#nav a[data-view='announcements']")
            await page.wait_for_selector("#ann-table tbody tr td.muted:text('暂无公告')")

            await page.click("#ann-new")
            # a reviewer's scopes are their own districts: no 全市, so no push
            assert await page.locator("#ann-scope option").all_inner_texts() == ["思明区"]
            assert await page.is_disabled("#ann-push")
            await page.click("#ann-save")  # empty: the page says what is missing, field by field
            assert await page.inner_text("#ann-form [data-error='title']") == "请填写标题"
            await page.fill("#ann-title", TITLE)
            await page.fill("#ann-body", BODY)
            await page.fill("#ann-expire", "2020-01-01T08:00")  # in the past: the server's field error
            await page.click("#ann-save")
            await page.wait_for_selector("#ann-form [data-error='expire_at']:text('截止时间须晚于现在')")
            await page.fill("#ann-expire", "2099-12-31T18:00")
            await page.check("#ann-pinned")
            await page.click("#ann-save")
            row = page.locator("#ann-table tbody tr", has_text=TITLE)
            await row.wait_for()
            assert await page.is_hidden("#ann-form")
            text = await row.inner_text()
            assert "思明区" in text and "发布中" in text and "置顶" in text and "2099-12-31 18:00" in text

            # the person of 思明区 reads it; one of 海沧区 does not
            [item] = await feed(http, token)
            assert (item["title"], item["body"], item["scope_name"], item["pinned"]) == (TITLE, BODY, "思明区", True)
            assert await feed(http, other) == []

            # edit the title, then withdraw (two clicks); the person no longer sees it
            await row.locator("button.ann-edit").click()
            await page.fill("#ann-title", TITLE + "（更新）")
            ARTIFACTS.mkdir(exist_ok=True)  # the editor above the list
            await page.screenshot(path=str(ARTIFACTS / "admin-announcements.png"), full_page=False)
            await page.click("#ann-save")
            row = page.locator("#ann-table tbody tr", has_text="（更新）")
            await row.wait_for()
            assert [i["title"] for i in await feed(http, token)] == [TITLE + "（更新）"]
            await row.locator("button.ann-withdraw").click()
            await row.locator("button.ann-withdraw:text('确认撤回')").click()
            await page.wait_for_selector("#ann-table tbody tr:has-text('已撤回')")
            assert await feed(http, token) == []

            await page.click("#nav a[data-view='audit']")
            await page.wait_for_selector("#audit-table tbody tr:has-text('撤回公告')")
            assert "发布公告" in await page.inner_text("#audit-table")
        finally:
            await browser.close()

    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(server.url)]
    assert not outside, outside
    assert not problems, problems
