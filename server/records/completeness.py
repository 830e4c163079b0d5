"""What a record still lacks before it can be submitted for review."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .fields import field_label
from .fields import value_at as _get
from .options import DOCUMENT_KINDS

__all__ = ["DOCUMENT_KINDS", "ID_DOCUMENTS", "missing_for_submission", "required_documents"]

# Identity document images required per profile.id_type.
ID_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "resident_id": ("id_front", "id_back"),
    "residence_permit": ("permit_front", "permit_back"),
    "passport": ("passport_info", "passport_validity"),
}

_ALWAYS = (
    "profile.name",
    "profile.gender",
    "profile.id_type",
    "profile.id_number",
    "profile.birth_date",
    "profile.nationality",
    "education.level",
    "education.school",
    "education.graduated_on",
    "qualification.level",
    "employment.in_post",
    "contact.mobile",
    "region_code",
)
_QUALIFIED = ("qualification.obtained_on", "qualification.certificate_no")
_IN_POST = ("employment.unit_name", "employment.unit_credit_code", "employment.post", "employment.accounting_since")


def _present(value: Any) -> bool:
    """True for a filled value (False counts as filled, "" and None do not)."""
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None


def _required_fields(record: Mapping[str, Any]) -> list[str]:
    """Field paths required for this record, in form order."""
    paths = list(_ALWAYS)
    if _get(record, "profile.id_type") == "resident_id":
        paths.insert(paths.index("profile.nationality"), "profile.ethnicity")
    level = _get(record, "qualification.level")
    if _present(level) and level != "none":
        at = paths.index("qualification.level") + 1
        paths[at:at] = list(_QUALIFIED)
    if _get(record, "employment.in_post") is True:
        at = paths.index("employment.in_post") + 1
        paths[at:at] = list(_IN_POST)
    return paths


def required_documents(record: Mapping[str, Any]) -> list[str]:
    """Document kinds this record must carry, in display order."""
    kinds = list(ID_DOCUMENTS.get(_get(record, "profile.id_type"), ()))
    kinds.append("diploma")
    level = _get(record, "qualification.level")
    if _present(level) and level != "none":
        kinds.append("qualification_certificate")
    if _get(record, "employment.in_post") is True:
        kinds.append("work_proof")
    return kinds


def missing_for_submission(
    record: Mapping[str, Any], documents: Iterable[str], has_photo: bool
) -> list[dict[str, str]]:
    """Everything missing before submission: fields ({"field"}), then photo/documents ({"item"})."""
    record = record or {}
    missing: list[dict[str, str]] = []
    for path in _required_fields(record):
        if not _present(_get(record, path)):
            missing.append({"field": path, "code": "required", "message": f"请填写{field_label(path)}"})
    if not has_photo:
        missing.append({"item": "photo", "code": "photo_missing", "message": "请上传本人近期免冠证件照"})
    have = set(documents)
    for kind in required_documents(record):
        if kind not in have:
            missing.append({"item": kind, "code": "document_missing", "message": f"请上传{DOCUMENT_KINDS[kind]}"})
    return missing
