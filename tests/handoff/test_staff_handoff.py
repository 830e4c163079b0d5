"""Staff make and read the hand-off image of a document on a record of their districts (real HTTP,
real database); a record outside them answers 404 and nothing changes. The record is inserted in
the stored shape from before pages existed: its document has no `pages` key (one page)."""

from __future__ import annotations

import io

from PIL import Image

from server.photos.encode import size_window
from tests.admin.conftest import add_staff, insert_record, staff_client, two_districts  # noqa: F401
from tests.handoff.files import scan_jpeg, text_pdf

LOW, HIGH = size_window(20, 500)


async def give_document(services, record: dict, key: str, data: bytes, content_type: str) -> dict:
    """Store a real file as the record's document `key`, in the old one-file shape."""
    info = await services.files.put(data, f"{key}.bin", content_type)
    entry = {**info, "uploaded_at": record["created_at"]}
    await services.atomic.update(
        services.db["applications"], {"_id": record["_id"]}, {"$set": {f"documents.{key}": entry}}
    )
    return entry


async def test_staff_of_the_district_make_the_image_and_others_get_404(server, two_districts):  # noqa: F811
    s = server.services
    rec_a, rec_b = two_districts["rec_a"], two_districts["rec_b"]
    await give_document(s, rec_a, "work_proof", text_pdf(3), "application/pdf")
    await give_document(s, rec_b, "work_proof", text_pdf(3), "application/pdf")
    rid_a, rid_b = str(rec_a["_id"]), str(rec_b["_id"])
    rev_a, rev_b = two_districts["a"], two_districts["b"]
    version = (await s.db["applications"].find_one({"_id": rec_a["_id"]}))["version"]

    view = await rev_a.get(f"/admin/api/records/{rid_a}/documents/work_proof")
    assert view.status == 200, view.text
    assert view.json["page_count"] == 1 and view.json["pages"] == [] and view.json["handoff"] is None

    files_before = await s.db["files.files"].count_documents({})
    # The reviewer of the other district: 404 for every route, and nothing is made.
    for method, path in (
        ("POST", f"/admin/api/records/{rid_a}/documents/work_proof/handoff"),
        ("GET", f"/admin/api/records/{rid_a}/documents/work_proof"),
        ("GET", f"/admin/api/records/{rid_a}/documents/work_proof/handoff/file"),
    ):
        r = await (rev_b.post(path) if method == "POST" else rev_b.get(path))
        assert r.status == 404, (path, r.text)
    assert await s.db["files.files"].count_documents({}) == files_before

    # On a submitted record, by its district's reviewer: made, stored beside the original.
    r = await rev_a.post(f"/admin/api/records/{rid_a}/documents/work_proof/handoff")
    assert r.status == 201, r.text
    assert r.json["made_by"] == "staff:rev-a" and r.json["url"].startswith(f"/admin/api/records/{rid_a}/")
    got = await rev_a.get(r.json["url"])
    assert got.status == 200 and got.headers["Content-Type"] == "image/jpeg"
    assert got.headers["Cache-Control"] == "private, no-store" and "sandbox" in got.headers["Content-Security-Policy"]
    assert LOW <= len(got.body) <= HIGH
    img = Image.open(io.BytesIO(got.body))
    assert img.format == "JPEG" and img.height > 3 * img.width  # three A4 pages in a column
    after = await s.db["applications"].find_one({"_id": rec_a["_id"]})
    assert after["documents"]["work_proof"]["handoff"]["file_id"] is not None
    # Derived data: the record's version is kept, so a decision at the version read still applies.
    assert after["version"] == version
    # The other record's document is untouched.
    other = await s.db["applications"].find_one({"_id": rec_b["_id"]})
    assert "handoff" not in other["documents"]["work_proof"]
    # A city administrator sees every district.
    city = two_districts["city"]
    r = await city.post(f"/admin/api/records/{rid_b}/documents/work_proof/handoff")
    assert r.status == 201 and r.json["pages"] == 3


async def test_staff_read_added_pages_and_unknown_documents_are_404(server, two_districts):  # noqa: F811
    s = server.services
    rec_a = two_districts["rec_a"]
    rid = str(rec_a["_id"])
    entry = await give_document(s, rec_a, "diploma", scan_jpeg(seed=1), "image/jpeg")
    page = await s.files.put(scan_jpeg(seed=2), "p.jpg", "image/jpeg")
    pages = [{"id": "0a0b0c0d", **page, "uploaded_at": entry["uploaded_at"]}]
    await s.atomic.update(s.db["applications"], {"_id": rec_a["_id"]}, {"$set": {"documents.diploma.pages": pages}})
    rev_a = two_districts["a"]
    view = (await rev_a.get(f"/admin/api/records/{rid}/documents/diploma")).json
    assert view["page_count"] == 2 and view["pages"][0]["number"] == 2
    r = await rev_a.get(view["pages"][0]["url"])
    assert r.status == 200 and r.body == scan_jpeg(seed=2)
    r = await rev_a.post(f"/admin/api/records/{rid}/documents/diploma/handoff")
    assert r.status == 201 and r.json["pages"] == 2
    for path in (
        f"/admin/api/records/{rid}/documents/id_back",
        f"/admin/api/records/{rid}/documents/diploma/pages/ffffffff/file",
        f"/admin/api/records/{'0' * 24}/documents/diploma",
    ):
        assert (await rev_a.get(path)).status == 404, path
