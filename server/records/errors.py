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


def error_item(field: str, code: str, message: str) -> FieldErrorItem:
    """Build one error item."""
    return {"field": field, "code": code, "message": message}
