"""A transfer within the deployment (区内调转) in the admin page, headless Chromium: the destination
waits while the origin releases (同意调出), then accepts (同意调入); the archive moves to it."""

from __future__ import annotations

from bson import ObjectId

from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM, pytestmark  # noqa: F401
from tests.transfers.conftest import A, B, apply, approved_person, archive_of, as_user, reviewer  # noqa: F401

APPS = "/admin/api/applications"


def watch(page, problems: list[str], requests: list[str]) -> None:
    """Collect page errors and failed responses (401s are expected before login), and every request."""
    page.on("request", lambda req: requests.append(req.url))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response",
        lambda resp: (
            problems.append(f"{resp.status} {resp.url}") if resp.status >= 400 and resp.status != 401 else None
        ),
    )


async def sign_in(browser, url: str, username: str, problems: list[str], requests: list[str]):
    """A new browser context (its own cookies) signed in to the admin page."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    watch(page, problems, requests)
    await page.goto(url + "/admin/")
    await page.fill("#login-username", username)
    await page.fill("#login-password", "correct-horse-42")
    await page.click("#login-submit")
    await page.wait_for_selector("#view-queue:not([hidden])")
    return page


async def open_from_queue(page, tid: str, status: str, route: str) -> None:
    """Filter the queue to 区内调转 in a state, check the row's 调出地 → 调入地, open it."""
    await page.select_option("#f-kind", "transfer_within")
    await page.select_option("#f-status", status)
    await page.click("#queue-filters button[type=submit]")
    row = page.locator(f"#queue-table tr[data-id='{tid}']")
    await row.wait_for()
    assert await page.inner_text("#q-region-head") == "调出地 → 调入地"
    assert await row.locator("td.region").inner_text() == route
    assert "区内调转·" in await row.inner_text()
    await row.locator("a", has_text="审核").click()
    await page.wait_for_selector("#r-transfer-card:not([hidden])")


async def confirm(page, button: str) -> None:
    """Click a decision button twice (the second click confirms)."""
    label = await page.inner_text(button)
    await page.click(button)
    assert await page.inner_text(button) == "确认" + label
    await page.click(button)


async def test_both_districts_take_their_step_of_a_transfer_in_the_browser(server, approved_person, staff_client):  # noqa: F811
    from playwright.async_api import async_playwright

    s = server.services
    rev_b = await reviewer(server, staff_client, "rev-b", [B])
    await reviewer(server, staff_client, "rev-a", [A])
    person, rec = await approved_person("mover")
    r = await apply(person, "within", B, note="调入海沧区新单位")
    assert r.status == 201, r.text
    tid = r.json["id"]
    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # the destination sees it at once, without buttons: the origin has the first step
            page_b = await sign_in(browser, server.url, "rev-b", problems, requests)
            await open_from_queue(page_b, tid, "", "思明区 → 海沧区")
            assert await page_b.locator("#decision-form").is_hidden()
            assert await page_b.inner_text("#decision-closed") == "等待调出地（思明区）财政局审核"

            # the origin releases: 同意调出, then it waits for the destination
            page_a = await sign_in(browser, server.url, "rev-a", problems, requests)
            await open_from_queue(page_a, tid, "submitted", "思明区 → 350205")  # B's name is not A's to know
            fields = page_a.locator("#r-transfer")
            assert await fields.locator("dd[data-key=kind]").inner_text() == "区内调转"
            assert await fields.locator("dd[data-key=route]").inner_text() == "思明区 → 海沧区"
            assert await fields.locator("dd[data-key=reason]").inner_text() == "工作单位变动"
            assert await fields.locator("dd[data-key=note]").inner_text() == "调入海沧区新单位"
            assert await page_a.locator("#r-transfer-sheet").count() == 0  # only an approved transfer out has one
            assert await page_a.inner_text("#reason-prompt") == "不同意原因（可多选）："
            assert [await b.inner_text() for b in await page_a.locator("#decision-actions button").all()] == [
                "同意调出",
                "不同意调出",
            ]
            await confirm(page_a, "#approve-btn")
            await page_a.wait_for_selector("#r-status:text('待调入地接收')")
            ARTIFACTS.mkdir(exist_ok=True)
            assert await page_a.inner_text("#decision-closed") == "等待调入地（海沧区）财政局接收"
            assert "同意调出 · 思明区 · rev-a · " in await page_a.inner_text("#r-history")
            await page_a.wait_for_selector("#r-audit li:has-text('rev-a 同意调出')")  # the step's words, not 通过
            await page_a.screenshot(path=str(ARTIFACTS / "admin-transfer-released.png"), full_page=True)
            await page_a.context.close()

            # the destination, in its 待调入地接收 queue: its own step's buttons and the origin's step
            await page_b.click(".record-head a.back")
            await open_from_queue(page_b, tid, "released", "思明区 → 海沧区")
            assert await page_b.inner_text("#approve-btn") == "同意调入"
            assert await page_b.inner_text("#reject-btn") == "不同意调入"
            assert await page_b.inner_text("#r-status") == "待调入地接收"
            history = await page_b.inner_text("#r-history")
            assert "申请调转 · 本人 · " in history and "同意调出 · 思明区 · rev-a · " in history
            await page_b.wait_for_function("document.querySelector('#r-doc-view img')?.naturalWidth > 0")
            await page_b.screenshot(path=str(ARTIFACTS / "admin-transfer.png"), full_page=False)

            await confirm(page_b, "#approve-btn")
            await page_b.wait_for_selector("#r-status:text('已调入')")
            assert "同意调入 · 海沧区 · rev-b · " in await page_b.inner_text("#r-history")
            assert (await page_b.inner_text("#decision-closed")).startswith("同意调入（rev-b，")
            versions = await page_b.inner_text("#r-versions")
            assert "区内调转" in versions and "思明区 → 海沧区" in versions
            await page_b.screenshot(path=str(ARTIFACTS / "admin-transfer-accepted.png"), full_page=False)

            # the statistics: one flow 思明区 → 海沧区, done
            await page_b.click("#nav a[data-view='stats']")
            flow = page_b.locator("#stats-transfers tr[data-kind='transfer_within']")
            await flow.wait_for()
            assert [await c.inner_text() for c in await flow.locator("td").all()] == [
                "区内调转",
                "思明区",
                "海沧区",
                "0",
                "—",
                "1",
            ]
        finally:
            await browser.close()

    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(server.url)]
    assert not outside, outside
    assert not problems, problems  # the destination reads the transfer's audit entries too
    app = await s.db["applications"].find_one({"_id": ObjectId(tid)})
    assert app["status"] == "accepted"
    moved = await archive_of(s, rec)
    assert moved["region_code"] == B and moved["data"]["region_code"] == B and moved["open_change"] is None
    record = await rev_b.get(f"/admin/api/records/{rec['_id']}")
    assert record.status == 200 and record.json["region_code"] == B, record.text
