"""MongoDB query semantics for one document in Python (the subset conditional writes use).

`Atomic.update` reads a document by `_id` (the only filter FerretDB v1 on SQLite pushes
down) and checks the rest of the condition here instead of letting the server scan the
collection. Supported: implicit equality (dotted paths, array elements, None matching a
missing field), `$eq $ne $in $nin $exists $lt $lte $gt $gte`, top-level `$and $or`.
Anything else raises ValueError so that an unsupported condition fails loudly in tests.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bson import Binary, Decimal128, ObjectId, Regex, Timestamp

__all__ = ["matches"]


class _Missing:
    """A path that leads nowhere (distinct from an explicit None)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_COMPARE = {"$lt": lambda c: c < 0, "$lte": lambda c: c <= 0, "$gt": lambda c: c > 0, "$gte": lambda c: c >= 0}
_OPERATORS = {"$eq", "$ne", "$in", "$nin", "$exists", *_COMPARE}


def matches(doc: dict, filter: dict) -> bool:
    """True when `doc` satisfies the MongoDB `filter` (see module doc for the subset)."""
    for key, cond in filter.items():
        if key == "$and":
            if not all(matches(doc, sub) for sub in _clauses(key, cond)):
                return False
        elif key == "$or":
            if not any(matches(doc, sub) for sub in _clauses(key, cond)):
                return False
        elif key.startswith("$"):
            raise ValueError(f"unsupported top-level operator {key}")
        elif not _match_field(list(_walk(doc, key.split("."))), cond):
            return False
    return True


def _clauses(op: str, cond: Any) -> list[dict]:
    """The sub-filters of `$and`/`$or` (MongoDB refuses an empty or non-list value too)."""
    if not isinstance(cond, list) or not cond or not all(isinstance(c, dict) for c in cond):
        raise ValueError(f"{op} needs a non-empty list of filters")
    return cond


def _walk(value: Any, parts: list[str]) -> Iterator[Any]:
    """Every value a dotted path reaches, MISSING where a branch has none (MongoDB's array traversal)."""
    if not parts:
        yield value
        return
    head, rest = parts[0], parts[1:]
    if isinstance(value, dict):
        yield from _walk(value[head], rest) if head in value else iter([MISSING])
    elif isinstance(value, list):
        found = False
        if head.isdigit() and int(head) < len(value):  # "a.0": the element at that position
            for v in _walk(value[int(head)], rest):
                found = True
                yield v
        for element in value:  # "a.b" on an array: "b" of every embedded document
            if isinstance(element, dict):
                for v in _walk(element, parts):
                    found = True
                    yield v
        if not found:
            yield MISSING
    else:
        yield MISSING


def _match_field(values: list[Any], cond: Any) -> bool:
    """One field's condition: an operator document or an implicit equality."""
    if isinstance(cond, dict) and cond and any(k.startswith("$") for k in cond):
        if not all(k.startswith("$") for k in cond):
            raise ValueError(f"operators mixed with fields in {cond!r}")
        return all(_operator(values, op, arg) for op, arg in cond.items())
    return _equal_any(values, cond)


def _operator(values: list[Any], op: str, arg: Any) -> bool:
    """One query operator against the values a path reached."""
    if op not in _OPERATORS:
        raise ValueError(f"unsupported query operator {op}")
    if op == "$eq":
        return _equal_any(values, arg)
    if op == "$ne":
        return not _equal_any(values, arg)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise ValueError(f"{op} needs a list")
        hit = any(_equal_any(values, a) for a in arg)
        return hit if op == "$in" else not hit
    if op == "$exists":
        return any(v is not MISSING for v in values) == bool(arg)
    if isinstance(arg, (dict, list)):
        raise ValueError(f"{op} against a document or array is not supported")
    if arg is None:  # $lte/$gte null behave as equality with null; $lt/$gt null match nothing
        return op in ("$lte", "$gte") and _equal_any(values, None)
    _check_scalar(arg)
    test = _COMPARE[op]
    bracket = _bracket(arg)
    if not isinstance(bracket, int):
        raise ValueError(f"{op} against a {bracket} is not supported")
    return any(v is not MISSING and _bracket(v) == bracket and test(_cmp(v, arg)) for v in _expand(values))


def _expand(values: list[Any]) -> Iterator[Any]:
    """Each value, and the elements of those that are arrays (MongoDB compares both)."""
    for v in values:
        yield v
        if isinstance(v, list):
            yield from v


def _equal_any(values: list[Any], arg: Any) -> bool:
    """Equality as in a filter: null also matches a missing field; an array matches by element."""
    _check_scalar(arg)
    if arg is None and any(v is MISSING for v in values):
        return True
    return any(v is not MISSING and _equal(v, arg) for v in _expand(values))


def _check_scalar(arg: Any) -> None:
    """Refuse regular expressions: MongoDB would match them as patterns, not by equality."""
    if isinstance(arg, (re.Pattern, Regex)):
        raise ValueError("regular expressions are not supported")


def _bracket(v: Any) -> int | str:
    """MongoDB's cross-type sort order; values compare only within one bracket."""
    if v is None:
        return 1
    if isinstance(v, bool):  # before int: bool is an int subclass in Python, a type of its own in BSON
        return 8
    if isinstance(v, (int, float, Decimal, Decimal128)):
        return 2
    if isinstance(v, str):
        return 3
    if isinstance(v, dict):
        return 4
    if isinstance(v, list):
        return 5
    if isinstance(v, (bytes, Binary)):
        return 6
    if isinstance(v, ObjectId):
        return 7
    if isinstance(v, dt.datetime):
        return 9
    if isinstance(v, Timestamp):
        return 10
    return type(v).__name__  # rarer BSON types (MinKey, Code, ...): equal only to their own kind


def _norm(v: Any) -> Any:
    """A value Python can compare: decimals as Decimal, naive datetimes as UTC."""
    if isinstance(v, Decimal128):
        return v.to_decimal()
    if isinstance(v, dt.datetime) and v.tzinfo is None:
        return v.replace(tzinfo=dt.UTC)
    return v


def _cmp(a: Any, b: Any) -> int:
    """-1/0/1 for two scalars of one bracket."""
    a, b = _norm(a), _norm(b)
    return (a > b) - (a < b)


def _equal(a: Any, b: Any) -> bool:
    """BSON equality: 1 == 1.0, True != 1, documents equal field by field in order."""
    if _bracket(a) != _bracket(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(_norm(a) == _norm(b))
