"""Decimal numbers and long text in task forms: read from camunda:formData and from form-js,
cleaned for agents (typed input refused with a reason, a number stored) and checked for
designers."""
from __future__ import annotations

import json

import pytest
from lxml import etree

from engine.errors import FormInvalid
from engine.formjs import formjs_form
from engine.form_checks import form_problems
from engine.forms import Form, FormField, parse_form, validate_form
from engine.parser import NS

HEAD = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
        '<bpmn:process id="p" isExecutable="true"><bpmn:userTask id="t">'
        "<bpmn:extensionElements><camunda:formData>")
TAIL = ("</camunda:formData></bpmn:extensionElements></bpmn:userTask></bpmn:process>"
        "</bpmn:definitions>")


def task(fields: str) -> etree._Element:
    root = etree.fromstring((HEAD + fields + TAIL).encode())
    return root.find("bpmn:process/bpmn:userTask", NS)


def field_xml(field_id: str, field_type: str, *, props: str = "", constraints: str = "") -> str:
    properties = f"<camunda:properties>{props}</camunda:properties>" if props else ""
    validation = f"<camunda:validation>{constraints}</camunda:validation>" if constraints else ""
    return (f'<camunda:formField id="{field_id}" label="{field_id.title()}" type="{field_type}">'
            f"{properties}{validation}</camunda:formField>")


def prop(name: str, value: str) -> str:
    return f'<camunda:property id="{name}" value="{value}" />'


def formjs(*components: dict) -> Form:
    form, left_out = formjs_form(json.dumps({"id": "F", "components": list(components)}))
    assert left_out == []
    return form


def error(form: Form, field_id: str, value) -> str:
    with pytest.raises(FormInvalid) as caught:
        validate_form(form, {field_id: value})
    return caught.value.errors[field_id]


# ---- decimals -------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["double", "decimal", "Double", "bigdecimal"])
def test_formdata_double_and_custom_decimal_types_keep_fractions(written):
    form = parse_form(task(field_xml("price", written)))
    price = form.fields[0]
    assert (price.type, price.input_step) == ("double", "any")
    assert validate_form(form, {"price": " 12.50 "}) == {"price": 12.5}
    assert validate_form(form, {"price": "12,5"}) == {"price": 12.5}  # a comma, as form-js reads it
    assert validate_form(form, {"price": "-3"}) == {"price": -3.0}
    assert error(form, "price", "12.5 EUR") == "Enter a number like 12.50"
    assert error(form, "price", True) == "Enter a number like 12.50"
    assert form_problems(task(field_xml("price", written))) == []


def test_a_formdata_step_property_sets_the_input_step_and_the_check():
    form = parse_form(task(field_xml("price", "double", props=prop("caseflow.step", "0.05"),
                                     constraints='<camunda:constraint name="min" config="1" />')))
    price = form.fields[0]
    assert (price.step, price.input_step) == (0.05, "0.05")
    assert validate_form(form, {"price": "10.15"}) == {"price": 10.15}
    assert error(form, "price", "10.17") == ("Enter a multiple of 0.05; the nearest are 10.15 "
                                             "and 10.20")
    assert error(form, "price", "0.5") == "Must be at least 1"


def test_formjs_decimal_digits_make_a_decimal_field_and_limit_the_places():
    form = formjs({"type": "number", "key": "amount", "label": "Amount", "decimalDigits": 2,
                   "validate": {"min": 0.01, "max": 5000}})
    amount = form.fields[0]
    assert (amount.type, amount.decimals, amount.input_step) == ("double", 2, "0.01")
    assert validate_form(form, {"amount": "19.99"}) == {"amount": 19.99}
    assert validate_form(form, {"amount": 7}) == {"amount": 7.0}  # JSON numbers from the API
    assert error(form, "amount", "19.999") == "Enter at most 2 decimal places"
    assert error(form, "amount", "0.001") == "Enter at most 2 decimal places"
    assert error(form, "amount", "0") == "Must be at least 0.01"
    assert error(form, "amount", "5000.01") == "Must be at most 5000"


def test_formjs_increments_a_fraction_is_decimal_a_whole_one_stays_whole():
    half = formjs({"type": "number", "key": "share", "label": "Share", "increment": "0.5"})
    five = formjs({"type": "number", "key": "boxes", "label": "Boxes", "increment": 5})
    plain = formjs({"type": "number", "key": "count", "label": "Count"})
    assert (half.fields[0].type, half.fields[0].input_step) == ("double", "0.5")
    assert validate_form(half, {"share": "2.5"}) == {"share": 2.5}
    assert error(half, "share", "2.4") == "Enter a multiple of 0.5; the nearest are 2.0 and 2.5"
    assert (five.fields[0].type, five.fields[0].input_step) == ("long", "5")
    assert validate_form(five, {"boxes": "15"}) == {"boxes": 15}
    assert error(five, "boxes", "12") == "Enter a multiple of 5; the nearest are 10 and 15"
    assert (plain.fields[0].type, plain.fields[0].input_step) == ("long", "1")
    assert error(plain, "count", "1.5") == "Enter a whole number"


def test_an_empty_optional_decimal_is_none_and_a_required_one_is_refused():
    optional = parse_form(task(field_xml("tip", "double")))
    required = parse_form(task(field_xml("tip", "double",
                                         constraints='<camunda:constraint name="required" />')))
    assert validate_form(optional, {"tip": " "}) == {"tip": None}
    assert error(required, "tip", "") == "This field is required"


def test_bad_step_properties_are_named_for_the_designer():
    problems = form_problems(task(
        field_xml("a", "double", props=prop("caseflow.step", "zero"))
        + field_xml("b", "long", props=prop("caseflow.step", "0.5"))
        + field_xml("c", "string", props=prop("caseflow.step", "2"))))
    messages = {(p.severity, p.message) for p in problems}
    assert ("error", "Form field 'a': step must be a number above zero, like 0.01, not 'zero'"
            ) in messages
    assert ("error", "Form field 'b': a whole-number field cannot step by 0.5; make its type "
            "double") in messages
    assert ("warning", "Form field 'c': a step applies to numbers only and is ignored") in messages
    assert all(p.line == 1 and p.element_id == "t" for p in problems)


def test_decimal_fields_survive_the_stored_form_dict():
    form = formjs({"type": "number", "key": "amount", "label": "Amount", "decimalDigits": 2},
                  {"type": "textarea", "key": "why", "label": "Why"})
    assert Form.from_dict(json.loads(json.dumps(form.as_dict()))) == form
    # A form stored before these attributes existed still reads, as a plain field.
    old = {"fields": [{"id": "n", "label": "N", "type": "long", "required": False,
                       "default": None, "values": [], "min": None, "max": None,
                       "minlength": None, "maxlength": None, "readonly": False}]}
    assert Form.from_dict(old).fields[0] == FormField(id="n", label="N", type="long")


# ---- long text ------------------------------------------------------------------------------

def test_formjs_textarea_and_a_multiline_formdata_field_are_long_text():
    area = formjs({"type": "textarea", "key": "notes", "label": "Notes",
                   "validate": {"maxLength": 5}})
    line = formjs({"type": "textfield", "key": "name", "label": "Name"})
    marked = parse_form(task(field_xml("notes", "string",
                                       props=prop("caseflow.multiline", "true"))))
    unmarked = parse_form(task(field_xml("notes", "string")))
    assert area.fields[0].multiline and marked.fields[0].multiline
    assert not line.fields[0].multiline and not unmarked.fields[0].multiline
    assert validate_form(marked, {"notes": "line one\nline two"}) == {
        "notes": "line one\nline two"}
    assert error(area, "notes", "too long") == "Enter at most 5 characters"


def test_multiline_on_a_field_that_is_not_text_is_a_warning_and_ignored():
    el = task(field_xml("n", "long", props=prop("multiline", "true")))
    assert not parse_form(el).fields[0].multiline
    [problem] = form_problems(el)
    assert problem.severity == "warning"
    assert problem.message == ("Form field 'n': only text fields can be long text; multiline is "
                               "ignored")
