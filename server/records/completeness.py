"""What a record still lacks before it can be submitted for review."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .fields import LISTS, field_label
from .fields import value_at as _get
from .identifiers import TRAVEL_PERMIT_DOCUMENTS
from .options import DOCUMENT_KINDS

__all__ = ["DOCUMENT_KINDS", "ID_DOCUMENTS", "missing_for_submission", "required_documents"]

# Identity document images required per profile.id_type.
ID_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "resident_id": ("id_front", "id_back"),
    "residence_permit": ("permit_front", "permit_back"),
    "passport": ("passport_info", "passport_validity"),
    **{id_type: tuple(kind for kind, _ in pairs) for id_type, pairs in TRAVEL_PERMIT_DOCUMENTS.items()},
}

_ALWAYS = (
    "profile.name",
    "profile.gender",
    "profile.id_type",
    "profile.id_number",
    "profile.birth_date",
    "profile.nationality",
    "contact.mobile",
    "region_code",
)


def _present(value: Any) -> bool:
    """True for a filled value (False counts as filled, "" and None do not)."""
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None


def _entries(record: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = record.get(name)
    return [e for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def _required_fields(record: Mapping[str, Any]) -> list[str]:
    """Field paths required for this record, in form order."""
    paths = list(_ALWAYS)
    if _get(record, "profile.id_type") == "resident_id":
        paths.insert(paths.index("profile.nationality"), "profile.ethnicity")
    if _entries(record, "work_history"):
        paths.insert(paths.index("contact.mobile"), "employment.accounting_since")
    return paths


def entry_proof_key(name: str, entry: Mapping[str, Any]) -> str:
    """The `documents` key of an entry's proof: its `proof`, else "<kind>_<id>"."""
    proof = entry.get("proof")
    return proof if isinstance(proof, str) and proof else f"{LISTS[name].proof_kind}_{entry.get('id')}"


def required_documents(record: Mapping[str, Any]) -> list[str]:
    """Document keys this record must carry, in display order: the identity documents, then one
    proof per entry of the lists."""
    keys = list(ID_DOCUMENTS.get(_get(record, "profile.id_type"), ()))
    for name in LISTS:
        keys += [entry_proof_key(name, e) for e in _entries(record, name)]
    return keys


def _list_missing(record: Mapping[str, Any], have: set[str]) -> list[dict[str, str]]:
    """Per entry: its empty required fields and its proof; "at least one education"."""
    missing: list[dict[str, str]] = []
    if not _entries(record, "educations"):
        missing.append({"field": "educations", "code": "required", "message": "请至少填写一条学历信息"})
    for name, spec in LISTS.items():
        for i, entry in enumerate(_entries(record, name)):
            for field in spec.required:
                if not _present(entry.get(field)):
                    path = f"{name}.{i}.{field}"
                    missing.append({"field": path, "code": "required", "message": f"请填写{field_label(path)}"})
            if entry_proof_key(name, entry) not in have:
                path = f"{name}.{i}.proof"
                label = f"第{i + 1}条{spec.label}的{DOCUMENT_KINDS[spec.proof_kind]}"
                missing.append({"field": path, "code": "document_missing", "message": f"请上传{label}"})
    return missing


def missing_for_submission(
    record: Mapping[str, Any], documents: Iterable[str], has_photo: bool
) -> list[dict[str, str]]:
    """Everything missing before submission: fields and entries ({"field"}), then photo and identity
    documents ({"item"})."""
    record = record or {}
    have = set(documents)
    missing: list[dict[str, str]] = []
    for path in _required_fields(record):
        if not _present(_get(record, path)):
            missing.append({"field": path, "code": "required", "message": f"请填写{field_label(path)}"})
    missing += _list_missing(record, have)
    if not has_photo:
        missing.append({"item": "photo", "code": "photo_missing", "message": "请上传本人近期免冠证件照"})
    for kind in ID_DOCUMENTS.get(_get(record, "profile.id_type"), ()):
        if kind not in have:
            missing.append({"item": kind, "code": "document_missing", "message": f"请上传{DOCUMENT_KINDS[kind]}"})
    return missing
