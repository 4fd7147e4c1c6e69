"""A skip never routes on defaults: the fields of the skipped step that later decisions read."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from engine.definitions import CompiledProcess
from engine.forms import FormField, clean_value, typed_default
from engine.preview import fields_needed

from ..errors import InvalidInput


@dataclass(frozen=True)
class NeededField:
    """A form field a later decision reads, with the decisions and the form's default."""

    field: FormField
    decisions: tuple[str, ...]
    default: Any

    @property
    def why(self) -> str:
        names = ", ".join(f"“{d}”" for d in self.decisions)
        return f"The later decision {names} reads this"


def needed(process: CompiledProcess, element_id: str) -> list[NeededField]:
    """Return the fields of a step's form that a later gateway, condition or script reads."""
    form = process.forms.get(element_id)
    if form is None:
        return []
    reads = fields_needed(process, element_id)
    return [NeededField(f, tuple(reads[f.id]), typed_default(f)) for f in form.fields
            if f.id in reads and not f.readonly]


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def skip_data(process: CompiledProcess, element_id: str, data: Mapping[str, Any] | None,
              *, complete: bool = True) -> dict[str, Any]:
    """Return the typed values a skip records; refuse naming every needed field left out.

    Only fields of the step's form are taken. With `complete` false (a dry run), missing
    fields are not refused: the preview shows where the defaults would lead.
    """
    form = process.forms.get(element_id)
    fields = {f.id: f for f in (form.fields if form else ()) if not f.readonly}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, raw in (data or {}).items():
        if key not in fields:
            errors[key] = f"'{key}' is not a field of this step's form"
        elif _given(raw):
            try:
                cleaned[key] = clean_value(fields[key], raw)
            except ValueError as bad:
                errors[key] = str(bad)
    if complete:
        for need in needed(process, element_id):
            if need.field.id not in cleaned and need.field.id not in errors:
                errors[need.field.id] = (f"{need.why}: give the value “{need.field.label}” would "
                                         "have recorded, or the case would route on a default")
    if errors:
        raise InvalidInput(errors, dict(data or {}))
    return cleaned


def needs_for_items(session, case, items) -> dict[int, list[NeededField]]:
    """Return {work item id: fields a skip of it must be given} for a case's open steps."""
    from engine import store

    process = store.compiled_by_id(session, case.definition_id)
    found = {item.id: needed(process, item.element_id) for item in items if item.kind != "adhoc"}
    return {item_id: fields for item_id, fields in found.items() if fields}


def check_skip(session, case_id: int, work_item_id: int, data: Mapping[str, Any] | None) -> None:
    """Refuse a skip that leaves out data a later decision reads (read-only, before any lock)."""
    from engine import store

    from ..case_models import Case, WorkItem

    item, case = session.get(WorkItem, work_item_id), session.get(Case, case_id)
    if item is None or case is None or item.case_id != case.id or item.kind == "adhoc":
        return  # the service's own checks name these
    skip_data(store.compiled_by_id(session, case.definition_id), item.element_id, data)
