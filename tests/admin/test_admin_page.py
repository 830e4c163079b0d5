"""The admin page in headless Chromium: log in, open a record, reject it; the inbox shows the reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.admin.conftest import A, add_staff, insert_record

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


async def test_page_assets_are_local_and_served(server, http):
    page = await http.get("/admin/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "审核管理" in page.text and "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("admin.js", "admin.css"):
        r = await http.get(f"/admin/static/{asset}")
        assert r.status == 200 and b"https://" not in r.body and b"http://" not in r.body
    assert (await http.get("/admin/static/nope.js")).status == 404
    assert (await http.get("/admin/static/..%2Fbase.py")).status == 404


async def test_reviewer_rejects_a_record_in_the_browser_and_the_inbox_shows_why(server, http):
    from playwright.async_api import async_playwright

    s = server.services
    await add_staff(s, "reviewer-a", regions=[A])
    rec = await insert_record(s, name="刘䶮", openid="demo-openid-browser")
    other = await insert_record(s, name="王小明")
    requests: list[str] = []
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page.on("request", lambda req: requests.append(req.url))
            page.on(
                "console",
                lambda msg: problems.append(msg.text) if msg.type == "error" and "401" not in msg.text else None,
            )  # 401s are expected: before login and the deliberate wrong password
            page.on(
                "response",
                lambda resp: (
                    problems.append(f"{resp.status} {resp.url}") if resp.status >= 400 and resp.status != 401 else None
                ),
            )
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            await page.goto(server.url + "/admin/")
            await page.fill("#login-username", "reviewer-a")
            await page.fill("#login-password", "wrong-password")
            await page.click("#login-submit")
            await page.wait_for_selector("#login-error:text('用户名或密码错误')")
            await page.fill("#login-password", "correct-horse-42")
            await page.click("#login-submit")
            row = page.locator(f"#queue-table tr[data-id='{rec['_id']}']")
            await row.wait_for()
            assert await page.locator("#queue-table tbody tr").count() == 2
            assert "********" in await row.inner_text()
            await row.locator("a", has_text="审核").click()
            await page.wait_for_selector("#view-record:not([hidden])")
            assert await page.inner_text("#r-name") == "刘䶮"
            assert "生僻字" in await page.inner_text("#r-rare")
            await page.wait_for_function("document.querySelector('#r-photo img')?.naturalWidth > 0")
            await page.wait_for_selector("#r-doc-view[data-loaded]")
            assert "请下载后查看" in await page.inner_text("#r-doc-view")  # a sandboxed PDF is downloaded
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "admin-record.png"), full_page=False)

            await page.locator("#reason-templates label", has_text="照片不合格").click()
            await page.fill("#reason-text", "请上传白底正面免冠照片")
            await page.click("#reject-btn")
            assert await page.inner_text("#reject-btn") == "确认退回"
            await page.click("#reject-btn")
            await page.wait_for_selector("#r-status:text('已退回')")
            assert "照片不合格：请上传白底正面免冠照片" in await page.inner_text("#decision-closed")
            await page.screenshot(path=str(ARTIFACTS / "admin-record-rejected.png"), full_page=False)

            await page.click("#nav a[data-view='stats']")
            await page.wait_for_selector("#stats-table tbody tr")
            assert "思明区" in await page.inner_text("#stats-table")
            await page.click("#logout")
            await page.wait_for_selector("#view-login:not([hidden])")
        finally:
            await browser.close()

    # Nothing leaves the server (chrome:// and extension URLs are the built-in PDF viewer's own).
    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(server.url)]
    assert not outside, outside
    assert not problems, problems
    doc = await s.db["applications"].find_one({"_id": rec["_id"]})
    assert doc["status"] == "rejected" and doc["decision"]["by"] == "reviewer-a"
    assert (await s.db["applications"].find_one({"_id": other["_id"]}))["status"] == "submitted"

    login = await http.post("/api/v1/auth/login", json={"code": "demo:browser"})
    assert login.status == 200, login.text
    inbox = await http.get("/api/v1/me/messages", token=login.json["token"])
    assert inbox.status == 200, inbox.text
    [message] = inbox.json["messages"]
    assert "照片不合格：请上传白底正面免冠照片" in message["body"]
    assert message["data"]["reason"] == "照片不合格：请上传白底正面免冠照片"


async def test_reviewer_sees_a_change_beside_the_archive_and_approves_it_in_the_browser(server, http):
    from playwright.async_api import async_playwright

    s = server.services
    await add_staff(s, "reviewer-a", regions=[A])
    rec = await insert_record(s, name="王小明", status="approved", openid="demo-openid-mover", mobile="13812345678")
    login = await http.post("/api/v1/auth/login", json={"code": "demo:mover"})
    token = login.json["token"]
    r = await http.post(
        "/api/v1/me/changes",
        token=token,
        json={
            "changes": {"contact": {"mobile": "13987654321"}, "employment": {"unit_name": "厦门新单位有限公司"}},
            "reason": "换了工作",
        },
    )
    assert r.status == 201, r.text
    change_id = r.json["id"]
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on(
                "response",
                lambda resp: (
                    problems.append(f"{resp.status} {resp.url}") if resp.status >= 400 and resp.status != 401 else None
                ),
            )
            await page.goto(server.url + "/admin/")
            await page.fill("#login-username", "reviewer-a")
            await page.fill("#login-password", "correct-horse-42")
            await page.click("#login-submit")
            await page.wait_for_selector("#view-queue:not([hidden])")
            await page.select_option("#f-kind", "change")
            await page.select_option("#f-status", "submitted")
            await page.click("#queue-filters button[type=submit]")
            row = page.locator(f"#queue-table tr[data-id='{change_id}']")
            await row.wait_for()
            assert "王小明" in await row.inner_text()
            await row.locator("a", has_text="审核").click()
            await page.wait_for_selector("#r-change-card:not([hidden])")
            mobile = page.locator("#r-change tr[data-path='contact.mobile']")
            assert await mobile.locator("td.old").inner_text() == "13812345678"
            assert await mobile.locator("td.new").inner_text() == "13987654321"
            assert "换了工作" in await page.inner_text("#r-change-reason")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "admin-change.png"), full_page=False)
            await page.click("#approve-btn")
            assert await page.inner_text("#approve-btn") == "确认通过"
            await page.click("#approve-btn")
            await page.wait_for_selector("#r-status:text('已通过')")
        finally:
            await browser.close()
    assert not problems, problems
    me = (await http.get("/api/v1/me/record", token=token)).json
    assert me["contact"]["mobile"] == "13987654321" and me["employment"]["unit_name"] == "厦门新单位有限公司"
    assert me["archive"]["version"] == 2
    archive = await s.db["archives"].find_one({"_id": rec["archive_no"]})
    assert {"field": "contact.mobile", "old": "13812345678", "new": "13987654321"} in archive["versions"][-1]["diff"]
