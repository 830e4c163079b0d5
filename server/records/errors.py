"""Error types and the error-item format shared by the record modules."""

from __future__ import annotations

from typing import TypedDict


class FieldErrorItem(TypedDict):
    """One problem: dotted field path, stable snake_case code, Chinese message."""

    field: str
    code: str
    message: str


class FieldProblem(ValueError):
    """A single value failed a check; raised by the per-value checkers."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ValidationFailed(ValueError):
    """Raised by `require_valid_patch` with every field error of a PATCH body."""

    def __init__(self, fields: list[FieldErrorItem]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['code']}" for e in fields))
        self.fields = fields

    def to_dict(self) -> dict[str, object]:
        """JSON body for an HTTP 422 answer."""
        return {"error": "validation_failed", "message": "提交的信息有误，请检查后重试", "fields": self.fields}


def error_item(field: str, code: str, message: str) -> FieldErrorItem:
    """Build one error item."""
    return {"field": field, "code": code, "message": message}
