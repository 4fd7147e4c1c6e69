"""What a case was opened with, labelled by the start form of the version it was opened on (a
later version's new labels do not rewrite it), and the example `data` the API offers
integrators, which the form it comes from accepts."""
from __future__ import annotations

from datetime import date

import pytest

from cases.case_service import open_case
from cases.definitions import deploy_file
from cases.start_forms import active_start_form, example_data, opened_with
from engine.forms import EnumValue, Form, FormField, validate_form
from tests.conftest import T0
from tests.engine.bpmn_snippets import doc, process

START = """    <bpmn:startEvent id="StartEvent_Reading" name="Meter reading phoned in">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="reading" label="{label}" type="double">
          <camunda:properties><camunda:property id="caseflow.step" value="0.5"/></camunda:properties>
          <camunda:validation><camunda:constraint name="required" /></camunda:validation>
        </camunda:formField>
        <camunda:formField id="estimated" label="Estimated?" type="boolean"/>
        <camunda:formField id="meter" label="Meter" type="enum">
          <camunda:value id="day" name="Day rate"/><camunda:value id="night" name="Night rate"/>
        </camunda:formField>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_Reading" targetRef="Check"/>
    <bpmn:userTask id="Check" name="Check the reading"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Check" targetRef="EndEvent_1"/>
    <bpmn:endEvent id="EndEvent_1"/>
"""


def deploy(session, label: str) -> None:
    xml = doc(process(START.format(label=label), pid="Reading"))
    deploy_file(session, xml.encode(), filename="reading.bpmn", actor="designer", now=T0,
                activate=True)


def test_the_case_shows_its_opening_values_in_the_opening_versions_words(session, people,
                                                                         customer):
    deploy(session, "Reading (kWh)")
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="Reading", channel="phone",
                     data={"reading": "1234.5", "meter": "night", "crm": "CRM-7"})
    deploy(session, "Meter reading")  # v2 renames the field; the case stays on v1's words
    assert active_start_form(session, "Reading")[1].field("reading").label == "Meter reading"
    assert [(v.label, v.shown) for v in opened_with(session, case)] == [
        ("Reading (kWh)", "1234.5"), ("Estimated?", "no"), ("Meter", "Night rate")]
    # `crm` is not a start-form field: the case keeps it, but it is no start-form value.


def test_a_case_without_a_start_form_was_opened_with_nothing(session, people, customer):
    deploy_file(session, doc(process(pid="Plain")).encode(), filename="plain.bpmn",
                actor="designer", now=T0, activate=True)
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="Plain", channel="phone", data={"anything": 1})
    assert opened_with(session, case) == []


FIELDS = [
    FormField("name", "Name", minlength=12, required=True),
    FormField("code", "Code", maxlength=3, required=True),
    FormField("count", "Count", type="long", min=2.5, step=2, required=True),
    FormField("price", "Price", type="double", min=0.005, decimals=2, required=True),
    FormField("share", "Share", type="double", min=0.2, step=0.25, required=True),
    FormField("below", "Below", type="long", max=-3, required=True),
    FormField("on", "On", type="date", required=True),
    FormField("kind", "Kind", type="enum", values=(EnumValue("a", "A"), EnumValue("b", "B")),
              default="b", required=True),
    FormField("shown", "Shown", readonly=True, default="x"),
    FormField("yes", "Yes", type="boolean"),
]


@pytest.mark.parametrize("field", FIELDS, ids=[f.id for f in FIELDS])
def test_the_example_data_fits_each_kind_of_field(field):
    form = Form((field,))
    data = example_data(form, date(2026, 12, 1))
    assert validate_form(form, data) is not None  # accepted as it stands
    assert field.readonly or field.id in data


def test_the_example_values():
    data = example_data(Form(tuple(FIELDS)), date(2026, 12, 1))
    assert data == {"name": "Examplexxxxx", "code": "Exa", "count": 4, "price": 0.01,
                    "share": 0.25, "below": -3, "on": "2026-12-01", "kind": "b", "yes": False}
    assert example_data(None, date(2026, 12, 1)) == {}
