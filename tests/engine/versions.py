"""Modified copies of tests/engine/data files, written to tmp_path, for version comparison tests."""
from __future__ import annotations

import re
from pathlib import Path

from .helpers import DATA

DEVIATIONS = (DATA / "deviations.bpmn").read_text()
PARALLEL = (DATA / "parallel.bpmn").read_text()


def _drop(xml: str, *ids: str) -> str:
    for eid in ids:
        xml = re.sub(rf'<bpmn:(\w+) id="{eid}"[^>]*/>', "", xml)
        xml = re.sub(rf'<bpmn:(\w+) id="{eid}"[^>]*[^/]>.*?</bpmn:\1>', "", xml, flags=re.DOTALL)
        xml = xml.replace(f"<bpmn:flowNodeRef>{eid}</bpmn:flowNodeRef>", "")
    return xml


def deviations_with_review() -> str:
    """Check renamed and given an SLA, a Review step added after Confirm."""
    xml = DEVIATIONS.replace('<bpmn:userTask id="Check" name="Check credit" />',
                             '<bpmn:userTask id="Check" name="Check credit score"><bpmn:extensionElements>'
                             '<camunda:properties><camunda:property name="caseflow.sla" value="PT8H" />'
                             '</camunda:properties></bpmn:extensionElements></bpmn:userTask>')
    return xml.replace(
        '<bpmn:sequenceFlow id="F8" sourceRef="Confirm" targetRef="EndEvent_1" />',
        '<bpmn:sequenceFlow id="F8" sourceRef="Confirm" targetRef="Review" />'
        '<bpmn:userTask id="Review" name="Review the order" />'
        '<bpmn:sequenceFlow id="F9" sourceRef="Review" targetRef="EndEvent_1" />')


def deviations_without_check() -> str:
    """The credit check and everything hanging off it removed: Capture leads to the decision."""
    xml = DEVIATIONS.replace('<bpmn:sequenceFlow id="F2" sourceRef="Capture" targetRef="Check" />',
                             '<bpmn:sequenceFlow id="F2" sourceRef="Capture" targetRef="Decide" />')
    return _drop(xml, "Check", "Reminder", "RepeatContact", "F3", "F_esc", "F_esc2", "F_rc", "F_rc2",
                 "Escalate", "LogContact", "EndEsc", "EndContact")


def deviations_check_manual() -> str:
    """Check becomes a manual task (same id, other kind)."""
    return DEVIATIONS.replace('<bpmn:userTask id="Check" name="Check credit" />',
                              '<bpmn:manualTask id="Check" name="Check credit" />')


def parallel_without_provision() -> str:
    xml = PARALLEL.replace('<bpmn:sequenceFlow id="F3" sourceRef="Split" targetRef="Provision" />', "")
    return _drop(xml, "Provision", "F5")


def write(tmp_path: Path, name: str, xml: str) -> Path:
    path = tmp_path / name
    path.write_text(xml)
    return path
