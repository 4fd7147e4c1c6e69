"""The diagrams of the shipped processes read cleanly in Camunda Modeler and bpmn.io."""
from __future__ import annotations

import pytest
from lxml import etree

from .harness import BPMN_DIR, PROCESS_IDS, bpmn_path
from .layout_check import NS, layout_problems, read_diagram

FILES = sorted(p.name for p in BPMN_DIR.glob("*.bpmn"))


def test_the_library_ships_every_process():
    assert FILES == sorted(f"{pid}.bpmn" for pid in PROCESS_IDS)


@pytest.mark.parametrize("name", FILES)
def test_diagram_has_no_overlaps_or_crossings(name):
    assert layout_problems((BPMN_DIR / name).read_bytes()) == []


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_lanes_are_bands_of_one_pool(process_id):
    data = bpmn_path(process_id).read_bytes()
    root = etree.fromstring(data)
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [process_id]
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == root.find("bpmn:collaboration", NS).get("id")
    diagram = read_diagram(data)
    (pool,) = diagram.pools.values()
    lanes = sorted(diagram.lanes.values(), key=lambda b: b.y)
    assert lanes and all(pool.contains(lane) for lane in lanes)
    assert lanes[0].y == pool.y and lanes[-1].bottom == pool.bottom
    assert all(a.bottom == b.y for a, b in zip(lanes, lanes[1:])), "lanes leave gaps"
    bands = set(diagram.lanes) | set(diagram.pools)
    assert all(shape.get("isHorizontal") == "true"
               for shape in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")
               if shape.get("bpmnElement") in bands)


_BROKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="D" targetNamespace="http://x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="S" />
    <bpmn:userTask id="A" /><bpmn:userTask id="B" /><bpmn:userTask id="C" />
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="C" />
    <bpmn:sequenceFlow id="F2" sourceRef="A" targetRef="C" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Di"><bpmndi:BPMNPlane id="Pl" bpmnElement="p">
    <bpmndi:BPMNShape id="S_di" bpmnElement="S">
      <dc:Bounds x="0" y="82" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="A_di" bpmnElement="A">
      <dc:Bounds x="100" y="60" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="B_di" bpmnElement="B">
      <dc:Bounds x="150" y="90" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="C_di" bpmnElement="C">
      <dc:Bounds x="400" y="60" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F1_di" bpmnElement="F1">
      <di:waypoint x="36" y="100" /><di:waypoint x="400" y="100" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="F2_di" bpmnElement="F2">
      <di:waypoint x="200" y="100" /><di:waypoint x="400" y="90" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_the_check_finds_what_a_reader_would_trip_over():
    problems = layout_problems(_BROKEN)
    assert "shapes A and B overlap" in problems
    assert "F1 crosses A" in problems and "F1 crosses B" in problems
    assert any(p.startswith("F2 has a diagonal segment") for p in problems)
    assert "F2 does not start on the outline of A" not in problems
