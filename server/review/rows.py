"""One record as a list row: masked ID number and phone, nothing else personal."""

from __future__ import annotations

from server.districts import district_name
from server.masking import mask_id_number, mask_mobile
from server.review.access import rare_name, status_label

ROW_PROJECTION = {
    "profile.name": 1,
    "profile.id_number": 1,
    "contact.mobile": 1,
    "region_code": 1,
    "status": 1,
    "version": 1,
    "submitted_at": 1,
    "decided_at": 1,
    "rare_name": 1,
    "employment.unit_name": 1,
}


def list_row(settings, doc: dict) -> dict:
    """The list view of a record (ID number and mobile masked)."""
    profile = doc.get("profile") or {}
    name = profile.get("name") or ""
    return {
        "id": str(doc["_id"]),
        "name": name,
        "rare_name": rare_name(doc),
        "id_number": mask_id_number(profile.get("id_number")),
        "mobile": mask_mobile((doc.get("contact") or {}).get("mobile")),
        "unit_name": (doc.get("employment") or {}).get("unit_name") or "",
        "region_code": doc.get("region_code"),
        "region_name": district_name(settings, doc.get("region_code")),
        "status": doc.get("status"),
        "status_label": status_label(doc.get("status")),
        "version": doc.get("version"),
        "submitted_at": doc.get("submitted_at"),
        "decided_at": doc.get("decided_at"),
    }
