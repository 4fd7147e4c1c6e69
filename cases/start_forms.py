"""The start form of a process: what the one opening a case fills in (see engine.start_forms).

The new-case page draws it for the chosen process and the JSON API checks a case's data against
it before anything is stored (a new customer included); open_case checks again inside its
transaction, against the version it opens, and records the typed values in `case_opened`.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from engine import store
from engine.errors import FormInvalid
from engine.forms import Form, FormField, typed_default, validate_form

from .case_models import Case
from .errors import NotFound, StartFormInvalid
from .events import CaseEvent


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


def active_start_form(session: Session, process_id: str
                      ) -> tuple[store.DefinitionVersion, Form | None]:
    """Return the active version of a process and its start form; NotFound without one."""
    version = store.active_version(session, process_id)
    if version is None:
        raise NotFound(f"No active definition for process '{process_id}'")
    return version, store.compiled(version).start_form


def version_start_form(version: store.DefinitionVersion) -> Form | None:
    """Return the start form of one definition version (None without one)."""
    return store.compiled(version).start_form


# ---- an example for integrators -----------------------------------------------------------------


def _example_number(field: FormField) -> int | float:
    """The smallest number the field takes (above zero's side when it allows zero)."""
    low = field.min if field.min is not None else (field.max if field.max is not None
                                                   and field.max < 0 else 0)
    if field.step:
        low = round(math.ceil(round(low / field.step, 10)) * field.step, 10)
    if field.type == "long":
        return math.ceil(low)
    if field.decimals is not None:
        low = math.ceil(round(low * 10 ** field.decimals, 10)) / 10 ** field.decimals
    return float(low)


def _example_value(field: FormField, today: date) -> Any:
    default = typed_default(field)
    if default is not None:
        return default
    if field.type == "enum":
        return field.values[0].id if field.values else None
    if field.type == "boolean":
        return False
    if field.type == "date":
        return today.isoformat()
    if field.type in ("long", "double"):
        return _example_number(field)
    text = "Example"[:field.maxlength] if field.maxlength else "Example"
    return text.ljust(field.minlength or 0, "x")


def example_data(form: Form | None, today: date) -> dict:
    """A `data` object the form accepts: each field's default, else a value that fits it
    (fields an example cannot satisfy are left out)."""
    if form is None:
        return {}
    data = {f.id: _example_value(f, today) for f in form.fields if not f.readonly}
    try:
        validate_form(form, data)
    except FormInvalid as err:
        data = {k: v for k, v in data.items() if k not in err.errors}
    return data


# ---- what a case was opened with ----------------------------------------------------------------


@dataclass(frozen=True)
class StartValue:
    """One value a case was opened with, labelled as its start form labels it."""

    field_id: str
    label: str
    shown: str  # a choice's name, yes/no, or the text as typed
    multiline: bool = False


def _shown(field: FormField | None, value: Any) -> str:
    if value is None or value == "":
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field is not None and field.type == "enum":
        return next((v.name for v in field.values if v.id == str(value)), str(value))
    if isinstance(value, float) and field is not None and field.decimals:
        return f"{value:.{field.decimals}f}"
    return str(value)


def opened_with(session: Session, case: Case) -> list[StartValue]:
    """The start-form values a case was opened with (from its case_opened event), labelled by
    the start form of the version it was opened on, in the form's order."""
    details = json.loads(session.exec(select(CaseEvent.details).where(
        CaseEvent.case_id == case.id, CaseEvent.type == "case_opened")).first() or "{}")
    values = details.get("start_data")
    if not values:
        return []
    version = session.exec(select(store.DefinitionVersion).where(
        store.DefinitionVersion.process_id == case.process_id,
        store.DefinitionVersion.version == details.get("version"))).first()
    form = version_start_form(version or session.get(store.DefinitionVersion,
                                                     case.definition_id))
    fields = {f.id: f for f in form.fields} if form else {}
    order = [f for f in fields if f in values] + [k for k in values if k not in fields]
    return [StartValue(key, fields[key].label if key in fields else key,
                       _shown(fields.get(key), values[key]),
                       bool(key in fields and fields[key].multiline)) for key in order]


__all__ = ["StartValue", "active_start_form", "check_start_data", "checked_start_data",
           "example_data", "opened_with", "start_form", "version_start_form"]
