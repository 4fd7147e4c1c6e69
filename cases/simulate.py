"""Simulated history through the real services (`caseflow simulate`)."""
from __future__ import annotations

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"


def without_step(bpmn: bytes, element_id: str) -> bytes:
    """Return a copy of a BPMN file with one step taken out: its incoming flow goes straight on.

    The step must have one incoming and one outgoing sequence flow and no boundary events. Its
    shape and the outgoing flow's edge are dropped; the incoming edge keeps its waypoints up to
    the old shape and gets one more to the next element.
    """
    root = etree.fromstring(bpmn)
    ns = {"bpmn": BPMN, "bpmndi": BPMNDI}
    step = root.find(f".//bpmn:*[@id='{element_id}']", ns)
    if step is None:
        raise ValueError(f"No element '{element_id}'")
    if root.find(f".//bpmn:boundaryEvent[@attachedToRef='{element_id}']", ns) is not None:
        raise ValueError(f"'{element_id}' has boundary events")
    incoming = root.findall(f".//bpmn:sequenceFlow[@targetRef='{element_id}']", ns)
    outgoing = root.findall(f".//bpmn:sequenceFlow[@sourceRef='{element_id}']", ns)
    if len(incoming) != 1 or len(outgoing) != 1:
        raise ValueError(f"'{element_id}' needs exactly one incoming and one outgoing flow")
    flow_in, flow_out = incoming[0], outgoing[0]
    target_id = flow_out.get("targetRef")
    flow_in.set("targetRef", target_id)
    target = root.find(f".//bpmn:*[@id='{target_id}']", ns)
    for ref in target.findall("bpmn:incoming", ns):
        if ref.text == flow_out.get("id"):
            ref.text = flow_in.get("id")
    step.getparent().remove(step)
    flow_out.getparent().remove(flow_out)
    for ref in root.findall(".//bpmn:flowNodeRef", ns):
        if ref.text == element_id:
            ref.getparent().remove(ref)
    edge_out = root.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow_out.get('id')}']", ns)
    edge_in = root.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow_in.get('id')}']", ns)
    if edge_in is not None and edge_out is not None:
        points = edge_out.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")
        for point in points[1:]:
            edge_in.append(point)
    for di in root.findall(".//bpmndi:*[@bpmnElement]", ns):
        if di.get("bpmnElement") in (element_id, flow_out.get("id")):
            di.getparent().remove(di)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
