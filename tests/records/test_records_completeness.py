"""missing_for_submission: required fields, photo and document kinds."""

from server.records import DOCUMENT_KINDS, missing_for_submission, required_documents
from tests.records import idgen

ALL_DOCS = set(DOCUMENT_KINDS)


def record(id_type="resident_id", level="intermediate", in_post=True):
    """A complete record of the given shape."""
    number = {
        "resident_id": idgen.resident_id(),
        "residence_permit": idgen.residence_permit(),
        "passport": "E12345678",
    }[id_type]
    rec = {
        "profile": {
            "name": "张三",
            "gender": "male",
            "id_type": id_type,
            "id_number": number,
            "birth_date": "1990-05-17",
            "nationality": "CHN",
        },
        "education": {"level": "bachelor", "school": "厦门大学", "graduated_on": "2012-07-01"},
        "qualification": {"level": level},
        "employment": {"in_post": in_post},
        "contact": {"mobile": "13800138000"},
        "region_code": "350203",
    }
    if id_type == "resident_id":
        rec["profile"]["ethnicity"] = "01"
    if level != "none":
        rec["qualification"].update(obtained_on="2016-09-10", certificate_no="Z123456")
    if in_post:
        rec["employment"].update(
            unit_name="某公司", unit_credit_code=idgen.uscc(), post="cashier", accounting_since="2012-08-01"
        )
    return rec


def keys(missing):
    """(field-or-item, code) pairs."""
    return [(m.get("field") or m.get("item"), m["code"]) for m in missing]


def test_document_kinds():
    assert list(DOCUMENT_KINDS) == [
        "id_front",
        "id_back",
        "passport_info",
        "passport_validity",
        "permit_front",
        "permit_back",
        "diploma",
        "qualification_certificate",
        "work_proof",
        "other_proof",
    ]
    assert all(label for label in DOCUMENT_KINDS.values())


def test_complete_records_have_nothing_missing():
    for id_type in ("resident_id", "residence_permit", "passport"):
        for level in ("none", "junior", "full_senior"):
            for in_post in (True, False):
                assert missing_for_submission(record(id_type, level, in_post), ALL_DOCS, True) == []


def test_empty_record():
    missing = missing_for_submission({}, set(), False)
    assert keys(missing) == [
        ("profile.name", "required"),
        ("profile.gender", "required"),
        ("profile.id_type", "required"),
        ("profile.id_number", "required"),
        ("profile.birth_date", "required"),
        ("profile.nationality", "required"),
        ("education.level", "required"),
        ("education.school", "required"),
        ("education.graduated_on", "required"),
        ("qualification.level", "required"),
        ("employment.in_post", "required"),
        ("contact.mobile", "required"),
        ("region_code", "required"),
        ("photo", "photo_missing"),
        ("diploma", "document_missing"),
    ]
    assert all("field" in m or "item" in m for m in missing)
    assert all(m["message"].startswith("请") for m in missing)


def test_identity_documents_by_type():
    for id_type, docs in [
        ("resident_id", ["id_front", "id_back"]),
        ("residence_permit", ["permit_front", "permit_back"]),
        ("passport", ["passport_info", "passport_validity"]),
    ]:
        rec = record(id_type, "none", False)
        assert required_documents(rec) == docs + ["diploma"]
        missing = missing_for_submission(rec, {"diploma"}, True)
        assert keys(missing) == [(d, "document_missing") for d in docs]
        assert missing_for_submission(rec, {"diploma", *docs}, True) == []


def test_ethnicity_only_for_resident_id():
    rec = record("resident_id", "none", False)
    del rec["profile"]["ethnicity"]
    assert keys(missing_for_submission(rec, ALL_DOCS, True)) == [("profile.ethnicity", "required")]
    rec = record("passport", "none", False)
    assert "ethnicity" not in rec["profile"]
    assert missing_for_submission(rec, ALL_DOCS, True) == []


def test_qualification_details_and_certificate():
    rec = record(level="senior")
    rec["qualification"] = {"level": "senior"}
    docs = ALL_DOCS - {"qualification_certificate"}
    assert keys(missing_for_submission(rec, docs, True)) == [
        ("qualification.obtained_on", "required"),
        ("qualification.certificate_no", "required"),
        ("qualification_certificate", "document_missing"),
    ]
    assert missing_for_submission(record(level="none"), docs, True) == []


def test_in_post_requires_unit_and_work_proof():
    rec = record(in_post=True)
    rec["employment"] = {"in_post": True, "unit_name": "  "}
    docs = ALL_DOCS - {"work_proof"}
    assert keys(missing_for_submission(rec, docs, True)) == [
        ("employment.unit_name", "required"),
        ("employment.unit_credit_code", "required"),
        ("employment.post", "required"),
        ("employment.accounting_since", "required"),
        ("work_proof", "document_missing"),
    ]
    assert missing_for_submission(record(in_post=False), docs, True) == []  # False counts as answered


def test_photo():
    assert keys(missing_for_submission(record(), ALL_DOCS, False)) == [("photo", "photo_missing")]
