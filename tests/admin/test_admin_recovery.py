"""Account recovery (账号找回) in the admin page, headless Chromium: the archive's district opens the
recovery from its queue, compares the archive's photo and ID scans with the three new images side
by side, and approves it (同意找回); the old account is shut out and the archive moves."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from server.db import utcnow
from tests.admin.test_admin_page import ARGS, ARTIFACTS, CHROMIUM, loaded, pytestmark  # noqa: F401
from tests.admin.test_admin_transfers import confirm, sign_in
from tests.miniprogram.conftest import form
from tests.recovery.conftest import RECORD, A, approved_person, archive_of, as_user, reviewer, staff_client  # noqa: F401

RECOVERY = "/api/v1/me/recovery"
APPS = "/admin/api/applications"


def picture(kind: str) -> bytes:
    """A recognisable JPEG: an ID card's front or back, or a person holding a card."""
    if kind == "selfie":
        img = Image.new("RGB", (360, 480), (236, 240, 244))
        d = ImageDraw.Draw(img)
        d.ellipse((125, 60, 235, 180), fill=(224, 190, 160))
        d.rectangle((95, 190, 265, 480), fill=(60, 90, 130))
        d.rounded_rectangle((150, 260, 310, 360), 8, fill=(214, 230, 245), outline=(90, 120, 160), width=3)
        return _jpeg(img)
    img = Image.new("RGB", (428, 270), (214, 230, 245))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((4, 4, 423, 265), 16, outline=(90, 120, 160), width=4)
    if kind == "front":
        d.rectangle((290, 40, 400, 190), fill=(250, 250, 250))
        d.ellipse((315, 60, 375, 125), fill=(224, 190, 160))
        d.rectangle((305, 130, 385, 190), fill=(40, 60, 90))
        for y in (60, 95, 130, 165, 220):
            d.rectangle((30, y, 260 if y < 200 else 400, y + 12), fill=(120, 140, 170))
    else:
        d.ellipse((40, 40, 130, 130), fill=(200, 40, 40))
        for y in (170, 205):
            d.rectangle((150, y, 400, y + 12), fill=(120, 140, 170))
    return _jpeg(img)


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


async def give_id_scans(services, rec: dict) -> None:
    """The approved record and its archive get the ID document scans of a first collection."""
    now = utcnow()
    scans = {}
    for kind, shape in (("id_front", "front"), ("id_back", "back")):
        info = await services.files.put(picture(shape), f"{kind}.jpg", "image/jpeg")
        scans[f"documents.{kind}"] = {**info, "uploaded_at": now}
    await services.db["applications"].update_one({"_id": rec["_id"]}, {"$set": scans})
    await services.db["archives"].update_one({"_id": rec["archive_no"]}, {"$set": scans})


async def apply_for_recovery(client, rec: dict) -> str:
    """From a new account: stage the three images, apply with the archive's name and ID number."""
    for slot, shape in (("recovery_id_front", "front"), ("recovery_id_back", "back"), ("recovery_selfie", "selfie")):
        r = await client.post(f"{RECOVERY}/files?slot={slot}", data=form(picture(shape), f"{slot}.jpg"))
        assert r.status == 201, r.text
    body = {"name": rec["profile"]["name"], "id_number": rec["profile"]["id_number"], "note": "原手机号停用，微信换号"}
    r = await client.post(RECOVERY, json=body)
    assert r.status == 201, r.text
    return r.json["id"]


async def test_a_reviewer_compares_and_approves_a_recovery_in_the_browser(
    server,
    approved_person,  # noqa: F811
    as_user,  # noqa: F811
    staff_client,  # noqa: F811
):
    from playwright.async_api import async_playwright

    s = server.services
    old, rec = await approved_person("lostphone")
    await give_id_scans(s, rec)
    new = await as_user("newphone")
    rid = await apply_for_recovery(new, rec)
    await reviewer(server, staff_client, "rev-a", [A])
    id_number = rec["profile"]["id_number"]
    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await sign_in(browser, server.url, "rev-a", problems, requests)
            assert "账号找回" in await page.locator("#f-kind option[value='recovery']").inner_text()
            await page.select_option("#f-kind", "recovery")
            await page.select_option("#f-status", "submitted")
            await page.click("#queue-filters button[type=submit]")
            row = page.locator(f"#queue-table tr[data-id='{rid}']")
            await row.wait_for()
            assert "王小明" in await row.inner_text() and "账号找回·待审核" in await row.inner_text()
            await row.locator("a", has_text="审核").click()
            await page.wait_for_selector("#r-recovery-card:not([hidden])")
            assert (await page.inner_text("#r-meta")).startswith("账号找回 · 思明区 · 提交于 ")
            # the comparison replaces the document viewer and the photo card
            assert await page.locator("#r-doc-card").is_hidden() and await page.locator("#r-photo-card").is_hidden()

            # left: the archive (name, ID number, the old account masked, its photo and ID scans)
            left = page.locator("#r-recovery-archive")
            assert await left.locator("h3").inner_text() == "档案中的照片和证件"
            assert await left.locator("dd[data-key=name]").inner_text() == "王小明"
            assert await left.locator("dd[data-key=id_number]").inner_text() == id_number
            masked = await left.locator("dd[data-key=old_account]").inner_text()
            assert "****" in masked and "lostphone" not in masked
            # right: what the applicant claims and the three new images
            right = page.locator("#r-recovery-new")
            assert await right.locator("h3").inner_text() == "申请人新上传"
            assert await right.locator("dd[data-key=name]").inner_text() == "王小明 一致"
            assert await right.locator("dd[data-key=id_number]").inner_text() == id_number + " 一致"
            assert await right.locator("dd[data-key=note]").inner_text() == "原手机号停用，微信换号"
            images = {
                "#r-recovery-archive": ["photo", "id_front", "id_back"],
                "#r-recovery-new": ["recovery_selfie", "recovery_id_front", "recovery_id_back"],  # face beside face
            }
            for side, kinds in images.items():
                assert await page.locator(f"{side} figure").evaluate_all("fs => fs.map(f => f.dataset.kind)") == kinds
                for kind in kinds:
                    img = f"{side} figure[data-kind='{kind}'] img"
                    await loaded(page, img)
                    assert await page.locator(img).evaluate("img => img.naturalWidth") > 0, img
            captions = await right.locator("figcaption").all_inner_texts()
            assert captions == ["本人手持证件照片", "证件人像面", "证件国徽面"]

            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "admin-recovery.png"), full_page=False)

            # an image enlarges on click, Esc closes it
            await page.click("#r-recovery-new figure[data-kind='recovery_selfie'] button.zoom")
            await page.wait_for_selector("#photo-overlay:not([hidden])")
            await page.keyboard.press("Escape")
            await page.wait_for_selector("#photo-overlay", state="hidden")

            assert await page.inner_text("#reason-prompt") == "不同意原因（可多选）："
            buttons = await page.locator("#decision-actions button").all_inner_texts()
            assert buttons == ["同意找回", "不同意找回"]

            await confirm(page, "#approve-btn")
            await page.wait_for_selector("#r-status:text('已找回')")
            assert (await page.inner_text("#decision-closed")).startswith("同意找回（rev-a，")
            assert "同意找回 · 思明区 · rev-a · " in await page.inner_text("#r-history")
            await page.wait_for_selector("#r-audit li:has-text('rev-a 同意找回')")
            await page.screenshot(path=str(ARTIFACTS / "admin-recovery-approved.png"), full_page=False)
        finally:
            await browser.close()

    outside = [u for u in requests if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(server.url)]
    assert not outside, outside
    assert not problems, problems
    # the old account is shut out at once; the archive is bound to the new account
    gone = await old.get(RECORD)
    assert gone.status == 401 and gone.error_code == "session_revoked", gone.text
    archive = await archive_of(s, rec)
    assert archive["openid"] == "demo-openid-newphone" and archive["open_recovery"] is None
    again = await as_user("newphone")
    view = (await again.get(RECORD)).json
    assert view["id"] == str(rec["_id"]) and view["status"] == "approved"
