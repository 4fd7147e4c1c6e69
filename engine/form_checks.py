"""What is wrong with a task's camunda:formData, for the designer: each problem at its formField's
line (engine.forms reads the fields; this module says what of them it cannot use)."""
from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from .errors import Problem
from .forms import (CONSTRAINTS, DECIMAL_TYPES, MULTILINE_PROPERTIES, STEP_PROPERTIES, TYPES,
                    FormField, _constraints, _count, _field_elements, _field_properties, _first,
                    _number, _parse_field, _show, typed_default)


def _field_problems(el: etree._Element, field: FormField) -> Iterator[tuple[str, str]]:
    """Yield (severity, message) for one formField element."""
    label = f"Form field '{field.id}'"
    written = (el.get("type") or "").strip()
    if written and written not in TYPES and written.lower() not in DECIMAL_TYPES:
        yield "warning", f"{label} has type '{el.get('type')}', which Caseflow shows as plain text"
    yield from _property_problems(el, field, label)
    if el.get("type") == "enum" and not field.values:
        yield "error", f"{label} is an enum without any values to choose from"
    for constraint in _constraints(el):
        name, config = (constraint.get("name") or "").strip().lower(), constraint.get("config")
        if name not in CONSTRAINTS:
            yield "warning", f"{label}: constraint '{name}' is not supported and is ignored"
        elif name in ("min", "max") and _number(config) is None:
            yield "error", f"{label}: {name} must be a number, not '{config or ''}'"
        elif name in ("minlength", "maxlength") and _count(config) is None:
            yield "error", (f"{label}: {name} must be a whole number of characters, "
                            f"not '{config or ''}'")
    if field.min is not None and field.max is not None and field.min > field.max:
        yield "error", f"{label}: min {_show(field.min)} is greater than max {_show(field.max)}"
    low, high = field.minlength, field.maxlength
    if low is not None and high is not None and low > high:
        yield "error", f"{label}: minlength {low} is greater than maxlength {high}"
    if field.default is not None and typed_default(field) is None and field.default.strip():
        yield "warning", (f"{label}: default value '{field.default}' is not a valid {field.type} "
                          "and is ignored")


def _property_problems(el: etree._Element, field: FormField, label: str
                       ) -> Iterator[tuple[str, str]]:
    properties = _field_properties(el)
    step = _first(properties, STEP_PROPERTIES)
    if step is not None:
        if field.type not in ("long", "double"):
            yield "warning", f"{label}: a step applies to numbers only and is ignored"
        elif field.step is None:
            yield "error", f"{label}: step must be a number above zero, like 0.01, not '{step}'"
        elif field.type == "long" and not float(field.step).is_integer():
            yield "error", (f"{label}: a whole-number field cannot step by {_show(field.step)}; "
                            "make its type double")
    multiline = _first(properties, MULTILINE_PROPERTIES)
    if multiline is not None and field.type != "string":
        yield "warning", f"{label}: only text fields can be long text; multiline is ignored"


def form_problems(task_element: etree._Element) -> list[Problem]:
    """List what is wrong with a task's camunda:formData, each located at the formField's line."""
    problems: list[Problem] = []
    seen: set[str] = set()
    where = {"element_id": task_element.get("id"), "element_name": task_element.get("name")}
    for el in _field_elements(task_element):
        field_id = el.get("id")
        if not field_id:
            problems.append(Problem("A form field has no id", line=el.sourceline, **where))
            continue
        if field_id in seen:
            problems.append(Problem(f"Form field id '{field_id}' is used twice in this form",
                                    line=el.sourceline, **where))
        seen.add(field_id)
        for severity, message in _field_problems(el, _parse_field(el)):
            problems.append(Problem(message, line=el.sourceline, severity=severity, **where))
    return problems


__all__ = ["form_problems"]
