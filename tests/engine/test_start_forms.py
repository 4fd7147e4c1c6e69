"""Start-event forms: the process's plain start event carries a form (a Camunda form or
camunda:formData) that the one opening a case fills in; runs plain and after a save/restore round
trip on a Camunda Modeler set (tests/engine/data/refund_set)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine import runtime
from engine.definitions import compile_processes, process_from_spec_json, resources_used
from engine.errors import FormInvalid
from engine.formjs import FormLibrary, read_form_file
from engine.validate import validate_bpmn

from .bpmn_snippets import check, doc, process
from .helpers import DATA, Runner, complete, ready_ids, task_for

SET = DATA / "refund_set"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
GOOD = {"invoice_number": "INV-2026-0042", "invoice_date": "2026-11-03",
        "refund_amount": "42.50", "disputed_share": "12.5",
        "refund_reason": "Billed twice for November.\nThe customer has both invoices.",
        "refund_method": "bank", "urgent": "true"}


def library() -> FormLibrary:
    return FormLibrary.of([read_form_file((SET / "refund_request.form").read_bytes(),
                                          "refund_request.form")])


def refund_bytes() -> bytes:
    return (SET / "refund_request.bpmn").read_bytes()


@pytest.fixture(scope="module")
def refund():
    return compile_processes(refund_bytes(), "refund_request.bpmn",
                             forms=library())["Process_RefundRequest"]


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def runner(request, refund) -> Runner:
    return Runner(refund, request.param)


def test_the_refund_set_checks_clean_and_its_start_form_is_no_warning():
    report = validate_bpmn(refund_bytes(), "refund_request.bpmn", forms=library())
    assert report.valid and report.problems == []
    used = resources_used(refund_bytes(), "refund_request.bpmn", library())
    assert used == ([], ["Form_RefundRequest"])  # the start form is pinned with the version


def test_the_start_form_is_read_from_the_camunda_form(refund):
    form = refund.start_form
    assert [(f.id, f.type, f.required) for f in form.fields] == [
        ("invoice_number", "string", True), ("invoice_date", "date", False),
        ("refund_amount", "double", True), ("disputed_share", "double", False),
        ("refund_reason", "string", True), ("refund_method", "enum", True),
        ("urgent", "boolean", False)]
    assert form.field("refund_reason").multiline
    assert form.field("refund_amount").input_step == "0.01"


def test_a_case_starts_with_the_start_form_values_typed(runner):
    instance = runner.start(dict(GOOD), now=NOW)
    review = task_for(instance, "Task_ReviewRefund")
    assert {k: review.data[k] for k in GOOD} == {
        "invoice_number": "INV-2026-0042", "invoice_date": "2026-11-03", "refund_amount": 42.5,
        "disputed_share": 12.5, "refund_reason": GOOD["refund_reason"],
        "refund_method": "bank", "urgent": True}
    instance = runner.again(instance)
    complete(instance, "Task_ReviewRefund", {"approved_amount": "40.05"}, now=NOW)
    instance = runner.again(instance)
    assert ready_ids(instance) == ["Task_PayRefund"]  # the gateway read the decimal
    assert task_for(instance, "Task_PayRefund").data["approved_amount"] == 40.05


def test_bad_start_data_names_every_field_and_starts_nothing(refund):
    bad = {**GOOD, "invoice_number": "", "refund_amount": "42.505", "disputed_share": "12.3",
           "refund_reason": "  ", "refund_method": "cash"}
    with pytest.raises(FormInvalid) as caught:
        runtime.start(refund, bad, now=NOW)
    assert caught.value.errors == {
        "invoice_number": "This field is required",
        "refund_amount": "Enter at most 2 decimal places",
        "disputed_share": "Enter a multiple of 0.5; the nearest are 12.0 and 12.5",
        "refund_reason": "This field is required",
        "refund_method": "Choose one of: Bank account, Credit on the next invoice"}


def test_data_beyond_the_start_form_is_kept_as_the_integrator_sent_it(runner):
    instance = runner.start({**GOOD, "crm_ticket": "CRM-7"}, now=NOW)
    assert task_for(instance, "Task_ReviewRefund").data["crm_ticket"] == "CRM-7"


def test_the_review_steps_decimal_refuses_a_third_place(runner):
    instance = runner.start(dict(GOOD), now=NOW)
    with pytest.raises(FormInvalid) as caught:
        complete(instance, "Task_ReviewRefund", {"approved_amount": "40.005"}, now=NOW)
    assert caught.value.errors["approved_amount"].startswith("Enter a multiple of 0.01")
    assert ready_ids(instance) == ["Task_ReviewRefund"]


def test_the_start_form_survives_the_stored_spec(refund):
    restored = process_from_spec_json(refund.process_id, refund.spec_json())
    assert restored.start_form == refund.start_form


def test_without_its_form_file_the_start_event_is_a_warning_and_cases_start_freely():
    report = validate_bpmn(refund_bytes(), "refund_request.bpmn")
    [warning] = [p for p in report.problems if p.element_id == "StartEvent_RefundAsked"]
    assert warning.severity == "warning" and "Form_RefundRequest" in warning.message
    compiled = compile_processes(refund_bytes(), "refund_request.bpmn")["Process_RefundRequest"]
    assert compiled.start_form is None
    instance = runtime.start(compiled, {}, now=NOW)
    assert ready_ids(instance) == ["Task_ReviewRefund"]


def test_a_process_without_a_start_form_starts_as_before():
    compiled = compile_processes((DATA / "deviations.bpmn").read_bytes(),
                                 "deviations.bpmn")["dev_process"]
    assert compiled.start_form is None
    instance = runtime.start(compiled, {"anything": ["goes", 1]}, now=NOW)
    assert task_for(instance, "Capture").data["anything"] == ["goes", 1]


FORM_DATA_START = """    <bpmn:startEvent id="StartEvent_Reading" name="Meter reading phoned in">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="reading" label="Reading (kWh)" type="double">
          <camunda:validation><camunda:constraint name="required" /></camunda:validation>
        </camunda:formField>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_Reading" targetRef="Check"/>
    <bpmn:userTask id="Check" name="Check the reading"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Check" targetRef="EndEvent_1"/>
    <bpmn:endEvent id="EndEvent_1"/>
"""


def test_a_formdata_start_form_is_checked_too():
    xml = doc(process(FORM_DATA_START))
    assert check(xml).problems == []
    compiled = compile_processes(xml.encode(), "reading.bpmn")["P"]
    assert [f.id for f in compiled.start_form.fields] == ["reading"]
    with pytest.raises(FormInvalid) as caught:
        runtime.start(compiled, {"reading": "12 kWh"}, now=NOW)
    assert caught.value.errors == {"reading": "Enter a number like 12.50"}
    started = runtime.start(compiled, {"reading": "1234.5"}, now=NOW)
    assert task_for(started, "Check").data["reading"] == 1234.5


TIMER_START = FORM_DATA_START.replace(
    "</bpmn:extensionElements>",
    "</bpmn:extensionElements>\n      <bpmn:timerEventDefinition><bpmn:timeDate>"
    '"2026-12-01T10:00:00Z"</bpmn:timeDate></bpmn:timerEventDefinition>')

EVENT_SUBPROCESS = """    <bpmn:startEvent id="Begin"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Begin" targetRef="Work"/>
    <bpmn:userTask id="Work" name="Work"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Work" targetRef="EndEvent_1"/>
    <bpmn:endEvent id="EndEvent_1"/>
    <bpmn:subProcess id="Sub" triggeredByEvent="true">
      <bpmn:startEvent id="SubStart" name="Customer calls" camunda:formRef="Form_RefundRequest">
        <bpmn:messageEventDefinition messageRef="Msg"/>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="S1" sourceRef="SubStart" targetRef="SubEnd"/>
      <bpmn:endEvent id="SubEnd"/>
    </bpmn:subProcess>
"""


def test_a_form_on_a_timer_start_or_inside_the_process_is_a_warning_naming_it():
    timer = check(doc(process(TIMER_START)))
    [warning] = timer.problems
    assert (warning.element_id, warning.severity) == ("StartEvent_Reading", "warning")
    assert warning.message.startswith("The start form of 'Meter reading phoned in' is not "
                                      "shown: cases start there on a timer, not by an agent.")
    inner = check(doc(process(EVENT_SUBPROCESS),
                      '  <bpmn:message id="Msg" name="customer_called"/>\n'), forms=library())
    [warning] = [p for p in inner.problems if p.element_id == "SubStart"]
    assert warning.severity == "warning"
    assert "starts a subprocess inside the process" in warning.message


def test_a_timer_start_does_not_ask_for_the_form():
    xml = doc(process(TIMER_START))
    compiled = compile_processes(xml.encode(), "reading.bpmn")["P"]
    assert compiled.start_form is None  # a timer's form has nobody to fill it in
    started = runtime.start(compiled, {}, now=NOW, start_event="StartEvent_Reading")
    assert ready_ids(started) == ["Check"]


def _starts(first: str, second: str) -> str:
    """Two plain start events, each on its own path; `first`/`second` are their form markup."""
    return (f'    <bpmn:startEvent id="S_Phone" name="Customer phoned">{first}</bpmn:startEvent>\n'
            f'    <bpmn:startEvent id="S_Shop" name="Customer came in">{second}</bpmn:startEvent>\n'
            '    <bpmn:sequenceFlow id="F1" sourceRef="S_Phone" targetRef="Phone"/>\n'
            '    <bpmn:sequenceFlow id="F2" sourceRef="S_Shop" targetRef="Shop"/>\n'
            '    <bpmn:userTask id="Phone" name="Call back"/>\n'
            '    <bpmn:userTask id="Shop" name="Serve at the desk"/>\n'
            '    <bpmn:sequenceFlow id="F3" sourceRef="Phone" targetRef="E"/>\n'
            '    <bpmn:sequenceFlow id="F4" sourceRef="Shop" targetRef="E"/>\n'
            '    <bpmn:endEvent id="E"/>\n')


def _form(field_id: str) -> str:
    return ('<bpmn:extensionElements><camunda:formData>'
            f'<camunda:formField id="{field_id}" label="{field_id}" type="string">'
            '<camunda:validation><camunda:constraint name="required" /></camunda:validation>'
            '</camunda:formField></camunda:formData></bpmn:extensionElements>')


def test_with_several_plain_starts_a_later_ones_form_is_a_warning_naming_both():
    xml = doc(process(_starts(_form("phone_note"), _form("desk_note"))))
    [warning] = check(xml).problems
    assert (warning.element_id, warning.severity) == ("S_Shop", "warning")
    assert warning.line == xml.splitlines().index(
        next(line for line in xml.splitlines() if 'id="S_Shop"' in line)) + 1
    assert warning.message == (
        "The start form of 'Customer came in' is not shown: a case opened by an agent or "
        "through the API starts at the process's first plain start event, 'Customer phoned', "
        "and asks for its form only. Give the process one plain start event (a gateway after "
        "it can tell the ways apart), or put the form on a user task after this event.")
    assert check(doc(process(_starts(_form("phone_note"), "")))).problems == []


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
def test_the_start_form_is_the_first_plain_starts_and_the_case_starts_there(roundtrip):
    """A form on the second start only: the case starts at the first, so no form is asked for
    (before, the second's form was asked and the case still went the first's way)."""
    xml = doc(process(_starts("", _form("desk_note"))))
    [warning] = check(xml).problems
    assert warning.element_id == "S_Shop"
    compiled = compile_processes(xml.encode(), "two.bpmn")["P"]
    assert compiled.start_form is None
    runner = Runner(compiled, roundtrip)
    instance = runner.again(runner.start({}, now=NOW))
    assert ready_ids(instance) == ["Phone"]
    both = compile_processes(doc(process(_starts(_form("phone_note"), _form("desk_note"))))
                             .encode(), "two.bpmn")["P"]
    assert [f.id for f in both.start_form.fields] == ["phone_note"]
    with pytest.raises(FormInvalid) as caught:
        runtime.start(both, {"desk_note": "at the desk"}, now=NOW)
    assert caught.value.errors == {"phone_note": "This field is required"}
    again = Runner(both, roundtrip)
    instance = again.again(again.start({"phone_note": "rang"}, now=NOW))
    assert ready_ids(instance) == ["Phone"]
    assert task_for(instance, "Phone").data["phone_note"] == "rang"
