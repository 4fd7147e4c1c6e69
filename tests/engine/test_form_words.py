"""What a Camunda form says around its inputs: a field's description (help text), the adorners
beside an input ("EUR") and a radio group that stays a radio group; read from form-js, kept in
the stored form, absent from camunda:formData (which has no such attributes)."""
from __future__ import annotations

import json

from engine.formjs import formjs_form
from engine.forms import Form, parse_form, validate_form

from .bpmn_snippets import check, doc, process
from .test_form_kinds import field_xml, task
from .test_start_forms import library, refund_bytes

AMOUNT = {"type": "number", "key": "amount", "label": "Amount", "decimalDigits": 2,
          "description": "As printed on the invoice",
          "appearance": {"prefixAdorner": "EUR", "suffixAdorner": "incl. VAT"}}
CHOICE = {"type": "radio", "key": "method", "label": "Refund to",
          "values": [{"label": "Bank account", "value": "bank"},
                     {"label": "Credit", "value": "credit"}]}


def read(*components: dict) -> tuple[Form | None, list[str]]:
    return formjs_form(json.dumps({"id": "F", "components": list(components)}))


def test_description_and_adorners_are_read_from_formjs():
    form, left_out = read(AMOUNT, {"type": "textfield", "key": "iban", "label": "IBAN",
                                   "appearance": {"prefixAdorner": "  "}})
    assert left_out == []
    amount, iban = form.fields
    assert (amount.description, amount.prefix, amount.suffix) == (
        "As printed on the invoice", "EUR", "incl. VAT")
    assert (iban.description, iban.prefix, iban.suffix) == (None, None, None)  # blank is none


def test_a_radio_is_a_radio_group_and_a_select_stays_a_select():
    form, _ = read(CHOICE, {**CHOICE, "type": "select", "key": "method2"})
    radio, select = form.fields
    assert (radio.type, radio.widget) == ("enum", "radio")
    assert (select.type, select.widget) == ("enum", None)
    assert [v.id for v in radio.values] == ["bank", "credit"]
    assert validate_form(form, {"method": "bank", "method2": "credit"}) == {
        "method": "bank", "method2": "credit"}


def test_an_expression_description_is_left_out_with_a_reason():
    form, left_out = read({**AMOUNT, "description": "=if urgent then \"Now\" else \"\"",
                           "appearance": {"suffixAdorner": "{{currency}}"}})
    assert (form.fields[0].description, form.fields[0].suffix) == (None, None)
    assert left_out == [
        "the description of the field 'Amount' is an expression "
        "('=if urgent then \"Now\" else \"\"'), which Caseflow cannot work out",
        "the suffix of the field 'Amount' is an expression ('{{currency}}'), which Caseflow "
        "cannot work out"]


def test_the_words_survive_the_stored_form_dict():
    form, _ = read(AMOUNT, CHOICE)
    assert Form.from_dict(json.loads(json.dumps(form.as_dict()))) == form


def test_a_form_stored_before_these_attributes_still_loads():
    stored = {"fields": [{"id": "a", "label": "A", "type": "string", "required": False,
                          "default": None, "values": [], "min": None, "max": None,
                          "minlength": None, "maxlength": None, "readonly": False,
                          "step": None, "decimals": None, "multiline": False}]}
    field = Form.from_dict(stored).fields[0]
    assert (field.description, field.prefix, field.suffix, field.widget) == (None,) * 4


def test_formdata_fields_carry_no_description_or_adorner():
    enum = ('<camunda:formField id="method" label="Method" type="enum">'
            '<camunda:value id="bank" name="Bank"/></camunda:formField>')
    form = parse_form(task(field_xml("amount", "double") + enum))
    assert all((f.description, f.prefix, f.suffix, f.widget) == (None,) * 4
               for f in form.fields)


def test_the_refund_forms_words_reach_the_compiled_start_form():
    from engine.definitions import compile_processes, process_from_spec_json

    compiled = compile_processes(refund_bytes(), "refund_request.bpmn",
                                 forms=library())["Process_RefundRequest"]
    restored = process_from_spec_json(compiled.process_id, compiled.spec_json())
    form = restored.start_form
    assert form.field("refund_amount").prefix == "EUR"
    assert form.field("refund_reason").description == "In the customer's words"
    assert form.field("refund_method").widget == "radio"


def test_an_expression_in_a_task_form_is_a_warning_for_the_designer():
    from engine.formjs import FormFile, FormLibrary

    text = json.dumps({"id": "Form_X", "components": [{**AMOUNT, "description": "=note"}]})
    lib = FormLibrary.of([FormFile("Form_X", "x.form", text)])
    body = ('    <bpmn:startEvent id="B"/>\n'
            '    <bpmn:sequenceFlow id="F1" sourceRef="B" targetRef="T"/>\n'
            '    <bpmn:userTask id="T" name="Check" camunda:formRef="Form_X"/>\n'
            '    <bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E"/>\n'
            '    <bpmn:endEvent id="E"/>\n')
    [warning] = check(doc(process(body)), forms=lib).problems
    assert (warning.element_id, warning.severity) == ("T", "warning")
    assert warning.message == ("In the form of 'Check' (x.form), the description of the field "
                               "'Amount' is an expression ('=note'), which Caseflow cannot work "
                               "out; it is left out.")
