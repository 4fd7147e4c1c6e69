"""Geometry checks for the diagram interchange of a BPMN file: what a reader would trip over.

Reads only the XML (no SpiffWorkflow): shapes must not overlap, every flow must start and end on its
shapes' outlines, run in horizontal and vertical segments, and never cross another shape or run
along another flow; labels must not cover shapes, other labels or flows; every node sits inside its
lane.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterator

from lxml import etree

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
FLOW_NODES = (
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway",
)
Point = tuple[float, float]
TOLERANCE = 2.0


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: "Box", margin: float = 0.0) -> bool:
        """Return whether the interiors overlap (touching edges do not count)."""
        return (self.x + margin < other.right and other.x + margin < self.right
                and self.y + margin < other.bottom and other.y + margin < self.bottom)

    def contains(self, other: "Box") -> bool:
        return (self.x <= other.x and other.right <= self.right
                and self.y <= other.y and other.bottom <= self.bottom)

    def on_outline(self, x: float, y: float) -> bool:
        near_x = self.x - TOLERANCE <= x <= self.right + TOLERANCE
        near_y = self.y - TOLERANCE <= y <= self.bottom + TOLERANCE
        on_vertical = min(abs(x - self.x), abs(x - self.right)) <= TOLERANCE
        on_horizontal = min(abs(y - self.y), abs(y - self.bottom)) <= TOLERANCE
        return near_x and near_y and (on_vertical or on_horizontal)


@dataclass(frozen=True)
class Diagram:
    nodes: dict[str, tuple[str, Box]]      # id -> (BPMN tag, bounds)
    labels: dict[str, Box]                 # element id -> label bounds
    edges: dict[str, list[tuple[float, float]]]
    flows: dict[str, tuple[str, str]]      # sequence flow id -> (source, target)
    attached: dict[str, str]               # boundary event id -> host id
    lanes: dict[str, Box]
    lane_of: dict[str, str]
    pools: dict[str, Box]


def _box(el) -> Box:
    b = el.find("dc:Bounds", NS)
    return Box(float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height")))


def read_diagram(data: bytes) -> Diagram:
    """Read shapes, labels and edges of the first diagram in a BPMN file."""
    root = etree.fromstring(data)
    tags = {el.get("id"): etree.QName(el).localname
            for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    nodes, labels, lanes, pools, edges = {}, {}, {}, {}, {}
    for shape in root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        ref = shape.get("bpmnElement")
        box = _box(shape)
        label = shape.find("bpmndi:BPMNLabel", NS)
        if label is not None and label.find("dc:Bounds", NS) is not None:
            labels[ref] = _box(label)
        if tags.get(ref) == "lane":
            lanes[ref] = box
        elif tags.get(ref) == "participant":
            pools[ref] = box
        else:
            nodes[ref] = (tags.get(ref, "?"), box)
    for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        ref = edge.get("bpmnElement")
        edges[ref] = [(float(w.get("x")), float(w.get("y")))
                      for w in edge.findall("di:waypoint", NS)]
        label = edge.find("bpmndi:BPMNLabel", NS)
        if label is not None and label.find("dc:Bounds", NS) is not None:
            labels[ref] = _box(label)
    flows = {f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
             for f in root.iter(f"{{{NS['bpmn']}}}sequenceFlow")}
    attached = {b.get("id"): b.get("attachedToRef")
                for b in root.iter(f"{{{NS['bpmn']}}}boundaryEvent")}
    lane_of = {ref.text.strip(): ref.getparent().get("id")
               for ref in root.iter(f"{{{NS['bpmn']}}}flowNodeRef") if ref.text}
    return Diagram(nodes, labels, edges, flows, attached, lanes, lane_of, pools)


def _segments(points: list[Point]) -> Iterator[tuple[Point, Point]]:
    return zip(points, points[1:])


def _segment_box(a: tuple[float, float], b: tuple[float, float]) -> Box:
    return Box(min(a[0], b[0]), min(a[1], b[1]), abs(a[0] - b[0]), abs(a[1] - b[1]))


def _crosses(a, b, box: Box, margin: float = 1.0) -> bool:
    """Whether an axis-parallel segment passes through the inside of a box."""
    seg = _segment_box(a, b)
    if not (seg.w or seg.h):
        return False
    return (seg.x < box.right - margin and box.x + margin < seg.right
            and seg.y < box.bottom - margin and box.y + margin < seg.bottom)


def _collinear_overlap(s1, s2) -> bool:
    (a1, b1), (a2, b2) = s1, s2
    for axis in (0, 1):  # axis 0: both horizontal on one line; axis 1: both vertical
        fixed = 1 - axis
        if a1[fixed] == b1[fixed] == a2[fixed] == b2[fixed]:
            lo = max(min(a1[axis], b1[axis]), min(a2[axis], b2[axis]))
            hi = min(max(a1[axis], b1[axis]), max(a2[axis], b2[axis]))
            return hi - lo > 1
    return False


def layout_problems(data: bytes) -> list[str]:
    """Return every geometry problem in the file's diagram, one sentence each (empty when clean)."""
    d = read_diagram(data)
    root = etree.fromstring(data)
    problems: list[str] = []
    flow_nodes = [el.get("id") for el in root.iter() if isinstance(el.tag, str)
                  and etree.QName(el).localname in FLOW_NODES]
    problems += [f"{n} has no shape" for n in flow_nodes if n not in d.nodes]
    problems += [f"{f} has no edge" for f in d.flows if f not in d.edges]

    for (id1, (_, b1)), (id2, (_, b2)) in combinations(d.nodes.items(), 2):
        if d.attached.get(id1) == id2 or d.attached.get(id2) == id1:
            continue
        if b1.overlaps(b2):
            problems.append(f"shapes {id1} and {id2} overlap")
    for node_id, lane_id in d.lane_of.items():
        if node_id in d.nodes and lane_id in d.lanes and node_id not in d.attached:
            if not d.lanes[lane_id].contains(d.nodes[node_id][1]):
                problems.append(f"{node_id} is drawn outside its lane {lane_id}")
    for (l1, b1), (l2, b2) in combinations(d.lanes.items(), 2):
        if b1.overlaps(b2):
            problems.append(f"lanes {l1} and {l2} overlap")

    shape_boxes = {i: b for i, (_, b) in d.nodes.items()}
    for flow_id, points in d.edges.items():
        if flow_id not in d.flows:
            continue
        source, target = d.flows[flow_id]
        if len(points) < 2:
            problems.append(f"{flow_id} has fewer than two waypoints")
            continue
        if source in shape_boxes and not shape_boxes[source].on_outline(*points[0]):
            problems.append(f"{flow_id} does not start on the outline of {source}")
        if target in shape_boxes and not shape_boxes[target].on_outline(*points[-1]):
            problems.append(f"{flow_id} does not end on the outline of {target}")
        allowed = {source, target, d.attached.get(source)}
        for a, b in _segments(points):
            if a[0] != b[0] and a[1] != b[1]:
                problems.append(f"{flow_id} has a diagonal segment {a} -> {b}")
            for node_id, box in shape_boxes.items():
                if node_id not in allowed and _crosses(a, b, box):
                    problems.append(f"{flow_id} crosses {node_id}")
            for label_id, box in d.labels.items():
                if label_id not in (flow_id, source, target) and _crosses(a, b, box, margin=0.0):
                    problems.append(f"{flow_id} crosses the label of {label_id}")

    for (f1, p1), (f2, p2) in combinations(d.edges.items(), 2):
        if any(_collinear_overlap(s1, s2) for s1 in _segments(p1) for s2 in _segments(p2)):
            problems.append(f"flows {f1} and {f2} run along each other")

    for label_id, box in d.labels.items():
        for node_id, shape in shape_boxes.items():
            if node_id != label_id and box.overlaps(shape):
                problems.append(f"the label of {label_id} covers {node_id}")
    for (l1, b1), (l2, b2) in combinations(d.labels.items(), 2):
        if b1.overlaps(b2):
            problems.append(f"the labels of {l1} and {l2} overlap")
    return problems
