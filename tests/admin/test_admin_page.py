"""The admin page in headless Chromium: log in, open a record, reject it; the inbox shows the reason."""

from __future__ import annotations

import os
import re
from pathlib import Path

import aiohttp
import pytest

from tests.admin.conftest import A, add_staff, insert_record, jpeg_bytes

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
    # a new employer is a new work period (its proof staged first); the previous one ends the day before
    fd = aiohttp.FormData()
    fd.add_field("file", jpeg_bytes(), filename="proof.jpg", content_type="image/jpeg")
    assert (await http.post("/api/v1/me/changes/proof", token=token, data=fd)).status == 201
    new_period = {**rec["work_history"][0], "unit_name": "厦门新单位有限公司", "from": "2024-03-01"}
    del new_period["id"]
    r = await http.post(
        "/api/v1/me/changes",
        token=token,
        json={
            "changes": {"contact": {"mobile": "13987654321"}, "work_history": [rec["work_history"][0], new_period]},
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
            history = page.locator("#r-change tr[data-path='work_history']")
            assert "厦门新单位有限公司" in await history.locator("td.new").inner_text()
            assert "2012-08-01至2024-02-29" in await history.locator("td.new").inner_text()
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


async def submit_with_demo_files(http, name: str) -> str:
    """A first collection submitted through the real endpoints with `make demo-files`' photo and scans."""
    from server.demo_files import files
    from tests.miniprogram.conftest import ENTRY_KINDS, form, valid_body

    samples = files()
    login = await http.post("/api/v1/auth/login", json={"code": f"demo:{name}"})
    token = login.json["token"]
    r = await http.patch("/api/v1/me/record", token=token, json=valid_body(name="陈小华"))
    assert r.status == 200, r.text
    for missing in r.json["missing"]:
        field = missing["field"]
        if field.startswith("documents."):
            path = f"/api/v1/me/documents/{field.split('.', 1)[1]}"
        elif field.endswith(".proof"):  # an entry's proof: ?entry=<its id>
            name, index, _ = field.split(".")
            path = f"/api/v1/me/documents/{ENTRY_KINDS[name]}?entry={r.json[name][int(index)]['id']}"
        else:
            continue
        up = await http.post(path, token=token, data=form(samples["scan.jpg"], "scan.jpg"))
        assert up.status == 201, up.text
    r = await http.post("/api/v1/me/photo", token=token, data=form(samples["photo.jpg"], "photo.jpg"))
    assert r.status == 201, r.text
    r = await http.post("/api/v1/me/record/submit", token=token, json={"commitment": True})
    assert r.status == 200, r.text
    return r.json["id"]


async def loaded(page, selector: str) -> None:
    """Wait until an image has loaded (evaluated as a function: the page's CSP forbids eval-based polling)."""
    await page.locator(selector).evaluate(
        "img => img.complete && img.naturalWidth > 0 || new Promise((ok) => img.addEventListener('load', ok))"
    )


async def in_view(page, selector: str) -> bool:
    """True when the element is wholly inside the viewport without scrolling."""
    box = await page.locator(selector).bounding_box()
    size = page.viewport_size
    return (
        bool(box)
        and box["y"] >= 0
        and box["x"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and (box["x"] + box["width"] <= size["width"])
    )


async def test_a_reviewer_on_a_1280x720_screen(server, http):
    """Decision buttons in view, the photo enlarges, checks listed, states in Chinese, the tab kept."""
    from playwright.async_api import async_playwright

    s = server.services
    await add_staff(s, "reviewer-a", regions=[A])
    record_id = await submit_with_demo_files(http, "laptop")
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720}, locale="zh-CN")
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
            await page.locator(f"#queue-table tr[data-id='{record_id}'] a", has_text="审核").click()
            await page.wait_for_selector("#view-record:not([hidden])")
            await loaded(page, "#r-photo img")
            await page.wait_for_selector("#r-doc-view[data-loaded]")
            await page.wait_for_selector("#r-audit li")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "admin-1280x720.png"), full_page=False)

            # the decision buttons are on screen without scrolling
            assert await in_view(page, "#approve-btn") and await in_view(page, "#reject-btn")
            # the photo checks are a list, one check a line
            checks = page.locator("#r-photo ul.checks li")
            assert await checks.count() == 9
            assert "检测到一张人脸" in await page.inner_text("#r-photo li[data-check='face_count']")
            # no internal versions, states in Chinese
            assert "版本" not in await page.inner_text("#r-meta")

            # the photo enlarges (click), and closes again (Esc)
            thumb = await page.locator("#r-photo img").bounding_box()
            await page.click("#r-photo-zoom")
            await page.wait_for_selector("#photo-overlay:not([hidden])")
            await loaded(page, "#photo-overlay-img")
            big = await page.locator("#photo-overlay-img").bounding_box()
            assert big["height"] >= 2 * thumb["height"] and big["height"] <= 720
            await page.screenshot(path=str(ARTIFACTS / "admin-1280x720-photo.png"), full_page=False)
            await page.keyboard.press("Escape")
            await page.wait_for_selector("#photo-overlay", state="hidden")

            # the reviewer looks at the second document, rejects: the same document stays on screen
            second = page.locator("#r-doc-tabs button").nth(1)
            kind, label = await second.get_attribute("data-kind"), await second.inner_text()
            await second.click()
            await page.locator("#reason-templates label", has_text="证件不清晰").click()
            await page.fill("#reason-text", "身份证反面看不清。")
            await page.click("#reject-btn")
            await page.click("#reject-btn")
            await page.wait_for_selector("#r-status:text('已退回')")
            active = page.locator("#r-doc-tabs button.active")
            assert await active.get_attribute("data-kind") == kind and await active.inner_text() == label
            assert kind in (await page.get_attribute("#r-doc-view img", "src") or "")
            await page.wait_for_selector("#r-audit li:has-text('待审核 → 已退回')")
            history = await page.inner_text("#r-history") + await page.inner_text("#r-audit")
            assert "版本" not in history and "rejected" not in history and "submitted" not in history
            assert not re.search(r"\bv\d", history)
            await page.screenshot(path=str(ARTIFACTS / "admin-1280x720-rejected.png"), full_page=False)
            await page.screenshot(path=str(ARTIFACTS / "admin-1280x720-rejected-full.png"), full_page=True)

            await page.click("#nav a[data-view='audit']")
            await page.wait_for_selector("#audit-table tbody tr")
            audit_page = await page.inner_text("#audit-table")
            assert "待审核 → 已退回" in audit_page and "rejected" not in audit_page
        finally:
            await browser.close()
    assert not problems, problems

    login = await http.post("/api/v1/auth/login", json={"code": "demo:laptop"})
    [message] = (await http.get("/api/v1/me/messages", token=login.json["token"])).json["messages"]
    assert "身份证反面看不清。请按要求" in message["body"] and "。。" not in message["body"]
