"""The start form of a process: what the one opening a case fills in (see engine.start_forms).

The new-case page draws it for the chosen process and the JSON API checks a case's data against
it before anything is stored (a new customer included); open_case checks again inside its
transaction, against the version it opens, and records the typed values in `case_opened`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from engine import store
from engine.errors import FormInvalid
from engine.forms import Form, validate_form

from .errors import StartFormInvalid


def start_form(session: Session, process_id: str) -> Form | None:
    """Return the start form of the active version of a process (None without one)."""
    version = store.active_version(session, process_id)
    return store.compiled(version).start_form if version is not None else None


def checked_start_data(form: Form | None, data: Mapping[str, Any]) -> dict:
    """Return the data with the start form's fields typed; raise StartFormInvalid naming every
    bad field."""
    if form is None:
        return dict(data)
    try:
        return {**data, **validate_form(form, data)}
    except FormInvalid as err:
        raise StartFormInvalid(err.errors, dict(data)) from None


def check_start_data(session: Session, process_id: str, data: Mapping[str, Any]) -> dict:
    """Check a case's data against the active version's start form before storing anything."""
    return checked_start_data(start_form(session, process_id), data)


__all__ = ["check_start_data", "checked_start_data", "start_form"]
