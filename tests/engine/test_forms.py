"""Forms read from camunda:formData, cleaned for agents, and checked for designers."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import FormInvalid
from engine.form_checks import form_problems
from engine.forms import (EnumValue, Form, FormField, clean_value, form_defaults,
                          parse_form, validate_form)
from engine.parser import NS

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

HEAD = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
        '<bpmn:process id="p" isExecutable="true">')
TAIL = "</bpmn:process></bpmn:definitions>"

ALL_TYPES = """
<bpmn:userTask id="record_visit" name="Record visit">
  <bpmn:extensionElements>
    <camunda:formData>
      <camunda:formField id="notes" label="Notes" type="string">
        <camunda:validation>
          <camunda:constraint name="minlength" config="3" />
          <camunda:constraint name="maxlength" config="10" />
        </camunda:validation>
      </camunda:formField>
      <camunda:formField id="modems" label="Modems installed" type="long" defaultValue="1">
        <camunda:validation>
          <camunda:constraint name="required" />
          <camunda:constraint name="min" config="1" />
          <camunda:constraint name="max" config="4" />
        </camunda:validation>
      </camunda:formField>
      <camunda:formField id="working" label="Line working" type="boolean" defaultValue="true" />
      <camunda:formField id="visit_on" label="Visit date" type="date" defaultValue="31/12/2026" />
      <camunda:formField id="outcome" label="Outcome" type="enum" defaultValue="yes">
        <camunda:value id="yes" name="Yes" />
        <camunda:value id="no" name="No" />
      </camunda:formField>
      <camunda:formField id="ticket" label="Ticket" type="string" defaultValue="T-1">
        <camunda:validation><camunda:constraint name="readonly" /></camunda:validation>
      </camunda:formField>
    </camunda:formData>
  </bpmn:extensionElements>
</bpmn:userTask>
"""

GOOD = {"notes": "  ok then ", "modems": "2", "working": "on", "visit_on": "2026-03-02",
        "outcome": "no"}


def task_from(xml: str) -> etree._Element:
    root = etree.fromstring((HEAD + xml + TAIL).encode())
    return root.find("bpmn:process/bpmn:userTask", NS)


def corpus_task(name: str, task_id: str) -> etree._Element:
    root = etree.parse(str(CORPUS / "valid" / name)).getroot()
    return root.xpath("//*[@id=$id]", id=task_id)[0]


@pytest.fixture
def form() -> Form:
    parsed = parse_form(task_from(ALL_TYPES))
    assert parsed is not None
    return parsed


def one_field(**kwargs) -> Form:
    return Form((FormField(id="f", label="F", **kwargs),))


def error_for(form: Form, value) -> str:
    with pytest.raises(FormInvalid) as caught:
        validate_form(form, {"f": value})
    return caught.value.errors["f"]


# ---- real files -----------------------------------------------------------------------------

def test_camunda_modeler_form_fields_in_the_corpus_are_read():
    text = parse_form(corpus_task("spiffwf_transaction.bpmn", "Activity_Get_Data"))
    number = parse_form(corpus_task("spiffwf_transaction.bpmn", "Activity_Get_Quantity"))
    assert text == Form((FormField(id="value", label="Enter Data", type="string"),))
    assert number.fields[0].type == "long" and number.fields[0].label == "Get Quantity"
    assert validate_form(number, {"quantity": " 12 "}) == {"quantity": 12}


def test_tasks_with_external_camunda_forms_have_no_form():
    assert parse_form(corpus_task("camunda_invoiceApproval.bpmn", "UserTask_1")) is None
    assert parse_form(corpus_task("camunda_invoicePayment.bpmn", "Task_16y91ka")) is None


def test_spiffarena_json_schema_forms_are_not_camunda_forms():
    assert parse_form(corpus_task("spiffex_my_vacation.bpmn", "Activity_041y60h")) is None


# ---- parsing --------------------------------------------------------------------------------

def test_every_type_and_constraint_is_parsed(form):
    assert [f.id for f in form.fields] == [
        "notes", "modems", "working", "visit_on", "outcome", "ticket"]
    notes, modems, working, visit_on, outcome, ticket = form.fields
    assert (notes.minlength, notes.maxlength, notes.required) == (3, 10, False)
    assert (modems.type, modems.required, modems.min, modems.max, modems.default) == (
        "long", True, 1, 4, "1")
    assert working.type == "boolean" and visit_on.type == "date"
    assert outcome.values == (EnumValue("yes", "Yes"), EnumValue("no", "No"))
    assert ticket.readonly and not notes.readonly


def test_missing_type_and_label_fall_back_to_text_and_id():
    parsed = parse_form(task_from(
        '<bpmn:userTask id="t"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="ref" /><camunda:formField id="odd" type="customType" />'
        "</camunda:formData></bpmn:extensionElements></bpmn:userTask>"))
    assert [(f.id, f.label, f.type) for f in parsed.fields] == [("ref", "ref", "string"),
                                                                ("odd", "odd", "string")]


def test_duplicate_field_keeps_the_first_and_fieldless_form_is_none():
    parsed = parse_form(task_from(
        '<bpmn:userTask id="t"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="a" label="First" /><camunda:formField id="a" label="Second" />'
        "</camunda:formData></bpmn:extensionElements></bpmn:userTask>"))
    assert [f.label for f in parsed.fields] == ["First"]
    empty = task_from('<bpmn:userTask id="t"><bpmn:extensionElements><camunda:formData />'
                      "</bpmn:extensionElements></bpmn:userTask>")
    assert parse_form(empty) is None


def test_form_survives_a_json_round_trip(form):
    stored = json.loads(json.dumps(form.as_dict()))
    assert Form.from_dict(stored) == form
    assert stored["fields"][4]["values"] == [
        {"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}]


# ---- cleaning -------------------------------------------------------------------------------

def test_a_good_submission_is_typed(form):
    assert validate_form(form, GOOD) == {"notes": "ok then", "modems": 2, "working": True,
                                         "visit_on": "2026-03-02", "outcome": "no"}


def test_every_bad_field_is_reported_at_once(form):
    bad = {"notes": "no", "modems": "two", "working": "maybe", "visit_on": "tomorrow",
           "outcome": "perhaps"}
    with pytest.raises(FormInvalid) as caught:
        validate_form(form, bad)
    assert caught.value.errors == {
        "notes": "Enter at least 3 characters", "modems": "Enter a whole number",
        "working": "Choose yes or no", "visit_on": "Enter a date like 2026-12-31",
        "outcome": "Choose one of: Yes, No"}


def test_unknown_keys_are_ignored_and_readonly_fields_never_written(form):
    cleaned = validate_form(form, {**GOOD, "is_admin": "true", "ticket": "T-999"})
    assert "is_admin" not in cleaned and "ticket" not in cleaned


def test_empty_optional_fields_become_none_and_an_absent_checkbox_false(form):
    cleaned = validate_form(form, {"modems": "1"})
    assert cleaned == {"notes": None, "modems": 1, "working": False, "visit_on": None,
                       "outcome": None}


@pytest.mark.parametrize("field_type", ["string", "long", "date", "enum"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_required_fields_must_be_filled(field_type, value):
    field_form = one_field(type=field_type, required=True, values=(EnumValue("a", "A"),))
    assert error_for(field_form, value) == "This field is required"


@pytest.mark.parametrize("value,expected", [
    ("3", 3), ("-7", -7), ("+4", 4), (" 12 ", 12), (5, 5), (6.0, 6)])
def test_whole_numbers_are_accepted(value, expected):
    assert validate_form(one_field(type="long"), {"f": value}) == {"f": expected}


@pytest.mark.parametrize("value", ["1.5", "1,000", "1_000", "1e3", "abc", 2.5, True, [1]])
def test_anything_but_a_whole_number_is_refused(value):
    assert error_for(one_field(type="long"), value) == "Enter a whole number"


def test_number_bounds_have_plain_messages():
    bounded = one_field(type="long", min=3, max=10)
    assert error_for(bounded, "2") == "Must be at least 3"
    assert error_for(bounded, "11") == "Must be at most 10"
    assert validate_form(bounded, {"f": "3"}) == {"f": 3}
    assert validate_form(bounded, {"f": "10"}) == {"f": 10}


def test_text_is_stripped_and_its_length_checked():
    limited = one_field(type="string", minlength=2, maxlength=4)
    assert validate_form(limited, {"f": "  abcd  "}) == {"f": "abcd"}
    assert error_for(limited, "abcde") == "Enter at most 4 characters"
    assert error_for(limited, " a ") == "Enter at least 2 characters"
    assert validate_form(one_field(), {"f": 42}) == {"f": "42"}
    assert error_for(one_field(), {"nested": "dict"}) == "Enter text"


@pytest.mark.parametrize("value,expected", [
    ("true", True), ("on", True), ("1", True), ("TRUE", True), ("yes", True), (True, True),
    (1, True),
    ("false", False), ("off", False), ("0", False), ("", False), ("no", False), (False, False),
    (0, False), (None, False)])
def test_booleans_accept_what_browsers_and_clients_send(value, expected):
    assert validate_form(one_field(type="boolean"), {"f": value}) == {"f": expected}


def test_a_required_boolean_is_met_by_an_unchecked_box():
    assert validate_form(one_field(type="boolean", required=True), {}) == {"f": False}


@pytest.mark.parametrize("value,expected", [
    ("2026-03-02", "2026-03-02"), (" 2026-03-02 ", "2026-03-02"), ("02/03/2026", "2026-03-02"),
    (date(2026, 3, 2), "2026-03-02"), (datetime(2026, 3, 2, 17, 30), "2026-03-02")])
def test_dates_are_kept_as_iso_strings(value, expected):
    assert validate_form(one_field(type="date"), {"f": value}) == {"f": expected}


@pytest.mark.parametrize("value", ["2026-02-30", "20260302", "03/02/26", "next week", 20260302])
def test_bad_dates_are_refused(value):
    assert error_for(one_field(type="date"), value) == "Enter a date like 2026-12-31"


def test_enum_accepts_only_value_ids():
    choice = one_field(type="enum", values=(EnumValue("y", "Yes"), EnumValue("n", "No")))
    assert validate_form(choice, {"f": " y "}) == {"f": "y"}
    assert error_for(choice, "Yes") == "Choose one of: Yes, No"
    assert "no choices" in error_for(one_field(type="enum"), "y")


def test_clean_value_raises_value_error_with_the_agent_message():
    with pytest.raises(ValueError, match="Must be at most 4"):
        clean_value(FormField("n", "N", type="long", max=4), "5")


# ---- defaults -------------------------------------------------------------------------------

def test_defaults_are_typed_and_missing_ones_are_none(form):
    assert form_defaults(form) == {"notes": None, "modems": 1, "working": True,
                                   "visit_on": "2026-12-31", "outcome": "yes"}


def test_a_default_that_does_not_fit_its_type_is_ignored():
    assert form_defaults(one_field(type="long", default="${amount}")) == {"f": None}
    choice = one_field(type="enum", default="maybe", values=(EnumValue("y", "Y"),))
    assert form_defaults(choice) == {"f": None}


# ---- problems -------------------------------------------------------------------------------

def problems_for(fields_xml: str) -> list:
    task = task_from('<bpmn:userTask id="check" name="Check line"><bpmn:extensionElements>'
                     f"<camunda:formData>{fields_xml}</camunda:formData>"
                     "</bpmn:extensionElements></bpmn:userTask>")
    return form_problems(task)


def test_a_clean_form_has_no_problems(form):
    assert form_problems(task_from(ALL_TYPES)) == []


def test_enum_without_values_is_an_error_located_at_the_field():
    [problem] = problems_for('<camunda:formField id="pick" type="enum" />')
    assert problem.severity == "error"
    assert problem.message == "Form field 'pick' is an enum without any values to choose from"
    assert (problem.element_id, problem.element_name, problem.line) == ("check", "Check line", 1)


def test_duplicate_field_ids_are_an_error():
    problems = problems_for('<camunda:formField id="a" />\n<camunda:formField id="a" />')
    assert [p.message for p in problems] == ["Form field id 'a' is used twice in this form"]
    assert problems[0].line == 2


def test_min_above_max_and_minlength_above_maxlength_are_errors():
    problems = problems_for(
        '<camunda:formField id="n" type="long"><camunda:validation>'
        '<camunda:constraint name="min" config="10" /><camunda:constraint name="max" config="5" />'
        '</camunda:validation></camunda:formField>'
        '<camunda:formField id="s"><camunda:validation>'
        '<camunda:constraint name="minlength" config="8" />'
        '<camunda:constraint name="maxlength" config="2" />'
        '</camunda:validation></camunda:formField>')
    assert [p.message for p in problems] == [
        "Form field 'n': min 10 is greater than max 5",
        "Form field 's': minlength 8 is greater than maxlength 2"]


def test_non_numeric_constraint_config_is_an_error():
    problems = problems_for(
        '<camunda:formField id="n" type="long"><camunda:validation>'
        '<camunda:constraint name="min" config="ten" />'
        '<camunda:constraint name="maxlength" config="-1" />'
        '</camunda:validation></camunda:formField>')
    assert [(p.severity, p.message) for p in problems] == [
        ("error", "Form field 'n': min must be a number, not 'ten'"),
        ("error", "Form field 'n': maxlength must be a whole number of characters, not '-1'")]


def test_unsupported_types_constraints_and_defaults_are_warnings():
    problems = problems_for(
        '<camunda:formField id="c" type="currency" />'
        '<camunda:formField id="n" type="long" defaultValue="lots"><camunda:validation>'
        '<camunda:constraint name="validator" config="com.acme.Check" /></camunda:validation>'
        "</camunda:formField>")
    assert [p.severity for p in problems] == ["warning"] * 3
    assert "type 'currency'" in problems[0].message
    assert "constraint 'validator' is not supported" in problems[1].message
    assert "default value 'lots' is not a valid long" in problems[2].message


def test_a_field_without_id_is_an_error():
    [problem] = problems_for('<camunda:formField label="Nameless" />')
    assert problem.message == "A form field has no id" and problem.element_id == "check"
