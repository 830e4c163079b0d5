"""The shapes of the lifecycle's documents, for the code and the type checker (docs/contracts.md).

`total=False`: documents written by earlier versions may lack newer keys, so readers use
`.get()`; writers build them whole.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from bson import ObjectId

# One step of an application's history ("from", the state before it, is a Python keyword,
# hence the functional form).
Step = TypedDict(
    "Step",
    {
        "n": int,
        "action": str,
        "from": str | None,
        "status": str,  # the state after the step
        "at": dt.datetime,
        "by": str,  # "self", a staff username or "system"
        "role": str,  # "applicant" | "reviewer" | "system"
        "v": int,  # the application's version after the step
        "reason": str,
        "reason_codes": list[str],
        "staff_role": str,
    },
    total=False,
)


class DiffRow(TypedDict):
    """One changed field: dotted path, value before and after (stored keys never hold dots)."""

    field: str
    old: Any
    new: Any


class ArchiveVersion(TypedDict):
    """One version of an archive."""

    version: int
    at: dt.datetime
    by: str
    application_id: ObjectId
    kind: str
    diff: list[DiffRow]


class Application(TypedDict, total=False):
    """An application of any kind (a first collection also has the record's sections and files)."""

    _id: ObjectId
    kind: str
    openid: str
    status: str
    version: int
    history: list[Step]
    effects_done: int
    listed: dict[str, str]
    region_code: str | None
    archive_no: str | None
    payload: dict[str, Any]
    documents: dict[str, dict[str, Any]]
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision: dict[str, Any] | None
    commitment_at: dt.datetime
    # a first collection: the record's sections and files
    profile: dict[str, Any]
    education: dict[str, Any]
    qualification: dict[str, Any]
    employment: dict[str, Any]
    contact: dict[str, Any]
    photo: dict[str, Any] | None
    rare_name: bool
    unionid: str | None
    chat_openid: str | None
    # a change
    record_id: ObjectId
    ordered: dict[str, Any] | None
    # written by the migration from the first version's records
    legacy_notices: list[str]
    legacy_audit: list[str]
    migrated_version: int


class Archive(TypedDict, total=False):
    """The approved truth about one person."""

    _id: str  # the archive number
    region_code: str
    openid: str
    record_id: ObjectId
    version: int
    data: dict[str, Any]
    documents: dict[str, dict[str, Any]]
    photo: dict[str, Any] | None
    rare_name: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    versions: list[ArchiveVersion]
    applied: list[str]
    changes: list[ObjectId]
    open_change: ObjectId | None
    spot_checks: list[dict[str, Any]]
