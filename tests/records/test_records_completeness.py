"""missing_for_submission: required fields, entries and their proofs, photo and identity documents."""

from server.records import DOCUMENT_KINDS, missing_for_submission, required_documents
from server.records.derived import with_derived
from tests.records import idgen

ID_DOCS = {"id_front", "id_back", "passport_info", "passport_validity", "permit_front", "permit_back"}


def record(id_type="resident_id", level="intermediate", in_post=True):
    """A complete record of the given shape (lists with ids and proofs, summaries derived)."""
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
        "educations": [
            {
                "id": "eduaaaaa",
                "level": "bachelor",
                "school": "厦门大学",
                "mode": "full_time",
                "from": "2008-09-01",
                "to": "2012-07-01",
                "proof": "diploma_eduaaaaa",
            }
        ],
        "qualifications": [],
        "work_history": [],
        "employment": {},
        "contact": {"mobile": "13800138000"},
        "region_code": "350203",
    }
    if id_type == "resident_id":
        rec["profile"]["ethnicity"] = "01"
    if level != "none":
        rec["qualifications"] = [
            {
                "id": "qualaaaa",
                "level": level,
                "obtained_by": "exam",
                "obtained_on": "2016-09-10",
                "certificate_no": "Z123456",
                "proof": "qualification_certificate_qualaaaa",
            }
        ]
    if in_post:
        rec["work_history"] = [
            {
                "id": "workaaaa",
                "unit_name": "某公司",
                "unit_credit_code": idgen.uscc(),
                "unit_nature": "enterprise",
                "industry": "L",
                "post": "cashier",
                "from": "2012-08-01",
            }
        ]
        rec["employment"] = {"accounting_since": "2012-08-01"}
    return with_derived(rec)


def all_docs(rec) -> set:
    return ID_DOCS | set(required_documents(rec))


def keys(missing):
    """(field-or-item, code) pairs."""
    return [(m.get("field") or m.get("item"), m["code"]) for m in missing]


def test_document_kinds():
    assert list(DOCUMENT_KINDS)[:14] == [
        "id_front",
        "id_back",
        "passport_info",
        "passport_validity",
        "permit_front",
        "permit_back",
        "hkmo_permit_front",
        "hkmo_permit_back",
        "tw_permit_front",
        "tw_permit_back",
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
                rec = record(id_type, level, in_post)
                assert missing_for_submission(rec, all_docs(rec), True) == []


def test_empty_record():
    missing = missing_for_submission({}, set(), False)
    assert keys(missing) == [
        ("profile.name", "required"),
        ("profile.gender", "required"),
        ("profile.id_type", "required"),
        ("profile.id_number", "required"),
        ("profile.birth_date", "required"),
        ("profile.nationality", "required"),
        ("contact.mobile", "required"),
        ("region_code", "required"),
        ("educations", "required"),
        ("photo", "photo_missing"),
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
        assert required_documents(rec) == [*docs, "diploma_eduaaaaa"]
        missing = missing_for_submission(rec, {"diploma_eduaaaaa"}, True)
        assert keys(missing) == [(d, "document_missing") for d in docs]
        assert missing_for_submission(rec, {"diploma_eduaaaaa", *docs}, True) == []


def test_ethnicity_only_for_resident_id():
    rec = record("resident_id", "none", False)
    del rec["profile"]["ethnicity"]
    assert keys(missing_for_submission(rec, all_docs(rec), True)) == [("profile.ethnicity", "required")]
    rec = record("passport", "none", False)
    assert "ethnicity" not in rec["profile"]
    assert missing_for_submission(rec, all_docs(rec), True) == []


def test_every_entry_needs_its_fields_and_its_proof():
    rec = record(level="senior")
    rec["qualifications"].append({"id": "qualbbbb", "level": "junior"})
    rec["educations"][0]["proof"] = None  # never uploaded: its key would be diploma_eduaaaaa
    docs = ID_DOCS | {"qualification_certificate_qualaaaa"}
    assert keys(missing_for_submission(rec, docs, True)) == [
        ("educations.0.proof", "document_missing"),
        ("qualifications.1.obtained_by", "required"),
        ("qualifications.1.obtained_on", "required"),
        ("qualifications.1.certificate_no", "required"),
        ("qualifications.1.proof", "document_missing"),
        ("work_history.0.proof", "document_missing"),
    ]
    messages = {m["field"]: m["message"] for m in missing_for_submission(rec, docs, True)}
    assert messages["qualifications.1.obtained_on"] == "请填写第2条会计专业技术资格：取得时间"
    assert messages["work_history.0.proof"] == "请上传第1条会计工作履历的工作证明"
    assert required_documents(rec)[-4:] == [
        "diploma_eduaaaaa",
        "qualification_certificate_qualaaaa",
        "qualification_certificate_qualbbbb",
        "work_proof_workaaaa",
    ]


def test_a_migrated_entry_names_the_old_single_document():
    rec = record()
    rec["educations"][0]["proof"] = "diploma"
    assert "diploma" in required_documents(rec)
    assert ("educations.0.proof", "document_missing") in keys(missing_for_submission(rec, ID_DOCS, True))
    assert missing_for_submission(rec, all_docs(rec), True) == []


def test_a_work_history_needs_the_first_work_date():
    rec = record(in_post=True)
    rec["employment"] = {k: v for k, v in rec["employment"].items() if k != "accounting_since"}
    assert keys(missing_for_submission(rec, all_docs(rec), True)) == [("employment.accounting_since", "required")]
    assert missing_for_submission(record(in_post=False), all_docs(record(in_post=False)), True) == []


def test_photo():
    rec = record()
    assert keys(missing_for_submission(rec, all_docs(rec), False)) == [("photo", "photo_missing")]
