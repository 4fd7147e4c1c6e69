"""The shipped processes stay clean under the cheap half of bpmnlint's recommended rules (fake
joins, implicit splits, disconnected elements, missing labels, ...): what Camunda Modeler flags."""
from __future__ import annotations

import pytest

from .harness import BPMN_DIR
from .lint_check import lint_problems

FILES = sorted(p.name for p in BPMN_DIR.glob("*.bpmn"))


@pytest.mark.parametrize("name", FILES)
def test_shipped_file_has_no_lint_findings(name):
    assert lint_problems((BPMN_DIR / name).read_bytes()) == []


_BROKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D"
  targetNamespace="http://x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="S" name="Start" />
    <bpmn:userTask id="A" name="A" /><bpmn:userTask id="B" name="B" />
    <bpmn:userTask id="C" name="C" /><bpmn:userTask id="Lonely" name="Lonely" />
    <bpmn:exclusiveGateway id="G" />
    <bpmn:eventBasedGateway id="W" />
    <bpmn:intermediateCatchEvent id="Caught">
      <bpmn:messageEventDefinition messageRef="M" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="A" />
    <bpmn:sequenceFlow id="F2" sourceRef="A" targetRef="B" />
    <bpmn:sequenceFlow id="F3" sourceRef="A" targetRef="C" />
    <bpmn:sequenceFlow id="F4" sourceRef="B" targetRef="C" />
    <bpmn:sequenceFlow id="F5" name="go" sourceRef="C" targetRef="G" />
    <bpmn:sequenceFlow id="F6" sourceRef="G" targetRef="W" />
    <bpmn:sequenceFlow id="F7" sourceRef="G" targetRef="B">
      <bpmn:conditionExpression>x == 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F8" sourceRef="W" targetRef="Caught" />
  </bpmn:process>
  <bpmn:message id="M" name="ping" /><bpmn:message id="Unused" />
</bpmn:definitions>"""


def test_the_check_finds_what_bpmnlint_would():
    problems = lint_problems(_BROKEN)
    expected = [
        "C is entered by several flows without a merging gateway [fake-join]",
        "B is entered by several flows without a merging gateway [fake-join]",
        "A splits without a gateway [no-implicit-split]",
        "Lonely is not connected [no-disconnected]",
        "Caught has no outgoing flow [no-implicit-end]",
        "G has no name [label-required]",
        "Caught has no name [label-required]",
        "F7 has a condition but no name [label-required]",
        "F5 has a name but neither a condition nor a choice [superfluous-label]",
        "F6 leaves a decision without a condition and is not its default [conditional-flows]",
        "W waits for fewer than two events [event-based-gateway]",
        "p has no end event [end-event-required]",
        "Unused has no name [global]",
        "Unused is not used [global]",
    ]
    for problem in expected:
        assert problem in problems
    assert "W has no name [label-required]" not in problems  # event-based gateways need none
    assert not any(p.startswith("M ") for p in problems)  # named and used
