"""The hand-off image (上报图片) in the admin page's document viewer, in headless Chromium: a reviewer
opens a record whose diploma is a 3-page PDF, presses "生成上报图片" and sees the merged JPEG with its
size, pixel size and page count; shown again, the record says "已生成" without pressing."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from server.db import utcnow
from tests.admin.conftest import A, add_staff, insert_record
from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM, pytestmark  # noqa: F401
from tests.handoff.files import text_pdf


async def image_loaded(page) -> None:
    """Wait until the hand-off image in the document viewer has been decoded (the page's CSP forbids
    the string predicates of wait_for_function)."""
    img = page.locator("#r-doc-view .handoff-img")
    await img.wait_for()
    for _ in range(200):
        if await img.evaluate("el => el.complete && el.naturalWidth > 0"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the hand-off image did not load")


async def test_reviewer_makes_the_hand_off_image_of_a_three_page_pdf(server, http):
    from playwright.async_api import async_playwright

    s = server.services
    await add_staff(s, "reviewer-h", regions=[A])
    rec = await insert_record(s, name="王小明")
    pdf = await s.files.put(text_pdf(3), "diploma.pdf", "application/pdf")
    await s.db["applications"].update_one(
        {"_id": rec["_id"]}, {"$set": {"documents.diploma": {**pdf, "uploaded_at": utcnow()}}}
    )
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page.on(
                "console",
                lambda msg: problems.append(msg.text) if msg.type == "error" and "401" not in msg.text else None,
            )
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and r.status != 401 else None,
            )
            await page.goto(server.url + "/admin/")
            await page.fill("#login-username", "reviewer-h")
            await page.fill("#login-password", "correct-horse-42")
            await page.click("#login-submit")
            row = page.locator(f"#queue-table tr[data-id='{rec['_id']}']")
            await row.wait_for()
            await row.locator("a", has_text="审核").click()
            await page.wait_for_selector("#view-record:not([hidden])")
            box = page.locator("#r-doc-view .handoff[data-kind='diploma'][data-loaded]")
            await box.wait_for()
            assert await box.get_attribute("data-made") is None
            assert "已生成" not in await box.inner_text()

            await box.locator("button", has_text="生成上报图片").click()
            await box.locator(".handoff-status", has_text="已生成").wait_for(timeout=30000)
            await image_loaded(page)
            text = await box.inner_text()
            assert "已生成" in text and "3 页" in text and "KB" in text and "像素" in text, text
            stored = (await s.db["applications"].find_one({"_id": rec["_id"]}))["documents"]["diploma"]["handoff"]
            assert stored["pages"] == 3
            assert f"{stored['width']}×{stored['height']} 像素" in text
            assert f"{max(1, round(stored['size'] / 1024))} KB" in text
            natural = await page.locator("#r-doc-view .handoff-img").evaluate(
                "el => [el.naturalWidth, el.naturalHeight]"
            )
            assert natural == [stored["width"], stored["height"]]
            link = box.locator("a", has_text="在新窗口打开")
            href = await link.get_attribute("href")
            assert href.startswith(f"/admin/api/records/{rec['_id']}/documents/diploma/handoff/file")
            got = await page.request.get(server.url + href)
            assert got.status == 200 and got.headers["content-type"] == "image/jpeg"
            img = Image.open(io.BytesIO(await got.body()))
            assert img.format == "JPEG" and img.size == (stored["width"], stored["height"])
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "admin-handoff.png"), full_page=False)

            # shown again (reload): the existing image is read, "已生成" without pressing
            await page.reload()
            await page.wait_for_selector("#view-record:not([hidden])")
            box = page.locator("#r-doc-view .handoff[data-kind='diploma'][data-loaded]")
            await box.wait_for()
            assert await box.get_attribute("data-made") == "1"
            assert "已生成" in await box.inner_text()
            await image_loaded(page)
            assert problems == []
        finally:
            await browser.close()
