"""Camunda Forms (form-js JSON, `.form` files) read into Caseflow's own task forms.

Decision: a form-js schema is turned into the same `Form` as `camunda:formData` at deployment, so
the page draws it with Caseflow's own fields (no form-js in the browser, nothing for the CSP to
allow) and the server checks a submission with the same rules, error display and kept input.

Where the form comes from, as modelers write it:
- `camunda:formRef="Form_x"` (Camunda 7, by the form's id), `camunda:formKey="camunda-forms:
  deployment:name.form"` (Camunda 7, by file name), `zeebe:formDefinition formId="Form_x"`
  (Camunda 8, by id) or `formKey="camunda-forms:bpmn:UserTaskForm_x"` with the JSON embedded in
  the file (`zeebe:userTaskForm`).
- Embedded (`embedded:`) and application (`app:`) forms are HTML pages Caseflow cannot show, and a
  reference to a form that is not in the upload nor deployed cannot be shown either: both are
  warnings naming the step, which then shows no fields (never silence).

A field's `description` is shown as help text under it and `appearance.prefixAdorner`/
`suffixAdorner` (e.g. "EUR") beside its input; a radio stays a radio group on the page (a select
stays a select). Text written as a FEEL expression ("=...") or template ("{{...}}") needs a
form-js renderer with the case's data: it is left out, with a warning.

Components: textfield, textarea, number, checkbox, select, radio, datetime (date) become fields;
text, spacer, separator, image and buttons are display-only and skipped; group and dynamic list
contents are read as if flat; checklist, taglist, dynamic option lists (valuesKey) and other kinds
are warnings and are not shown.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .errors import Problem
from .forms import EnumValue, Form, FormField

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
MAX_FORM_BYTES = 1024 * 1024
_DISPLAY_ONLY = {"text", "spacer", "separator", "image", "button", "html", "iframe", "table",
                 "documentPreview", "expression"}
_CONTAINERS = {"group", "dynamiclist"}


class FormFileInvalid(ValueError):
    """A .form file that is not a form-js schema; the message says why."""


@dataclass(frozen=True)
class FormFile:
    """One uploaded form-js schema: its id, file name and JSON text."""

    id: str
    filename: str
    text: str


@dataclass(frozen=True)
class FormLibrary:
    """The forms a deployment can refer to, by form id and by file name."""

    files: tuple[FormFile, ...] = ()
    by_id: Mapping[str, FormFile] = field(default_factory=dict)
    by_name: Mapping[str, FormFile] = field(default_factory=dict)

    @classmethod
    def of(cls, files) -> FormLibrary:
        files = tuple(files)
        return cls(files, {f.id: f for f in files}, {f.filename: f for f in files})


def read_form_file(data: bytes, filename: str = "upload.form") -> FormFile:
    """Read a .form file (form-js JSON); raise FormFileInvalid saying what is wrong."""
    if len(data) > MAX_FORM_BYTES:
        raise FormFileInvalid(f"{filename} is larger than 1 MB; a form-js form is far smaller.")
    try:
        schema = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise FormFileInvalid(f"{filename} is not UTF-8 text; save the form from your modeler "
                              "and upload the .form file.") from None
    except json.JSONDecodeError as err:
        raise FormFileInvalid(f"{filename} is not valid JSON (line {err.lineno}: {err.msg}). "
                              "Save the form again in your modeler.") from None
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        raise FormFileInvalid(f"{filename} is not a Camunda form: it has no 'components' list.")
    form_id = schema.get("id")
    if not isinstance(form_id, str) or not form_id.strip():
        raise FormFileInvalid(f"{filename} has no form id; open it in Camunda Modeler and save "
                              "it (the modeler gives every form an id).")
    return FormFile(form_id.strip(), filename, data.decode("utf-8"))


# ---- form-js schema -> Form -------------------------------------------------------------------
def _components(items: Any) -> Iterator[dict]:
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("type") in _CONTAINERS:
            yield from _components(item.get("components"))
        else:
            yield item


def _values(component: dict) -> tuple[EnumValue, ...]:
    values = component.get("values") if isinstance(component.get("values"), list) else []
    return tuple(EnumValue(str(v.get("value")), str(v.get("label") or v.get("value")))
                 for v in values if isinstance(v, dict) and v.get("value") is not None)


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _field(component: dict) -> tuple[FormField | None, str | None]:
    """Return (field, None) or (None, why it is not shown)."""
    kind, key = component.get("type"), component.get("key")
    label = str(component.get("label") or component.get("dateLabel") or key or "")
    if kind in _DISPLAY_ONLY:
        return None, None
    if not isinstance(key, str) or not key:
        return None, f"the {kind} field '{label}' has no key, so its value would have no name"
    validate = component.get("validate") if isinstance(component.get("validate"), dict) else {}
    common = {"id": key, "label": label or key, "required": bool(validate.get("required")),
              "readonly": bool(component.get("readonly") or component.get("disabled")),
              **_words(component)}
    default = component.get("defaultValue")
    default_text = None if default is None else (str(default).lower() if isinstance(default, bool)
                                                 else str(default))
    if kind in ("textfield", "textarea"):
        return FormField(type="string", default=default_text,
                         minlength=_count(validate.get("minLength")),
                         maxlength=_count(validate.get("maxLength")),
                         multiline=kind == "textarea", **common), None
    if kind == "number":
        return _number_field(component, validate, default_text, common), None
    if kind == "checkbox":
        return FormField(type="boolean", default=default_text, **common), None
    if kind in ("select", "radio"):
        if component.get("valuesKey") or component.get("valuesExpression"):
            return None, (f"the {kind} field '{label}' takes its choices from case data "
                          "(dynamic options), which Caseflow cannot show")
        return FormField(type="enum", default=default_text, values=_values(component),
                         widget="radio" if kind == "radio" else None, **common), None
    if kind == "datetime":
        if component.get("subtype", "date") != "date":
            return None, (f"the field '{label}' asks for a {component.get('subtype')}; Caseflow "
                          "shows dates only")
        return FormField(type="date", default=default_text, **common), None
    return None, f"the {kind} field '{label}' is a kind Caseflow cannot show"


def _text(value: Any) -> str | None:
    """A plain piece of form text; None when absent or a FEEL expression ("=...") or template
    ("{{...}}"), which only a form-js renderer with the case's data could show."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    return None if text.startswith("=") or "{{" in text else text


def _written_words(component: dict) -> dict[str, Any]:
    """The help text and adorners as written: description, prefix and suffix."""
    appearance = component.get("appearance") if isinstance(component.get("appearance"),
                                                           dict) else {}
    return {"description": component.get("description"),
            "prefix": appearance.get("prefixAdorner"), "suffix": appearance.get("suffixAdorner")}


def _words(component: dict) -> dict:
    """The field's help text and the adorners shown beside its input."""
    return {what: _text(value) for what, value in _written_words(component).items()}


def _unshown_words(component: dict, label: str) -> Iterator[str]:
    for what, value in _written_words(component).items():
        if isinstance(value, str) and value.strip() and _text(value) is None:
            yield (f"the {what} of the field '{label}' is an expression ('{value.strip()}'), "
                   "which Caseflow cannot work out")


def _number_field(component: dict, validate: dict, default: str | None, common: dict
                  ) -> FormField:
    """A form-js number: whole unless it has decimal digits or steps by a fraction."""
    digits = _count(component.get("decimalDigits"))
    step = _increment(component.get("increment"))
    decimal = bool(digits) or (step is not None and not float(step).is_integer())
    if step is not None and not decimal:
        step = int(step)
    return FormField(type="double" if decimal else "long", default=default,
                     min=_number(validate.get("min")), max=_number(validate.get("max")),
                     step=step, decimals=digits if decimal else None, **common)


def _increment(value: Any) -> int | float | None:
    """form-js writes the increment as a number or as text ("0.05"); None unless above zero."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    number = _number(value)
    return number if number is not None and number > 0 else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def formjs_form(text: str) -> tuple[Form | None, list[str]]:
    """Turn a form-js schema into a Form; return it (None without fields) and what is left out."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as err:
        return None, [f"the form is not valid JSON (line {err.lineno}: {err.msg})"]
    if not isinstance(schema, dict):
        return None, ["the form is not a form-js schema"]
    fields, left_out, seen = [], [], set()
    for component in _components(schema.get("components")):
        item, why = _field(component)
        if why:
            left_out.append(why)
        if item is not None:
            left_out.extend(_unshown_words(component, item.label))
        if item is not None and item.id not in seen:
            seen.add(item.id)
            fields.append(item)
    return (Form(tuple(fields)) if fields else None), left_out


# ---- which form a task uses --------------------------------------------------------------------
@dataclass(frozen=True)
class FormReference:
    """What a task's form attributes point at: a form found, or why none can be shown."""

    form: FormFile | None = None
    problem: str | None = None


def _embedded_forms(root: etree._Element) -> dict[str, FormFile]:
    found = {}
    for node in root.iter(f"{{{ZEEBE}}}userTaskForm"):
        if node.get("id") and (node.text or "").strip():
            found[node.get("id")] = FormFile(node.get("id"), f"{node.get('id')} (in the BPMN file)",
                                             node.text)
    return found


def form_reference(task: etree._Element, library: FormLibrary) -> FormReference | None:
    """Resolve a userTask's or startEvent's Camunda Forms reference; None when it names none."""
    what = f"The form of '{task.get('name') or task.get('id')}'"
    ref = task.get(f"{{{CAMUNDA}}}formRef")
    key = task.get(f"{{{CAMUNDA}}}formKey")
    zeebe = task.find(f"{{*}}extensionElements/{{{ZEEBE}}}formDefinition")
    if zeebe is not None:
        ref = zeebe.get("formId") or ref
        key = zeebe.get("formKey") or key
        if zeebe.get("externalReference"):
            return FormReference(problem=f"{what} is an external page "
                                 f"('{zeebe.get('externalReference')}'), which Caseflow cannot "
                                 "show. The step will show no fields.")
    if ref:
        found = library.by_id.get(ref.strip())
        return FormReference(found, None if found else (
            f"{what} refers to the Camunda form '{ref}', which is neither in this upload nor "
            "deployed. Upload its .form file with the process; until then the step shows no "
            "fields."))
    if not key:
        return None
    key = key.strip()
    for prefix, lookup in (("camunda-forms:deployment:", library.by_name),
                           ("camunda-forms:bpmn:", _embedded_forms(task.getroottree().getroot()))):
        if key.startswith(prefix):
            name = key[len(prefix):]
            found = lookup.get(name)
            return FormReference(found, None if found else (
                f"{what} refers to '{name}' ({key}), which is neither in this upload nor "
                "deployed. Upload the .form file with the process; until then the step shows no "
                "fields."))
    kind = ("an embedded HTML form" if key.startswith("embedded:") else
            "an application page" if key.startswith(("app:", "camunda-forms:app:")) else
            "a form key")
    return FormReference(problem=f"{what} is {kind} ('{key}'), which Caseflow cannot show. Use "
                         "Camunda Forms (a .form file) or form fields instead; until then the "
                         "step shows no fields.")


def task_form(task: etree._Element, library: FormLibrary) -> Form | None:
    """Return the Camunda form a userTask or startEvent uses, converted; None if none to show."""
    found = form_reference(task, library)
    if found is None or found.form is None:
        return None
    return formjs_form(found.form.text)[0]


def form_reference_problems(root: etree._Element, library: FormLibrary) -> list[Problem]:
    """Warnings for userTasks and start events whose Camunda form cannot be found or shown.

    Whether a found start form is shown at all is engine.start_forms' question."""
    problems = []
    for task in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask",
                          "{http://www.omg.org/spec/BPMN/20100524/MODEL}startEvent"):
        found = form_reference(task, library)
        where = {"element_id": task.get("id"), "element_name": task.get("name"),
                 "line": task.sourceline, "severity": "warning"}
        if found is None:
            continue
        if found.problem:
            problems.append(Problem(found.problem, **where))
            continue
        form, left_out = formjs_form(found.form.text)
        for why in left_out:
            problems.append(Problem(f"In the form of '{task.get('name') or task.get('id')}' "
                                    f"({found.form.filename}), {why}; it is left out.", **where))
    return problems


__all__ = ["FormFile", "FormFileInvalid", "FormLibrary", "FormReference", "form_reference",
           "form_reference_problems", "formjs_form", "read_form_file", "task_form"]
