"""Travel permits (港澳居民来往内地通行证, 台湾居民来往大陆通行证) end to end, through real HTTP and the
real database: registration with the permit, its archive number ("GA"/"TW" + lifetime number), the
permit's two images, the derived nationality, submission, a reviewer's approval, then the public
status query and the staff search with the number as printed on the card."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.admin.conftest import A, add_staff, staff_client  # noqa: F401
from tests.miniprogram.conftest import as_user, give_photo, jpeg_bytes, upload, upload_missing, valid_body  # noqa: F401

RECORD = "/api/v1/me/record"
SUBMIT = "/api/v1/me/record/submit"
STATUS = "/api/v1/public/collection-status"

PERMITS = [
    # id_type, number as printed, archive number, derived nationality, the two images, spellings
    (
        "hk_macao_permit",
        "H12345678",
        "GAH12345678",
        "HKG",
        ["hkmo_permit_front", "hkmo_permit_back"],
        ["H12345678", "h12345678", "H 1234 5678", " h1234 5678 "],
    ),
    (
        "taiwan_permit",
        "05616820",
        "TW05616820",
        "TWN",
        ["tw_permit_front", "tw_permit_back"],
        ["05616820", "0561 6820", " 05616820 "],
    ),
]


def permit_body(id_type: str, number: str, name: str) -> dict:
    """A complete PATCH body with a travel permit (birth date and gender typed: the number has none)."""
    body = valid_body(name=name)
    body["profile"] = {
        "name": name,
        "id_type": id_type,
        "id_number": number,
        "gender": "female",
        "birth_date": "1988-06-01",
    }
    return body


def missing_fields(resp) -> list[str]:
    return [m["field"] for m in resp.json["missing"]]


@pytest.mark.parametrize("case", PERMITS, ids=[p[0] for p in PERMITS])
async def test_permit_holder_end_to_end(server, as_user, give_photo, upload, staff_client, http_factory, case):  # noqa: F811
    """Register with the permit, submit, be approved; found by the public query and the staff search."""
    id_type, number, archive, nationality, images, spellings = case
    s = server.services
    name = "陈美玲"
    c = await as_user(f"permit-{id_type}")
    r = await c.patch(RECORD, json=permit_body(id_type, number, name))
    assert r.status == 200, r.text
    rec = r.json
    assert rec["profile"]["id_type"] == id_type and rec["profile"]["id_number"] == number
    assert rec["profile"]["nationality"] == nationality  # derived from the permit
    assert rec["archive_no"] == archive
    # the identity documents required are the permit's two images, nothing of a resident ID
    identity = [f for f in missing_fields(r) if f.startswith("documents.")]
    assert identity == [f"documents.{k}" for k in images]
    await upload_missing(c, rec["missing"], upload)
    await give_photo(c.openid)
    rec = (await c.get(RECORD)).json
    assert rec["missing"] == []
    assert set(images) <= set(rec["documents"])

    r = await c.post(SUBMIT, json={"commitment": True})
    assert r.status == 200, r.text
    assert await s.db["archive_numbers"].find_one({"_id": archive}) is not None

    # the public query answers "in review" before the decision
    public = http_factory(server)
    r = await public.get(f"{STATUS}?name={quote(name)}&id_number={quote(number)}")
    assert r.status == 200 and r.json["status"] == "in_review", r.text

    # a reviewer of the district finds the person by the number on the card, and approves
    await add_staff(s, "rev-permit", regions=[A])
    staff = await staff_client(server, "rev-permit")
    r = await staff.get(f"/admin/api/records?q={quote(number)}")
    assert r.status == 200, r.text
    [item] = r.json["items"]
    assert item["id"] == rec["id"]
    r = await staff.get(f"/admin/api/records?q={quote(archive)}")  # the archive number finds it too
    assert [i["id"] for i in r.json["items"]] == [rec["id"]]
    detail = await staff.get(f"/admin/api/records/{rec['id']}")
    assert detail.status == 200, detail.text
    r = await staff.decide(rec["id"], "approve", detail.json["version"])
    assert r.status == 200, r.text
    assert (await c.get(RECORD)).json["status"] == "approved"
    assert await s.db["archives"].find_one({"_id": archive}) is not None

    # the public query with the number as printed (any case, with spaces), GET and POST
    for spelling in spellings:
        r = await public.get(f"{STATUS}?name={quote(name)}&id_number={quote(spelling)}")
        assert r.status == 200 and r.json["status"] == "completed", (spelling, r.text)
        r = await public.post(STATUS, json={"name": name, "id_number": spelling})
        assert r.status == 200 and r.json["status"] == "completed", (spelling, r.text)
    r = await public.get(f"{STATUS}?name={quote('陈美')}&id_number={quote(number)}")
    assert r.json["status"] == "not_completed"  # a wrong name looks unknown

    # after approval the staff search still finds the person
    r = await staff.get(f"/admin/api/records?q={quote(number.lower())}")
    assert [i["id"] for i in r.json["items"]] == [rec["id"]]
    grouped = f" {number[:5]} {number[5:]} "  # as printed on the card, in groups
    r = await staff.get(f"/admin/api/records?q={quote(grouped)}")
    assert [i["id"] for i in r.json["items"]] == [rec["id"]]


@pytest.mark.parametrize(
    ("id_type", "number", "wrong"),
    [
        ("hk_macao_permit", "H12345678", "TWN"),
        ("hk_macao_permit", "M12345678", "HKG"),
        ("taiwan_permit", "12345678", "HKG"),
    ],
)
async def test_a_nationality_that_does_not_fit_the_permit_is_refused(as_user, server, id_type, number, wrong):  # noqa: F811
    c = await as_user(f"nat-{id_type}-{number}")
    body = permit_body(id_type, number, "陈美玲")
    body["profile"]["nationality"] = wrong
    r = await c.patch(RECORD, json=body)
    assert r.status == 422, r.text
    assert ("profile.nationality", "nationality_mismatch") in [
        (f["field"], f["code"]) for f in r.json["error"]["fields"]
    ]
    assert await server.services.db["archive_numbers"].count_documents({}) == 0  # nothing changed
    body["profile"]["nationality"] = "CHN"  # Chinese citizens resident there: CHN fits too
    r = await c.patch(RECORD, json=body)
    assert r.status == 200 and r.json["profile"]["nationality"] == "CHN", r.text


@pytest.mark.parametrize(
    ("id_type", "number", "code"),
    [
        ("hk_macao_permit", "12345678", "invalid_hk_macao_permit"),  # a Taiwan permit's shape
        ("hk_macao_permit", "X12345678", "invalid_hk_macao_permit"),
        ("hk_macao_permit", "HA1234567", "invalid_hk_macao_permit"),  # 非中国籍: no work in the mainland
        ("taiwan_permit", "H12345678", "invalid_taiwan_permit"),
        ("taiwan_permit", "1234567", "invalid_taiwan_permit"),
    ],
)
async def test_an_invalid_permit_number_answers_422_with_its_code(as_user, id_type, number, code):  # noqa: F811
    c = await as_user(f"bad-{id_type}-{number}")
    before = (await c.get(RECORD)).json
    r = await c.patch(RECORD, json=permit_body(id_type, number, "陈美玲"))
    assert r.status == 422, r.text
    [problem] = [f for f in r.json["error"]["fields"] if f["field"] == "profile.id_number"]
    assert problem["code"] == code and "通行证" in problem["message"], r.text
    after = (await c.get(RECORD)).json
    assert after["version"] == before["version"] and after["profile"].get("id_number") is None


async def test_a_malformed_permit_number_in_the_public_query_is_a_422(server, http_factory):
    public = http_factory(server)
    r = await public.get(f"{STATUS}?name={quote('陈美玲')}&id_number={quote('H12')}")
    assert r.status == 422, r.text
    assert [(f["field"], f["code"]) for f in r.json["error"]["fields"]] == [("id_number", "passport_format")]
    r = await public.get(f"{STATUS}?name={quote('陈美玲')}&id_number=H12345678")
    assert r.status == 200 and r.json["status"] == "not_completed"  # valid, unknown


async def test_images_of_another_id_type_do_not_count(as_user, upload):  # noqa: F811
    c = await as_user("permit-images")
    r = await c.patch(RECORD, json=permit_body("hk_macao_permit", "H12345678", "陈美玲"))
    assert r.status == 200, r.text
    r = await upload(c, "id_front", jpeg_bytes())  # kept (the type may change back), but not counted
    assert r.status == 201, r.text
    rec = (await c.get(RECORD)).json
    identity = [f for f in missing_fields_of(rec) if f.startswith("documents.")]
    assert identity == ["documents.hkmo_permit_front", "documents.hkmo_permit_back"]


def missing_fields_of(rec: dict) -> list[str]:
    return [m["field"] for m in rec["missing"]]
