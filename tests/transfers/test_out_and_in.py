"""Transfer out of the deployment (调出区外: 已调出, read-only, the sheet and its public check) and
transfer in (区外调入: the filled record is held, then admitted as a new archive, or returned)."""

from __future__ import annotations

import io

from bson import ObjectId
from pypdf import PdfReader

from server.transfers.sheets import sheet_code
from tests.transfers.conftest import (
    APPS,
    MESSAGES,
    RECORD,
    TRANSFERS,
    A,
    B,
    apply,
    archive_of,
    notices_of,
    reviewer,
)

RARE = "王𪚥明"  # U+2AA5 is outside the BMP (CJK Extension B)
CHECK = "/api/v1/public/transfer-sheets"


async def test_transfer_out_makes_the_archive_read_only_and_issues_a_checkable_sheet(
    make_server, approved_person, staff_client, http_factory
):
    server = await make_server(public_query_per_minute=3)
    rev_a = await reviewer(server, staff_client, "o-rev-a", [A])
    rev_b = await reviewer(server, staff_client, "o-rev-b", [B])
    person, rec = await approved_person("leaver", running=server, person_name=RARE)
    r = await apply(person, "out", None, reason="residence", to_region_name="福建省福州市鼓楼区")
    assert r.status == 201, r.text
    tid = r.json["id"]
    assert r.json["sheet"] is None
    assert (await rev_b.get(f"{APPS}/{tid}")).status == 404  # another district's
    assert (await person.get(f"{TRANSFERS}/{tid}/sheet.pdf")).status == 409  # not approved yet
    v = (await rev_a.get(f"{APPS}/{tid}")).json["version"]
    d = await rev_a.decide(tid, "approve", v)
    assert d.status == 200 and d.json["status"] == "approved", d.text
    assert d.json["transfer"]["sheet_url"] == f"{APPS}/{tid}/sheet.pdf"

    archive = await archive_of(server.services, rec)
    out = archive["transferred_out"]
    assert out["to_region_name"] == "福建省福州市鼓楼区" and archive["version"] == 2
    # read-only: no change, no other transfer
    c = await person.post("/api/v1/me/changes", json={"changes": {"contact": {"mobile": "13912345678"}}})
    assert c.status == 409 and c.error_code == "archive_transferred_out", c.text
    assert (await apply(person, "within", B)).error_code == "archive_transferred_out"

    # the sheet: the person and staff download it; its text has the rare name, number and code
    pdf = await person.get(f"{TRANSFERS}/{tid}/sheet.pdf")
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.text[:200]
    assert pdf.headers["Cache-Control"] == "private, no-store"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body)).pages)
    number = out["sheet_no"]
    code = sheet_code(server.services.settings.secret_key, number)
    assert RARE in text and number in text and code in text and "福建省福州市鼓楼区" in text
    stored = await server.services.db["transfer_sheets"].find_one({"_id": number})
    assert stored["pdf"]["file_id"]  # rendered once (in a child process), then read from storage
    staff_copy = await rev_a.get(f"{APPS}/{tid}/sheet.pdf")
    assert staff_copy.status == 200 and staff_copy.body == pdf.body
    assert (await rev_b.get(f"{APPS}/{tid}/sheet.pdf")).status == 404
    stranger, _ = await approved_person("nosy", running=server)
    assert (await stranger.get(f"{TRANSFERS}/{tid}/sheet.pdf")).status == 404

    # the other region checks it: validity, name and masked ID number only; a wrong code is 404
    public = http_factory(server)
    ok = await public.get(f"{CHECK}/{number}?code={code.lower()}")
    assert ok.status == 200, ok.text
    assert ok.json["valid"] is True and ok.json["name"] == RARE
    id_number = rec["profile"]["id_number"]
    assert ok.json["id_number"] == id_number[:6] + "*" * 8 + id_number[-4:]
    assert set(ok.json) == {"valid", "number", "name", "id_number", "issued_at", "from_office"}
    assert (await public.get(f"{CHECK}/{number}?code=AAAAAAAA")).error_code == "sheet_not_found"
    assert (await public.get(f"{CHECK}/{number}")).status == 400
    limited = await public.get(f"{CHECK}/{number}?code={code}")
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1, limited.text

    notices = await notices_of(server.services, ObjectId(tid))
    assert [n["template"] for n in notices] == ["transfer_out_approved"]
    assert "调转信息表" in notices[0]["body"]


async def test_transfer_in_holds_the_record_then_admits_it_as_an_archive(
    server, as_user, make_valid_record, staff_client
):
    rev_b = await reviewer(server, staff_client, "i-rev-b", [A])
    rev_a = await reviewer(server, staff_client, "i-rev-a", [B])
    person = await as_user("arriver")
    await make_valid_record(person)  # in 思明区 (A)
    incomplete = await as_user("half")
    r = await apply(incomplete, "in", A, from_region_name="福建省福州市", commitment=True)
    assert r.status == 422 and r.error_code == "record_incomplete", r.text

    r = await apply(person, "in", A, from_region_name="福建省福州市")
    assert r.status == 422 and r.error_code == "commitment_required", r.text
    r = await apply(person, "in", A, from_region_name="福建省福州市", commitment=True)
    assert r.status == 201, r.text
    tid = r.json["id"]
    assert r.json["kind"] == "in" and set(r.json["documents"]) == {"transfer_proof", "transfer_sheet"}
    view = (await person.get(RECORD)).json
    assert view["status"] == "transferring"
    locked = await person.patch(RECORD, json={"contact": {"mobile": "13900001111"}})
    assert locked.status == 409, locked.text
    assert (await person.post("/api/v1/me/record/submit", json={"commitment": True})).status == 409
    assert (await apply(person, "in", A, from_region_name="福建省", commitment=True)).status == 409

    assert (await rev_a.get(f"{APPS}/{tid}")).status == 404
    items = (await rev_b.get(f"{APPS}?kind=transfer_in&status=submitted")).json["items"]
    assert [i["id"] for i in items] == [tid] and items[0]["name"]
    detail = (await rev_b.get(f"{APPS}/{tid}")).json
    assert {d["kind"] for d in detail["documents"]} >= {"transfer_sheet", "transfer_proof"}
    assert detail["transfer"]["from_region_name"] == "福建省福州市"
    d = await rev_b.decide(tid, "approve", detail["version"])
    assert d.status == 200 and d.json["status"] == "accepted", d.text

    view = (await person.get(RECORD)).json
    assert view["status"] == "approved" and view["archive"]["version"] == 1
    archive = await server.services.db["archives"].find_one({"_id": view["archive_no"]})
    assert archive["region_code"] == A and "transfer_sheet" in archive["documents"]
    assert archive["versions"][0]["kind"] == "transfer_in" and archive["versions"][0]["application_id"] == ObjectId(tid)
    again = await apply(person, "in", A, from_region_name="福建省", commitment=True)
    assert again.status == 409 and again.error_code == "archive_exists"
    inbox = (await person.get(MESSAGES)).json["messages"]
    assert [m["title"] for m in inbox].count(inbox[0]["title"]) == 1 and "调入" in inbox[0]["title"], inbox
    assert [n["template"] for n in await notices_of(server.services, ObjectId(tid))] == ["transfer_in_accepted"]


async def test_a_refused_transfer_in_returns_the_record_to_a_draft(server, as_user, make_valid_record, staff_client):
    rev_b = await reviewer(server, staff_client, "i2-rev-b", [A])
    person = await as_user("returned")
    await make_valid_record(person)  # in 思明区 (A)
    tid = (await apply(person, "in", A, from_region_name="江西省南昌市", commitment=True)).json["id"]
    v = (await rev_b.get(f"{APPS}/{tid}")).json["version"]
    r = await rev_b.decide(tid, "reject", v, reason="调转信息表不清晰")
    assert r.status == 200 and r.json["status"] == "refused"
    view = (await person.get(RECORD)).json
    assert view["status"] == "draft"
    assert (await person.patch(RECORD, json={"contact": {"mobile": "13900001111"}})).status == 200
    mine = (await person.get(TRANSFERS)).json["transfers"]
    assert mine[0]["status"] == "refused" and mine[0]["decision"]["reason"] == "调转信息表不清晰"
    # and the person may now submit a first collection here instead
    assert (await person.post("/api/v1/me/record/submit", json={"commitment": True})).status == 200
