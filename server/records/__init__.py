"""Pure field schema, validation and completeness rules of the accountant record.

No I/O except `load_districts(path)`; no web framework or database imports.

Record shape: {"profile": {...}, "education": {...}, "qualification": {...},
"employment": {...}, "contact": {...}, "region_code": "350203"}; dates are "YYYY-MM-DD".

validate_patch(patch, current, districts, today) -> (normalised_patch, errors): errors is a
list of {"field": "profile.id_number", "code": "<snake_case>", "message": "<中文>"} ("field"
is "" when the body itself is not an object). Apply the normalised patch with apply_patch()
only when errors == []; in it None means "delete the field". The service answers errors
with the shared Invalid (422) shape.
"""

from .completeness import ID_DOCUMENTS, missing_for_submission, required_documents
from .districts import Districts, DistrictsConfigError, district_codes, load_districts, parse_districts
from .errors import FieldErrorItem, FieldProblem
from .fields import (
    SCALARS,
    SECTION_LABELS,
    SECTIONS,
    FieldSpec,
    all_field_paths,
    field_label,
    field_spec,
    options_payload,
)
from .names import derive_pinyin, is_rare, normalize_name, normalize_pinyin, rare_characters
from .openapi import openapi_components
from .options import DOCUMENT_KINDS, OPTIONS, option_codes, option_label
from .validation import apply_patch, archive_no, validate_patch, validate_record

__all__ = [
    "DOCUMENT_KINDS",
    "Districts",
    "DistrictsConfigError",
    "FieldErrorItem",
    "FieldProblem",
    "FieldSpec",
    "ID_DOCUMENTS",
    "OPTIONS",
    "SCALARS",
    "SECTIONS",
    "SECTION_LABELS",
    "all_field_paths",
    "apply_patch",
    "archive_no",
    "derive_pinyin",
    "district_codes",
    "field_label",
    "field_spec",
    "is_rare",
    "load_districts",
    "missing_for_submission",
    "normalize_name",
    "normalize_pinyin",
    "openapi_components",
    "option_codes",
    "option_label",
    "options_payload",
    "parse_districts",
    "rare_characters",
    "required_documents",
    "validate_patch",
    "validate_record",
]
