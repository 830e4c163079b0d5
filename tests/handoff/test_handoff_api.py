"""POST /api/v1/me/documents/<key>/handoff and .../pages: one compliant JPEG from a document's pages,
over real HTTP against the real database, with real PDFs (fpdf2) and images (Pillow)."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from server.photos.encode import size_window
from tests.handoff.files import blank_pdf, flat_png, jpeg_markers, noise_jpeg, scan_jpeg, text_pdf
from tests.miniprogram.conftest import as_user, form, upload  # noqa: F401

LOW, HIGH = size_window(20, 500)  # 20 KB (binary) .. 500 KB (decimal): the window whichever way KB is read
A4_RATIO = 297 / 210
GAP = 12


async def stored(server, openid: str) -> tuple[dict, int]:
    """(the person's documents, the number of stored files)."""
    db = server.services.db
    doc = await db["applications"].find_one({"openid": openid})
    return doc["documents"], await db["files.files"].count_documents({})


async def fetch_image(client, url: str) -> tuple[bytes, Image.Image, dict]:
    r = await client.get(url)
    assert r.status == 200, r.text
    img = Image.open(io.BytesIO(r.body))
    img.load()
    return r.body, img, r.headers


def assert_bare_jpeg(data: bytes, img: Image.Image) -> None:
    """A JPEG with the JFIF header only: no EXIF/XMP (APP1), ICC (APP2), other APPn or comment."""
    assert img.format == "JPEG" and img.mode == "RGB"
    markers = jpeg_markers(data)
    assert 0xDA in markers
    assert not [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE], [hex(m) for m in markers]
    assert not img.getexif() and "icc_profile" not in img.info


async def test_a_three_page_pdf_proof_becomes_one_image_within_20_to_500_kb(server, as_user, upload):  # noqa: F811
    person = await as_user("handoff-pdf")
    pdf = text_pdf(3)
    r = await upload(person, "diploma", pdf, "diploma.pdf", "application/pdf")
    assert r.status == 201, r.text
    assert r.json["page_count"] == 1 and r.json["handoff"] is None

    r = await person.post("/api/v1/me/documents/diploma/handoff")
    assert r.status == 201, r.text
    made = r.json
    assert made["pages"] == 3 and made["content_type"] == "image/jpeg"
    data, img, headers = await fetch_image(person, made["url"])
    assert LOW <= len(data) <= HIGH and len(data) == made["size"]
    assert hashlib.sha256(data).hexdigest() == made["sha256"]
    assert img.size == (made["width"], made["height"])
    # Three A4 pages stacked in one column (the gaps scaled with the image).
    one_page = img.width * A4_RATIO
    assert abs(img.height - 3 * one_page) <= 2 * GAP + 6, (img.size, one_page)
    assert_bare_jpeg(data, img)
    # Served like every stored file: never cached, never run as a page.
    assert headers["Content-Type"] == "image/jpeg" and headers["Cache-Control"] == "private, no-store"
    assert "sandbox" in headers["Content-Security-Policy"]

    # The original stays as uploaded, for the reviewer.
    original = await person.get("/api/v1/me/documents/diploma/file")
    assert original.status == 200 and original.body == pdf
    listed = (await person.get("/api/v1/me/documents")).json["documents"]
    diploma = next(d for d in listed if d["kind"] == "diploma")
    assert diploma["handoff"]["sha256"] == made["sha256"] and diploma["content_type"] == "application/pdf"
    documents, files = await stored(server, person.openid)
    assert files == 2 and documents["diploma"]["handoff"]["pages"] == 3

    # Asked again for the same document: the image already made, nothing new stored.
    again = await person.post("/api/v1/me/documents/diploma/handoff")
    assert again.status == 200 and again.json["sha256"] == made["sha256"]
    assert (await stored(server, person.openid))[1] == 2


async def test_three_uploaded_images_become_one_compliant_image(server, as_user, upload):  # noqa: F811
    person = await as_user("handoff-images")
    r = await upload(person, "work_proof", scan_jpeg(seed=1), "p1.jpg")
    assert r.status == 201, r.text
    for seed in (2, 3):
        r = await person.post("/api/v1/me/documents/work_proof/pages", data=form(scan_jpeg(seed=seed), f"p{seed}.jpg"))
        assert r.status == 201, r.text
    view = r.json
    assert view["page_count"] == 3 and [p["number"] for p in view["pages"]] == [2, 3]
    page_data, page_img, _ = await fetch_image(person, view["pages"][0]["url"])
    assert page_img.size == (1240, 1754) and hashlib.sha256(page_data).hexdigest() == view["pages"][0]["sha256"]

    r = await person.post("/api/v1/me/documents/work_proof/handoff")
    assert r.status == 201, r.text
    data, img, _ = await fetch_image(person, r.json["url"])
    assert LOW <= len(data) <= HIGH and r.json["pages"] == 3
    assert abs(img.height - 3 * img.width * 1754 / 1240) <= 2 * GAP + 6
    assert_bare_jpeg(data, img)
    handoff_sha = r.json["sha256"]

    # Removing a page drops the image made from the old pages, file included.
    r = await person.request("DELETE", f"/api/v1/me/documents/work_proof/pages/{view['pages'][1]['id']}")
    assert r.status == 200, r.text
    assert r.json["page_count"] == 2 and r.json["handoff"] is None
    documents, files = await stored(server, person.openid)
    assert files == 2 and "handoff" not in documents["work_proof"]  # the first file and one page
    r = await person.post("/api/v1/me/documents/work_proof/handoff")
    assert r.status == 201 and r.json["pages"] == 2 and r.json["sha256"] != handoff_sha

    # Uploading the document again replaces it whole: its added page and image are deleted too.
    r = await upload(person, "work_proof", scan_jpeg(seed=9), "new.jpg")
    assert r.status == 201 and r.json["page_count"] == 1 and r.json["handoff"] is None
    assert (await stored(server, person.openid))[1] == 1


async def test_a_tiny_image_is_enlarged_to_the_minimum_or_refused_saying_why(server, as_user, upload):  # noqa: F811
    person = await as_user("handoff-tiny")
    # A busy thumbnail (120x90, ~11 KB): enlarged until the JPEG reaches 20 KB, and said so.
    r = await upload(person, "other_proof", noise_jpeg((120, 90)), "thumb.jpg")
    assert r.status == 201 and r.json["size"] < LOW
    r = await person.post("/api/v1/me/documents/other_proof/handoff")
    assert r.status == 201, r.text
    assert r.json["upscaled"] is True and r.json["width"] > 120
    data, img, _ = await fetch_image(person, r.json["url"])
    assert LOW <= len(data) <= HIGH and img.width <= 4 * 120

    # A blank 40x30 picture cannot reach 20 KB within 4x enlargement: 422 with the reason, nothing kept.
    r = await upload(person, "id_front", flat_png((40, 30)), "blank.png", "image/png")
    assert r.status == 201
    before = await stored(server, person.openid)
    r = await person.post("/api/v1/me/documents/id_front/handoff")
    assert r.status == 422 and r.error_code == "handoff_too_small", r.text
    assert "20 KB" in r.json["error"]["message"] and r.json["error"]["fields"][0]["field"] == "document"
    assert await stored(server, person.openid) == before

    # A blank A4 page rendered at 150 dpi is large enough to reach the minimum at top quality.
    r = await upload(person, "id_back", blank_pdf(1), "blank.pdf", "application/pdf")
    r = await person.post("/api/v1/me/documents/id_back/handoff")
    assert r.status == 201 and r.json["upscaled"] is False and LOW <= r.json["size"] <= HIGH


async def test_hostile_documents_answer_422_and_change_nothing(server, as_user, upload):  # noqa: F811
    person = await as_user("handoff-hostile")
    # 500 pages: refused from the page count, before a page is read.
    r = await upload(person, "diploma", blank_pdf(500), "long.pdf", "application/pdf")
    assert r.status == 201, r.text
    # A 1x100000 strip is a valid PNG the upload keeps, but no page.
    r = await upload(person, "other_proof", flat_png((1, 100_000), (0, 0, 0)), "strip.png", "image/png")
    assert r.status == 201, r.text
    before = await stored(server, person.openid)

    r = await person.post("/api/v1/me/documents/diploma/handoff")
    assert r.status == 422 and r.error_code == "handoff_too_many_pages", r.text
    assert r.json["error"]["fields"][0]["pages"] == 500 and "500 页" in r.json["error"]["message"]
    r = await person.post("/api/v1/me/documents/other_proof/handoff")
    assert r.status == 422 and r.error_code == "handoff_page_shape", r.text
    assert "1×100000" in r.json["error"]["message"]

    # Added pages: the strip, a PDF and an unknown document are refused before anything is stored.
    r = await person.post("/api/v1/me/documents/diploma/pages", data=form(flat_png((1, 100_000)), "s.png"))
    assert r.status == 422 and r.error_code == "page_shape", r.text
    r = await person.post("/api/v1/me/documents/diploma/pages", data=form(text_pdf(1), "p.pdf", "application/pdf"))
    assert r.status == 415 and r.error_code == "page_not_image", r.text
    r = await person.post("/api/v1/me/documents/id_front/pages", data=form(scan_jpeg(), "p.jpg"))
    assert r.status == 404 and r.error_code == "document_not_found", r.text
    r = await person.post("/api/v1/me/documents/id_front/handoff")
    assert r.status == 404 and r.error_code == "document_not_found"
    r = await person.request("DELETE", "/api/v1/me/documents/diploma/pages/0badf00d")
    assert r.status == 404 and r.error_code == "page_not_found"
    assert (await person.get("/api/v1/me/documents/diploma/handoff/file")).error_code == "handoff_not_found"
    assert await stored(server, person.openid) == before


async def test_another_persons_document_is_404(server, as_user, upload):  # noqa: F811
    owner = await as_user("handoff-owner")
    other = await as_user("handoff-other")
    assert (await upload(owner, "diploma", scan_jpeg(), "d.jpg")).status == 201
    r = await owner.post("/api/v1/me/documents/diploma/pages", data=form(scan_jpeg(seed=4), "p.jpg"))
    page_id = r.json["pages"][0]["id"]
    assert (await owner.post("/api/v1/me/documents/diploma/handoff")).status == 201
    before = await stored(server, owner.openid)
    # The other person names the same document and page: theirs do not exist.
    for method, path in (
        ("POST", "/api/v1/me/documents/diploma/handoff"),
        ("GET", "/api/v1/me/documents/diploma/handoff/file"),
        ("GET", f"/api/v1/me/documents/diploma/pages/{page_id}/file"),
        ("DELETE", f"/api/v1/me/documents/diploma/pages/{page_id}"),
    ):
        r = await other.request(method, path)
        assert r.status == 404, (method, path, r.text)
    assert await stored(server, owner.openid) == before
    # Without a token: 401.
    other.token = ""
    assert (await other.post("/api/v1/me/documents/diploma/handoff")).status == 401


async def test_a_document_holds_at_most_document_max_pages(make_server, http_factory):
    running = await make_server(document_max_pages=2)
    from tests.miniprogram.conftest import form as make_form

    client = http_factory(running)
    r = await client.post("/api/v1/auth/login", json={"code": "demo:pages-max"})
    client.token = r.json["token"]
    r = await client.post("/api/v1/me/documents/diploma", data=make_form(scan_jpeg(), "d.jpg"))
    assert r.status == 201
    r = await client.post("/api/v1/me/documents/diploma/pages", data=make_form(scan_jpeg(seed=2), "p.jpg"))
    assert r.status == 201 and r.json["page_count"] == 2
    r = await client.post("/api/v1/me/documents/diploma/pages", data=make_form(scan_jpeg(seed=3), "p.jpg"))
    assert r.status == 422 and r.error_code == "too_many_pages", r.text
    assert await running.services.db["files.files"].count_documents({}) == 2


async def test_the_rule_of_each_document_kind_is_offered(server, as_user):  # noqa: F811
    person = await as_user("handoff-rules")
    rules = (await person.get("/api/v1/handoff-rules")).json["rules"]
    diploma = next(r for r in rules if r["kind"] == "diploma")
    assert diploma["formats"] == ["jpg", "png"] and (diploma["min_kb"], diploma["max_kb"]) == (20, 500)
    assert diploma["one_image"] is True and "多页合成一张图片" in diploma["description"]


async def test_a_document_changed_during_the_merge_keeps_nothing(server, as_user, upload):  # noqa: F811
    from server.documents.handoff import HandoffService
    from server.errors import Conflict

    person = await as_user("handoff-race")
    assert (await upload(person, "diploma", scan_jpeg(), "d.jpg")).status == 201
    records = server.services.db["applications"]
    read_before = await records.find_one({"openid": person.openid})
    # A page is added after the merge read the document (the merge is run with that older read).
    r = await person.post("/api/v1/me/documents/diploma/pages", data=form(scan_jpeg(seed=5), "p.jpg"))
    assert r.status == 201
    files = await server.services.db["files.files"].count_documents({})
    try:
        await server.services.get(HandoffService).make(read_before, "diploma", "/api/v1/me/documents", "applicant")
    except Conflict as exc:
        assert exc.code == "document_changed"
    else:
        raise AssertionError("a stale document was merged")
    assert await server.services.db["files.files"].count_documents({}) == files
    assert "handoff" not in (await records.find_one({"_id": read_before["_id"]}))["documents"]["diploma"]
