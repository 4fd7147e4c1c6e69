"""Task forms written as Camunda Modeler writes them: camunda:formData / camunda:formField.

Decisions (see the tests in tests/engine/test_forms.py):
- A task without any camunda:formField has no form (`parse_form` returns None).
- An empty optional field is cleaned to None and kept, so a later gateway condition can read it
  and a value left from an earlier pass through the task (rework) is cleared, not silently kept.
- A boolean is never empty: an absent HTML checkbox is False, so `required` is always met by it.
- Dates are kept as ISO strings "YYYY-MM-DD" so task data stays plain JSON; Camunda's default
  pattern dd/MM/yyyy is accepted too (defaultValue in Camunda models is often written that way).
- Readonly fields are display-only: never taken from a submission and never written by a skip.
- An unknown field type is handled as text; parse never fails, engine.form_checks reports what
  is odd.
- Decimals: type "double" (and the custom types decimal, float, number, bigdecimal) keeps a
  number with a fraction, stored as a JSON number (float). A field may carry a step (form-js
  `increment`, or the formField property caseflow.step) and a most number of decimal places
  (form-js `decimalDigits`); a comma is read as the decimal point, as form-js does.
- Long text: a string field with the formField property caseflow.multiline="true" (form-js
  textarea) is drawn as a textarea; it is cleaned like any other text.
- Help text, adorners and radio groups come from Camunda forms only (engine.formjs): formData
  has no description, so its fields carry none.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from lxml import etree

from .errors import FormInvalid
from .parser import NS

TYPES = ("string", "long", "double", "boolean", "date", "enum")
DECIMAL_TYPES = frozenset({"double", "decimal", "float", "number", "bigdecimal"})
STEP_PROPERTIES = ("caseflow.step", "step")
MULTILINE_PROPERTIES = ("caseflow.multiline", "multiline")
CONSTRAINTS = ("required", "readonly", "min", "max", "minlength", "maxlength")
REQUIRED = "This field is required"
_TRUE = frozenset({"true", "on", "1", "yes"})
_FALSE = frozenset({"false", "off", "0", "no", ""})
_WHOLE = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CAMUNDA_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")

Number = int | float


@dataclass(frozen=True)
class EnumValue:
    """One choice of an enum field: the stored id and the name shown to the agent."""

    id: str
    name: str


@dataclass(frozen=True)
class FormField:
    """One typed input of a task form, with its constraints."""

    id: str
    label: str
    type: str = "string"
    required: bool = False
    default: str | None = None  # as written in the model; `form_defaults` gives it typed
    values: tuple[EnumValue, ...] = ()
    min: Number | None = None
    max: Number | None = None
    minlength: int | None = None
    maxlength: int | None = None
    readonly: bool = False
    step: Number | None = None  # a number must be a multiple of it (form-js increment)
    decimals: int | None = None  # at most this many decimal places (form-js decimalDigits)
    multiline: bool = False  # long text: drawn as a textarea
    description: str | None = None  # help text under the field (form-js description)
    prefix: str | None = None  # shown before the input, like "EUR" (form-js prefixAdorner)
    suffix: str | None = None  # shown after the input (form-js suffixAdorner)
    widget: str | None = None  # "radio": an enum drawn as a radio group (form-js radio)

    def as_dict(self) -> dict:
        values = [{"id": v.id, "name": v.name} for v in self.values]
        return {"id": self.id, "label": self.label, "type": self.type, "required": self.required,
                "default": self.default, "values": values,
                "min": self.min, "max": self.max, "minlength": self.minlength,
                "maxlength": self.maxlength, "readonly": self.readonly, "step": self.step,
                "decimals": self.decimals, "multiline": self.multiline,
                "description": self.description, "prefix": self.prefix, "suffix": self.suffix,
                "widget": self.widget}

    @property
    def input_step(self) -> str | None:
        """The step attribute of the number input: the step, one decimal place's unit or any."""
        if self.type not in ("long", "double"):
            return None
        if self.step is not None:
            return _show(self.step)
        if self.type == "long":
            return "1"
        return str(Decimal(1).scaleb(-self.decimals)) if self.decimals else "any"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FormField:
        values = tuple(EnumValue(v["id"], v["name"]) for v in data.get("values", ()))
        return cls(**{**data, "values": values})


@dataclass(frozen=True)
class Form:
    """The ordered fields of one task form."""

    fields: tuple[FormField, ...]

    def field(self, field_id: str) -> FormField:
        """Return the field with this id (KeyError if there is none)."""
        for field in self.fields:
            if field.id == field_id:
                return field
        raise KeyError(field_id)

    def as_dict(self) -> dict:
        return {"fields": [field.as_dict() for field in self.fields]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Form:
        return cls(tuple(FormField.from_dict(f) for f in data["fields"]))


class _Invalid(ValueError):
    """A single field's value is unacceptable; the message is for the agent."""


# ---- parsing ---------------------------------------------------------------------------------


def _field_elements(task: etree._Element) -> list[etree._Element]:
    return task.findall("bpmn:extensionElements/camunda:formData/camunda:formField", NS)


def _constraints(field_el: etree._Element) -> Iterator[etree._Element]:
    yield from field_el.findall("camunda:validation/camunda:constraint", NS)


def _number(text: str | None) -> Number | None:
    text = (text or "").strip()
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return int(value) if _WHOLE.match(text) else value


def _count(text: str | None) -> int | None:
    value = _number(text)
    return value if isinstance(value, int) and value >= 0 else None


def _field_properties(el: etree._Element) -> dict[str, str]:
    """The formField's own camunda:property entries (they carry `id`, not `name`)."""
    return {(p.get("id") or p.get("name") or "").strip().lower(): p.get("value") or ""
            for p in el.findall("camunda:properties/camunda:property", NS)}


def _field_type(el: etree._Element) -> str:
    written = (el.get("type") or "string").strip()
    if written.lower() in DECIMAL_TYPES:
        return "double"
    return written if written in TYPES else "string"


def _first(properties: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((properties[n] for n in names if n in properties), None)


def _parse_field(el: etree._Element) -> FormField:
    field_type = _field_type(el)
    config: dict[str, str | None] = {}
    for constraint in _constraints(el):
        config[(constraint.get("name") or "").strip().lower()] = constraint.get("config")
    properties = _field_properties(el)
    step = _number(_first(properties, STEP_PROPERTIES))
    multiline = (_first(properties, MULTILINE_PROPERTIES) or "").strip().lower() in _TRUE
    values = tuple(EnumValue(v.get("id", ""), v.get("name") or v.get("id", ""))
                   for v in el.findall("camunda:value", NS) if v.get("id"))
    return FormField(
        id=el.get("id", ""), label=el.get("label") or el.get("id", ""), type=field_type,
        required="required" in config, default=el.get("defaultValue"),
        values=values if field_type == "enum" else (),
        min=_number(config.get("min")), max=_number(config.get("max")),
        minlength=_count(config.get("minlength")), maxlength=_count(config.get("maxlength")),
        readonly="readonly" in config,
        step=step if field_type in ("long", "double") and step and step > 0 else None,
        multiline=multiline and field_type == "string")


def parse_form(task_element: etree._Element) -> Form | None:
    """Read the camunda:formData of a userTask or startEvent; None when it declares no field."""
    fields: list[FormField] = []
    seen: set[str] = set()
    for el in _field_elements(task_element):
        field_id = el.get("id")
        if field_id and field_id not in seen:  # a repeated id is reported, not used
            seen.add(field_id)
            fields.append(_parse_field(el))
    return Form(tuple(fields)) if fields else None


# ---- cleaning submitted values -----------------------------------------------------------------


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _show(number: Number) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _clean_string(field: FormField, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Invalid("Enter text")
    text = str(raw).strip()
    if field.minlength is not None and len(text) < field.minlength:
        raise _Invalid(f"Enter at least {field.minlength} characters")
    if field.maxlength is not None and len(text) > field.maxlength:
        raise _Invalid(f"Enter at most {field.maxlength} characters")
    return text


def _clean_long(field: FormField, raw: Any) -> int:
    if isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _WHOLE.match(raw.strip()):
        value = int(raw.strip())
    else:
        raise _Invalid("Enter a whole number")
    _check_range(field, Decimal(value))
    return value


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if "," in text and "." not in text and text.count(",") == 1:
            text = text.replace(",", ".")  # form-js reads a comma as the decimal point
    else:
        text = ""
    if not _NUMBER.match(text):
        raise _Invalid("Enter a number like 12.50")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _Invalid("Enter a number like 12.50") from None


def _check_range(field: FormField, value: Decimal) -> None:
    if field.min is not None and value < Decimal(str(field.min)):
        raise _Invalid(f"Must be at least {_show(field.min)}")
    if field.max is not None and value > Decimal(str(field.max)):
        raise _Invalid(f"Must be at most {_show(field.max)}")
    if field.step is not None:
        step = Decimal(str(field.step))
        if value % step:
            below = (value / step).to_integral_value(rounding=ROUND_FLOOR) * step
            places = max(0, -step.as_tuple().exponent)  # shown as precisely as the step
            raise _Invalid(f"Enter a multiple of {_show(field.step)}; the nearest are "
                           f"{below:.{places}f} and {below + step:.{places}f}")


def _clean_double(field: FormField, raw: Any) -> float:
    value = _decimal(raw)
    places = -value.as_tuple().exponent if value.as_tuple().exponent < 0 else 0
    if field.decimals is not None and places > field.decimals:
        raise _Invalid(f"Enter at most {field.decimals} decimal place"
                       f"{'s' if field.decimals != 1 else ''}")
    _check_range(field, value)
    return float(value)


def _clean_date(field: FormField, raw: Any) -> str:
    try:
        if isinstance(raw, datetime):
            return raw.date().isoformat()
        if isinstance(raw, date):
            return raw.isoformat()
        text = raw.strip() if isinstance(raw, str) else ""
        if _ISO_DATE.match(text):
            return date.fromisoformat(text).isoformat()
        if _CAMUNDA_DATE.match(text):
            return datetime.strptime(text, "%d/%m/%Y").date().isoformat()
    except ValueError:
        pass  # 2026-02-30 and the like: the same message as any other bad date
    raise _Invalid("Enter a date like 2026-12-31")


def _clean_enum(field: FormField, raw: Any) -> str:
    text = str(raw).strip()
    if any(value.id == text for value in field.values):
        return text
    if not field.values:
        raise _Invalid("This field has no choices; ask the process designer to add some")
    raise _Invalid("Choose one of: " + ", ".join(value.name for value in field.values))


def _clean_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return False
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid("Choose yes or no")


_CLEANERS = {"string": _clean_string, "long": _clean_long, "double": _clean_double,
             "date": _clean_date, "enum": _clean_enum}


def clean_value(field: FormField, raw: Any) -> Any:
    """Return the typed value of one field, or raise ValueError with a message for the agent."""
    if field.type == "boolean":
        return _clean_boolean(raw)
    if _is_empty(raw):
        if field.required:
            raise _Invalid(REQUIRED)
        return None
    return _CLEANERS.get(field.type, _clean_string)(field, raw)


def validate_form(form: Form, submitted: Mapping[str, Any]) -> dict:
    """Return typed values for every writable field, or raise FormInvalid naming every bad field."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in form.fields:
        if field.readonly:
            continue
        try:
            cleaned[field.id] = clean_value(field, submitted.get(field.id))
        except _Invalid as bad:
            errors[field.id] = str(bad)
    if errors:
        raise FormInvalid(errors)
    return cleaned


def typed_default(field: FormField) -> Any:
    """Return the defaultValue typed like a submission; None if there is none or it does not fit."""
    if field.default is None:
        return None
    try:
        return clean_value(field, field.default)
    except _Invalid:
        return None


def form_defaults(form: Form) -> dict:
    """Return the typed default of every writable field (None where there is none), for a skip."""
    return {field.id: typed_default(field) for field in form.fields if not field.readonly}
