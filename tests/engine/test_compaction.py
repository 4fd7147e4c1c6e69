"""Bounded history: a looping instance keeps working, and its state stops growing."""
from __future__ import annotations

from engine import deviations as dv
from engine import runtime
from engine.compaction import KEEP_LEVELS
from engine.definitions import compile_processes
from tests.conftest import T0

LOOP = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="http://x">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"/>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Work"/>
    <bpmn:userTask id="Work" name="Work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Work" targetRef="Again"/>
    <bpmn:exclusiveGateway id="Again" default="again"/>
    <bpmn:sequenceFlow id="again" sourceRef="Again" targetRef="Work"/>
    <bpmn:sequenceFlow id="out" sourceRef="Again" targetRef="EndEvent_1">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">done == True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_long_loop_keeps_state_bounded_and_still_works():
    process = compile_processes(LOOP, "loop.bpmn")["loop"]
    inst = runtime.start(process, {"done": False, "count": 0}, now=T0)
    sizes = []
    for i in range(300):
        inst = runtime.load(process, inst.dump())
        task = inst.ready_tasks()[0]
        inst.complete(task.id, {"count": i + 1}, now=T0)
        sizes.append(len(inst.dump()))
    assert max(sizes[200:]) < 1.3 * max(sizes[60:100]), "state stops growing with history"
    assert len(inst.workflow.tasks) < 4 * KEEP_LEVELS
    assert inst.ready_tasks()[0].data["count"] == 300, "data survives re-rooting"
    dv.go_back(inst, "Work", now=T0)  # the latest run is still within reach
    inst = runtime.load(process, inst.dump())
    assert [t.element_id for t in inst.ready_tasks()] == ["Work"]
    inst.complete(inst.ready_tasks()[0].id, {"done": True}, now=T0)
    assert runtime.load(process, inst.dump()).is_completed
