"""Checks on untrusted input before it reaches the database: one place for the API and the pages.

Both databases must refuse the same things with the same words, so the limits are the narrower
of the two: ids, versions and offsets fit a PostgreSQL `integer`, text fits its column and holds
no NUL (PostgreSQL refuses it) and no lone surrogate (neither driver can encode it), datetimes
carry a time zone and a year Caseflow can compute with, numbers are finite (JSON has no NaN).
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from cases.case_models import Case, WorkItem
from cases.customers import Customer
from cases.deviations import Deviation
from cases.notes import MAX_NOTE

INT_MAX = 2**31 - 1  # PostgreSQL integer: every id, version and count column
YEARS = (1900, 2200)
MAX_DEPTH = 16  # nesting of free-form JSON (case data, step data, message payloads)
MAX_JSON_ITEMS = 10_000  # values in one free-form JSON document
MAX_FIELD = 100_000  # characters of a form value without a column of its own (a step's textarea)
MAX_QUERY = 1_000  # characters of a query value (filters, searches)
MAX_PAGE = INT_MAX // 500  # page numbers whose offset still fits an integer at any page size


def column_length(model: Any, name: str) -> int:
    """The declared length of a string column, so the checks follow the table definitions."""
    return model.__table__.c[name].type.length


LIMITS = {  # form and query fields that land in a column of their own
    "name": column_length(Customer, "name"), "email": column_length(Customer, "email"),
    "phone": column_length(Customer, "phone"),
    "account_number": column_length(Customer, "account_number"),
    "process_id": column_length(Case, "process_id"), "process": column_length(Case, "process_id"),
    "reason_code": column_length(Deviation, "reason_code"),
    "element_id": column_length(WorkItem, "element_id"),
    "title": column_length(WorkItem, "name"), "team": column_length(WorkItem, "team"),
    "note": MAX_NOTE, "text": MAX_NOTE,
}


# ---- plain values ----------------------------------------------------------------------------

def text_problem(value: str) -> str | None:
    """Why a piece of text cannot be stored, or None."""
    if "\x00" in value:
        return "Remove the NUL character (\\u0000): it cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Send valid Unicode: a lone surrogate (such as \\ud800) cannot be stored"
    return None


def field_problem(name: str, value: str, limit: int | None = None) -> str | None:
    """Why a value named `name` cannot be stored (its column's length, else `limit`), or None."""
    limit = LIMITS.get(name, MAX_FIELD) if limit is None else limit
    if len(value) > limit:
        return f"Keep it to {limit} characters (this is {len(value)})"
    return text_problem(value)


def fields_problems(values: Any, limit: int = MAX_FIELD) -> dict[str, str]:
    """field -> message for every form or query value that holds NUL or is longer than `limit`.

    Only the generic checks: a route that stores a value in a column of its own checks that
    column's length with `field_problem`, by the field's name.
    """
    found = {}
    pairs = values.multi_items() if hasattr(values, "multi_items") else values.items()
    for name, value in pairs:
        problem = text_problem(name) or (field_problem(name, value, limit)
                                         if isinstance(value, str) else None)
        if problem:
            found[printable(name)] = problem
    return found


def printable(name: str) -> str:
    """The text with NUL and lone surrogates written as escapes (safe to show and to encode)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def refuse_fields(problems: dict[str, str], source: str) -> None:
    """Raise the validation error answered as 400 (pages) or 422 (API), naming each field."""
    if problems:
        raise RequestValidationError([{"type": "value_error", "loc": (source, name), "msg": msg}
                                      for name, msg in problems.items()])


def clean_query(request: Request) -> None:
    """Router dependency: refuse a query value with NUL, a lone surrogate or too many characters."""
    refuse_fields(fields_problems(request.query_params, MAX_QUERY), "query")


def int_in_range(value: int) -> bool:
    """Whether an id, version or count fits the database's integer columns."""
    return -INT_MAX - 1 <= value <= INT_MAX


def year_problem(value: datetime) -> str | None:
    """Why a datetime is outside the years Caseflow stores, or None."""
    if not YEARS[0] <= value.year <= YEARS[1]:
        return f"Give a date between the years {YEARS[0]} and {YEARS[1]}"
    return None


def json_problem(value: Any, path: str) -> str | None:
    """Where and why free-form JSON cannot be stored ('data.items[2]: ...'), or None."""
    stack, seen = [(value, path, 0)], 0
    while stack:
        item, where, depth = stack.pop()
        seen += 1
        if seen > MAX_JSON_ITEMS:
            return f"{path}: send at most {MAX_JSON_ITEMS} values"
        if depth > MAX_DEPTH:
            return f"{where}: nest at most {MAX_DEPTH} levels deep"
        if isinstance(item, float) and not math.isfinite(item):
            return f"{where}: send a finite number (JSON has no NaN or Infinity)"
        if isinstance(item, str) and (problem := text_problem(item)):
            return f"{where}: {problem}"
        if isinstance(item, dict):
            for key, sub in item.items():
                if problem := text_problem(str(key)):
                    return f"{where}: a key: {problem}"
                stack.append((sub, f"{where}.{key}", depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))
    return None


# ---- what a refusal says ---------------------------------------------------------------------

_SOURCES = ("body", "query", "path", "header", "cookie")


def validation_errors(errors: list[dict]) -> dict[str, str]:
    """field -> message for a RequestValidationError, safe to serialize (no NaN, no surrogate).

    The submitted value is never echoed: it may be the very NaN or lone surrogate refused.
    """
    found: dict[str, str] = {}
    for error in errors:
        if error.get("type") == "json_invalid":  # loc is (body, character position)
            reason = (error.get("ctx") or {}).get("error", "")
            found.setdefault("body", printable(f"Send valid JSON ({reason} at character "
                                               f"{error.get('loc', ('', '?'))[-1]})"))
            continue
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in _SOURCES and len(loc) > 1:
            loc = loc[1:]
        name = printable(".".join(loc) or "body")
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        found.setdefault(name, printable(message))
    return found


def path_fields(errors: list[dict]) -> list[str]:
    """The address parts that are wrong (an id that is not a number or cannot exist)."""
    return [printable(str(error["loc"][-1])) for error in errors
            if tuple(error.get("loc", ("",)))[:1] == ("path",)]


# ---- pydantic types for the JSON API ---------------------------------------------------------

def _text(value: str) -> str:
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def _years(value: datetime) -> datetime:
    if problem := year_problem(value):
        raise ValueError(problem)
    return value


def _json(value: Any) -> Any:
    if problem := json_problem(value, "$"):
        raise ValueError(problem.replace("$.", "at ", 1).replace("$", "here", 1))
    return value


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - used like a type
    """A string that fits a column of `max_length` and holds no NUL or lone surrogate."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     AfterValidator(_text)]


DbInt = Annotated[int, Field(ge=0, le=INT_MAX)]
DbId = Annotated[int, Field(ge=1, le=INT_MAX)]
When = Annotated[AwareDatetime, AfterValidator(_years)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json)]
JsonValue = Annotated[Any, AfterValidator(_json)]

# Path ids outside the range name nothing that can exist: the error handler answers 404.
PathId = Annotated[int, Path(ge=1, le=INT_MAX)]
Offset = Annotated[int, Query(ge=0, le=INT_MAX)]
QueryId = Annotated[int | None, Query(ge=1, le=INT_MAX)]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]


__all__ = ["INT_MAX", "Text", "DbId", "DbInt", "When", "JsonObject", "JsonValue", "PathId",
           "Offset", "QueryId", "Page", "text_problem", "field_problem", "fields_problems",
           "json_problem", "int_in_range", "year_problem", "column_length", "LIMITS",
           "validation_errors", "path_fields", "printable", "clean_query", "refuse_fields"]
