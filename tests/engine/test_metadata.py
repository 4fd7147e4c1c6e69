"""Metadata read from real and hand-written BPMN: lanes, nodes, flows, properties, SLAs, phases."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import StepNotFound
from engine.forms import Form
from engine.metadata import DefinitionMetadata, metadata_problems, parse_duration, read_metadata

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.bpmn"))

NAMESPACES = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
              'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
              'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')

INSTALL = f"""<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t">
  <bpmn:process id="install" name="Install service" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:properties>
        <camunda:property name="caseflow.sla" value="P5D" />
        <camunda:property name="caseflow.phase" value="Interaction" />
      </camunda:properties>
    </bpmn:extensionElements>
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_front" name="Front office">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>visit</bpmn:flowNodeRef>
        <bpmn:childLaneSet id="cls">
          <bpmn:lane id="lane_field" name="Field team">
            <bpmn:flowNodeRef>visit</bpmn:flowNodeRef>
          </bpmn:lane>
        </bpmn:childLaneSet>
      </bpmn:lane>
      <bpmn:lane id="lane_back" name="Back office">
        <bpmn:flowNodeRef>activate</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>check</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_unnamed"><bpmn:flowNodeRef>done</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="visit" name="Visit customer">
      <bpmn:documentation>Bring the modem.</bpmn:documentation>
      <bpmn:documentation>Call before you go.</bpmn:documentation>
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="caseflow.sla" value="PT4H" />
        </camunda:properties>
        <spiffworkflow:properties>
          <spiffworkflow:property name="caseflow.sla" value="PT2H" />
          <spiffworkflow:property name="kind" value="field" />
        </spiffworkflow:properties>
        <camunda:formData>
          <camunda:formField id="working" label="Line working" type="boolean" />
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="late" name="Too late" attachedToRef="visit" />
    <bpmn:subProcess id="activate" name="Activate line">
      <bpmn:startEvent id="sub_start" />
      <bpmn:subProcess id="inner" name="Configure">
        <bpmn:serviceTask id="configure" name="Configure port" />
      </bpmn:subProcess>
      <bpmn:laneSet id="sub_ls">
        <bpmn:lane id="lane_noc" name="Network ops">
          <bpmn:flowNodeRef>test_line</bpmn:flowNodeRef>
        </bpmn:lane>
      </bpmn:laneSet>
      <bpmn:userTask id="test_line" name="Test line" />
      <bpmn:sequenceFlow id="sub_flow" sourceRef="sub_start" targetRef="inner" />
    </bpmn:subProcess>
    <bpmn:exclusiveGateway id="check" name="Working?" default="no" />
    <bpmn:callActivity id="billing" name="Start billing" calledElement="billing_process" />
    <bpmn:endEvent id="done" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="visit" />
    <bpmn:sequenceFlow id="yes" name="Yes" sourceRef="check" targetRef="billing">
      <bpmn:conditionExpression>  working == True  </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no" name="No" sourceRef="check" targetRef="visit" />
  </bpmn:process>
  <bpmn:process id="idle" />
</bpmn:definitions>"""


def line_of(xml: str, needle: str) -> int:
    return xml[:xml.index(needle)].count("\n") + 1


def load(name: str) -> etree._Element:
    return etree.parse(str(CORPUS / "valid" / name)).getroot()


@pytest.fixture(scope="module")
def install():
    return read_metadata(etree.fromstring(INSTALL.encode())).process("install")


# ---- real files -----------------------------------------------------------------------------

def test_lanes_of_a_spiffarena_model():
    process = read_metadata(load("arena_lanes.bpmn")).process("Process_yhito9d")
    assert process.lanes == ("Process Initiator", "Finance Team")
    assert process.node("finance_approval").lane == "Finance Team"
    assert process.node("initiator_two").lane == "Process Initiator"
    assert process.node("initiator_one").type == "manualTask"
    assert [(f.source, f.target) for f in process.flows][:2] == [
        ("StartEvent_1", "initiator_one"), ("initiator_one", "finance_approval")]


def test_lanes_of_a_camunda_model():
    process = read_metadata(load("camunda_testing-job-announcement.bpmn")).processes[0]
    assert process.lanes == ("Automated", "Management", "HR")
    assert process.node("review").lane is not None
    assert process.node("review").line == 40


def test_boundary_events_know_their_task():
    process = read_metadata(load("camunda_invoicePayment.bpmn")).process("embeddedFormsBpmnEvents")
    boundary = process.node("BoundaryEvent_1uy9o9h")
    assert (boundary.type, boundary.attached_to, boundary.name) == (
        "boundaryEvent", "Task_16y91ka", "Suspicous\nsender")
    assert process.node("Task_16y91ka").attached_to is None and process.executable


def test_call_activities_know_what_they_call():
    process = read_metadata(load("camunda_mainProcess.bpmn")).process("mainProcess")
    assert process.node("CallActivity_0ahffuc").called_element == "subProcess"


def test_transaction_contents_flows_conditions_defaults_and_forms():
    process = read_metadata(load("spiffwf_transaction.bpmn")).process("Main_Process")
    assert process.node("Activity_Get_Quantity").subprocess == "Subprocess"
    assert process.node("Activity_Get_Quantity").form.fields[0].id == "quantity"
    flows = {f.id: f for f in process.flows}
    assert flows["Quantity_LT_Zero"].condition == "quantity < 0"
    assert flows["Quantity_Default"].is_default and flows["Quantity_Default"].condition is None
    assert not flows["Quantity_LT_Zero"].is_default


def test_deeply_nested_subprocesses_are_included():
    process = read_metadata(load("bpmnio_nested-subprocesses.bpmn")).process("rootProcess")
    supplier = process.node("sid-3459D5A6-4E18-4133-8362-0418AC9CE830")
    assert (supplier.type, supplier.name, supplier.subprocess) == (
        "userTask", "Call External Supplier", "collapsedProcess_2")
    assert process.node("collapsedProcess_2").subprocess == "expandedProcess"


def test_spiffworkflow_properties_are_read():
    process = read_metadata(load("spiffex_my_vacation.bpmn")).processes[0]
    approve = process.node("Activity_041y60h")
    assert approve.properties == {"formJsonSchemaFilename": "approve-vacation-request-schema.json",
                                  "formUiSchemaFilename": "approve-vacation-request-uischema.json"}
    assert approve.form is None and approve.lane == "Vacation Approver"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_valid_corpus_file_round_trips_through_json(path):
    metadata = read_metadata(etree.parse(str(path)).getroot())
    stored = json.loads(json.dumps(metadata.as_dict()))
    assert DefinitionMetadata.from_dict(stored) == metadata
    assert metadata.processes, "every valid file declares a process"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_corpus_files_have_no_metadata_errors(path):
    problems = metadata_problems(etree.parse(str(path)).getroot())
    assert [p for p in problems if p.severity == "error"] == []


# ---- hand-written model ---------------------------------------------------------------------

def test_process_level_information(install):
    assert (install.name, install.executable, install.sla, install.phase) == (
        "Install service", True, "P5D", "interaction")
    assert install.lanes == ("Front office", "Field team", "Back office", "Network ops")
    assert install.properties == {"caseflow.sla": "P5D", "caseflow.phase": "Interaction"}


def test_nodes_in_document_order_with_subprocess_contents(install):
    assert [n.id for n in install.nodes] == [
        "start", "visit", "late", "activate", "sub_start", "inner", "configure", "test_line",
        "check", "billing", "done"]
    assert [n.type for n in install.nodes][:4] == [
        "startEvent", "userTask", "boundaryEvent", "subProcess"]


def test_lanes_innermost_wins_subprocess_contents_inherit(install):
    lanes = {n.id: n.lane for n in install.nodes}
    assert lanes["start"] == "Front office"
    assert lanes["visit"] == "Field team"  # listed in the parent lane and its child lane
    assert lanes["configure"] == "Back office"  # inherited through two subprocess levels
    assert lanes["test_line"] == "Network ops"  # its own lane beats the subprocess's lane
    assert lanes["done"] is None  # an unnamed lane, as SpiffWorkflow sees it
    assert lanes["late"] is None  # boundary event listed in no lane


def test_node_details(install):
    visit = install.node("visit")
    assert visit.documentation == "Bring the modem.\n\nCall before you go."
    assert visit.properties == {"caseflow.sla": "PT2H", "kind": "field"}  # spiffworkflow wins
    assert visit.sla == "PT2H" and isinstance(visit.form, Form)
    assert visit.line == line_of(INSTALL, '<bpmn:userTask id="visit"')
    assert install.node("late").attached_to == "visit"
    assert install.node("billing").called_element == "billing_process"
    assert install.node("start").documentation is None and install.node("start").form is None


def test_flows_of_the_hand_written_model(install):
    flows = {f.id: f for f in install.flows}
    assert flows["yes"].condition == "working == True" and flows["yes"].name == "Yes"
    assert flows["no"].is_default and not flows["yes"].is_default
    assert flows["sub_flow"].source == "sub_start"


def test_lookups_fail_clearly(install):
    metadata = read_metadata(etree.fromstring(INSTALL.encode()))
    assert metadata.process("idle").nodes == () and not metadata.process("idle").executable
    with pytest.raises(KeyError, match="missing"):
        metadata.process("missing")
    with pytest.raises(StepNotFound, match="nowhere"):
        install.node("nowhere")


def test_hand_written_model_round_trips_with_its_form():
    metadata = read_metadata(etree.fromstring(INSTALL.encode()))
    restored = DefinitionMetadata.from_dict(json.loads(json.dumps(metadata.as_dict())))
    assert restored == metadata
    assert restored.process("install").node("visit").form.fields[0].type == "boolean"


# ---- durations ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("PT4H", timedelta(hours=4)), ("P3D", timedelta(days=3)), ("P1W", timedelta(weeks=1)),
    (" P1DT12H ", timedelta(days=1, hours=12)), ("PT90M", timedelta(minutes=90)),
    ("P0Y2D", timedelta(days=2))])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text,fragment", [
    ("4 hours", "not an ISO-8601 duration"), ("", "not an ISO-8601 duration"),
    ("P1M", "months or years"), ("P1Y", "months or years"),
    ("PT0S", "not longer than zero"), ("-P1D", "not longer than zero")])
def test_parse_duration_refuses_with_a_reason(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_duration(text)


# ---- problems -------------------------------------------------------------------------------

BROKEN = f"""<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t">
  <bpmn:process id="repair" name="Restore service" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:properties>
        <camunda:property name="caseflow.phase" value="retention" />
      </camunda:properties>
    </bpmn:extensionElements>
    <bpmn:subProcess id="fix" name="Fix">
      <bpmn:userTask id="diagnose" name="Diagnose">
        <bpmn:extensionElements>
          <spiffworkflow:properties>
            <spiffworkflow:property name="caseflow.sla" value="two days" />
          </spiffworkflow:properties>
          <camunda:formData>
            <camunda:formField id="cause" type="enum" />
            <camunda:formField id="cause" type="string" />
            <camunda:formField id="visits" type="long">
              <camunda:validation>
                <camunda:constraint name="min" config="5" />
                <camunda:constraint name="max" config="1" />
              </camunda:validation>
            </camunda:formField>
          </camunda:formData>
        </bpmn:extensionElements>
      </bpmn:userTask>
    </bpmn:subProcess>
    <bpmn:manualTask id="call_back" name="Call back">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="caseflow.sla" value="P1M" />
        </camunda:properties>
      </bpmn:extensionElements>
    </bpmn:manualTask>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture(scope="module")
def problems():
    return metadata_problems(etree.fromstring(BROKEN.encode()))


def test_every_metadata_problem_is_found_once(problems):
    assert len(problems) == 6
    assert all(p.severity == "error" for p in problems)


def test_unknown_phase_names_the_process_and_line(problems):
    [phase] = [p for p in problems if "caseflow.phase" in p.message]
    assert (phase.element_id, phase.element_name, phase.line) == (
        "repair", "Restore service", line_of(BROKEN, 'value="retention"'))
    assert phase.message == ("caseflow.phase 'retention' is not a phase; "
                             "use one of: attraction, interaction, cultivation")


def test_bad_sla_values_name_the_node_and_line(problems):
    slas = [p for p in problems if p.message.startswith("caseflow.sla")]
    assert [(p.element_id, p.element_name, p.line) for p in slas] == [
        ("diagnose", "Diagnose", line_of(BROKEN, 'value="two days"')),
        ("call_back", "Call back", line_of(BROKEN, 'value="P1M"'))]
    assert "'two days' is not an ISO-8601 duration" in slas[0].message
    assert "months or years" in slas[1].message


def test_form_problems_inside_a_subprocess_are_reported(problems):
    form = [(p.element_id, p.line, p.message) for p in problems if p.message.startswith("Form")]
    enum_line = line_of(BROKEN, 'id="cause" type="enum"')
    assert form == [
        ("diagnose", enum_line, "Form field 'cause' is an enum without any values to choose from"),
        ("diagnose", enum_line + 1, "Form field id 'cause' is used twice in this form"),
        ("diagnose", enum_line + 2, "Form field 'visits': min 5 is greater than max 1")]


def test_good_sla_and_phase_values_are_not_problems():
    assert metadata_problems(etree.fromstring(INSTALL.encode())) == []
