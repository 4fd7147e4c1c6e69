"""Small BPMN documents written in the tests, and helpers to check them and locate elements."""
from __future__ import annotations

import json
import threading

from engine.validate import ValidationReport, validate_bpmn

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="Defs" targetNamespace="http://example.com/caseflow">
"""
TAIL = "</bpmn:definitions>\n"
LINEAR = """    <bpmn:startEvent id="StartEvent_1" name="Case opened"/>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_1"/>
    <bpmn:userTask id="Task_1" name="Review"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_1" targetRef="EndEvent_1"/>
    <bpmn:endEvent id="EndEvent_1" name="Done"/>
"""


def process(body: str = LINEAR, pid: str = "P", executable: str | None = "true",
            name: str = "Claims") -> str:
    flag = f' isExecutable="{executable}"' if executable is not None else ""
    return f'  <bpmn:process id="{pid}" name="{name}"{flag}>\n{body}  </bpmn:process>\n'


def doc(*parts: str) -> str:
    return HEAD + "".join(parts or (process(),)) + TAIL


def check(xml: str, **kwargs) -> ValidationReport:
    report = validate_bpmn(xml.encode("utf-8"), "test.bpmn", **kwargs)
    json.dumps(report.as_dict())  # always JSON-ready
    return report


def line_of(xml: str, needle: str, occurrence: int = 1) -> int:
    """Return the 1-based line of the n-th line containing `needle`."""
    hits = [i for i, text in enumerate(xml.splitlines(), 1) if needle in text]
    return hits[occurrence - 1]


def only(report: ValidationReport, element_id: str, severity: str = "error"):
    found = [p for p in report.problems if p.element_id == element_id and p.severity == severity]
    assert len(found) == 1, report.problems
    return found[0]


def linear(middle: str, prefix: str = "") -> str:
    """A start → middle → end process; `middle` must define Mid and connect nothing."""
    return (
        f'    <bpmn:startEvent id="{prefix}Begin"/>\n'
        f'    <bpmn:sequenceFlow id="{prefix}Flow_1" sourceRef="{prefix}Begin" targetRef="Mid"/>\n'
        f"{middle}"
        f'    <bpmn:sequenceFlow id="{prefix}Flow_2" sourceRef="Mid" targetRef="{prefix}Finish"/>\n'
        f'    <bpmn:endEvent id="{prefix}Finish"/>\n'
    )


def renamed(body: str, prefix: str) -> str:
    """Prefix every id and reference, so a second process can reuse a body."""
    for attr in ("id", "sourceRef", "targetRef"):
        body = body.replace(f'{attr}="', f'{attr}="{prefix}')
    return body


def script_task(script: str, extra: str = "") -> str:
    return (f'    <bpmn:scriptTask id="Mid" name="Compute"{extra}>\n'
            f"      <bpmn:script>{script}</bpmn:script>\n    </bpmn:scriptTask>\n")


def timer_event(kind: str, text: str) -> str:
    return ('    <bpmn:intermediateCatchEvent id="Mid" name="Wait">\n'
            f"      <bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}>"
            "</bpmn:timerEventDefinition>\n    </bpmn:intermediateCatchEvent>\n")


def finishes_within(seconds: float, fn):
    """Run fn in a thread and fail if it does not return in time (SpiffWorkflow loops forever)."""
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("value", fn()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "validation did not finish"
    return result["value"]


def gateway(kind: str = "exclusiveGateway", default: str = "", cond_a: str = "amount &gt; 10",
            cond_b: str = "") -> str:
    def condition(text):
        return f"<bpmn:conditionExpression>{text}</bpmn:conditionExpression>" if text else ""
    return (
        '    <bpmn:startEvent id="StartEvent_1"/>\n'
        '    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Gw"/>\n'
        f'    <bpmn:{kind} id="Gw" name="Large?"{default}/>\n'
        '    <bpmn:sequenceFlow id="Flow_a" name="yes" sourceRef="Gw" targetRef="EndEvent_1">'
        f"{condition(cond_a)}</bpmn:sequenceFlow>\n"
        '    <bpmn:sequenceFlow id="Flow_b" name="no" sourceRef="Gw" targetRef="EndEvent_1">'
        f"{condition(cond_b)}</bpmn:sequenceFlow>\n"
        '    <bpmn:endEvent id="EndEvent_1"/>\n'
    )
