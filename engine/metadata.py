"""What Caseflow needs to know about a BPMN file besides running it: lanes, forms, SLAs, phases.

Read from the lxml tree alone (no SpiffWorkflow), so validation, the designer pages and the case
layer can use it before anything is deployed. Decisions:
- Properties come from camunda:properties and spiffworkflow:properties on the element itself;
  when both name the same property the spiffworkflow one wins (a fixed rule; models rarely mix).
- A node's lane is the name of the innermost lane that lists it, as SpiffWorkflow assigns it; a
  node inside an embedded subprocess that no lane lists takes the subprocess's lane. Unnamed
  lanes give None, and `ProcessInfo.lanes` lists named lanes only.
- Names and lane names are kept exactly as written (newlines included), matching the runtime.
- caseflow.sla is an ISO-8601 duration without years or months (they have no fixed length).
- caseflow.phase is compared lower-cased and stored lower-cased.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import isodate
from lxml import etree

from .errors import Problem, StepNotFound
from .form_checks import form_problems
from .forms import Form, parse_form
from .parser import BPMN_NS, NS

SLA_PROPERTY = "caseflow.sla"
PHASE_PROPERTY = "caseflow.phase"
PHASES = ("attraction", "interaction", "cultivation")
CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
FLOW_NODES = CONTAINERS | frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
    "receiveTask", "callActivity", "exclusiveGateway", "inclusiveGateway", "parallelGateway",
    "eventBasedGateway", "complexGateway",
})


@dataclass(frozen=True)
class NodeInfo:
    """One flow node (task, event, gateway, subprocess) as designers and agents see it."""

    id: str
    type: str
    name: str | None = None
    lane: str | None = None
    documentation: str | None = None
    properties: dict = field(default_factory=dict)
    sla: str | None = None
    form: Form | None = None
    line: int | None = None
    attached_to: str | None = None
    called_element: str | None = None
    subprocess: str | None = None  # id of the embedded subprocess this node sits in

    def as_dict(self) -> dict:
        return {"id": self.id, "type": self.type, "name": self.name, "lane": self.lane,
                "documentation": self.documentation, "properties": dict(self.properties),
                "sla": self.sla, "form": self.form.as_dict() if self.form else None,
                "line": self.line, "attached_to": self.attached_to,
                "called_element": self.called_element, "subprocess": self.subprocess}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeInfo:
        form = Form.from_dict(data["form"]) if data.get("form") else None
        return cls(**{**data, "properties": dict(data.get("properties") or {}), "form": form})


@dataclass(frozen=True)
class FlowInfo:
    """One sequence flow, with its condition and whether it is its gateway's default."""

    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    is_default: bool = False

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "source": self.source, "target": self.target,
                "condition": self.condition, "is_default": self.is_default}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlowInfo:
        return cls(**data)


@dataclass(frozen=True)
class ProcessInfo:
    """One bpmn:process: its lanes, nodes (embedded subprocesses included) and flows."""

    id: str
    name: str | None = None
    executable: bool = False
    lanes: tuple[str, ...] = ()
    nodes: tuple[NodeInfo, ...] = ()
    flows: tuple[FlowInfo, ...] = ()
    properties: dict = field(default_factory=dict)
    sla: str | None = None
    phase: str | None = None

    def node(self, node_id: str) -> NodeInfo:
        """Return the node with this id or raise StepNotFound."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise StepNotFound(f"No element '{node_id}' in process '{self.id}'")

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "executable": self.executable,
                "lanes": list(self.lanes), "nodes": [n.as_dict() for n in self.nodes],
                "flows": [f.as_dict() for f in self.flows], "properties": dict(self.properties),
                "sla": self.sla, "phase": self.phase}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessInfo:
        return cls(**{**data, "lanes": tuple(data.get("lanes", ())),
                      "nodes": tuple(NodeInfo.from_dict(n) for n in data.get("nodes", ())),
                      "flows": tuple(FlowInfo.from_dict(f) for f in data.get("flows", ())),
                      "properties": dict(data.get("properties") or {})})


@dataclass(frozen=True)
class DefinitionMetadata:
    """Everything read from one bpmn:definitions document, process by process."""

    processes: tuple[ProcessInfo, ...] = ()

    def process(self, process_id: str) -> ProcessInfo:
        """Return the process with this id (KeyError if the file has none)."""
        for process in self.processes:
            if process.id == process_id:
                return process
        raise KeyError(f"No process '{process_id}' in this definition")

    def as_dict(self) -> dict:
        return {"processes": [p.as_dict() for p in self.processes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DefinitionMetadata:
        return cls(tuple(ProcessInfo.from_dict(p) for p in data.get("processes", ())))


# ---- reading ---------------------------------------------------------------------------------


def _local(element: etree._Element) -> str | None:
    if not isinstance(element.tag, str):
        return None  # comments and processing instructions
    qname = etree.QName(element)
    return qname.localname if qname.namespace == BPMN_NS else None


def _property_elements(element: etree._Element) -> list[etree._Element]:
    return element.xpath(
        "bpmn:extensionElements/camunda:properties/camunda:property"
        " | bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
        namespaces=NS)


def read_properties(element: etree._Element) -> dict[str, str]:
    """Return the element's own camunda/spiffworkflow extension properties as name -> value."""
    found = {"camunda": {}, "spiffworkflow": {}}
    for prop in _property_elements(element):
        if prop.get("name"):
            prefix = "camunda" if etree.QName(prop).namespace == NS["camunda"] else "spiffworkflow"
            found[prefix][prop.get("name")] = prop.get("value", "")
    return {**found["camunda"], **found["spiffworkflow"]}


def _documentation(element: etree._Element) -> str | None:
    texts = [(doc.text or "").strip() for doc in element.findall("bpmn:documentation", NS)]
    return "\n\n".join(text for text in texts if text) or None


def _lane_index(process: etree._Element) -> dict[str, str | None]:
    """Map node id -> lane name; document order puts child lanes after their parent, so they win."""
    lanes: dict[str, str | None] = {}
    for ref in process.iter(f"{{{BPMN_NS}}}flowNodeRef"):
        if ref.text and ref.text.strip():
            lanes[ref.text.strip()] = ref.getparent().get("name")
    return lanes


def _walk(container: etree._Element, lanes: Mapping[str, str | None], outer_lane: str | None = None,
          parent: str | None = None) -> Iterator[tuple[etree._Element, str | None, str | None]]:
    """Yield (flow node, lane, enclosing subprocess id), descending into embedded subprocesses."""
    for child in container:
        kind = _local(child)
        if kind not in FLOW_NODES:
            continue
        lane = lanes.get(child.get("id", ""), outer_lane)
        yield child, lane, parent
        if kind in CONTAINERS:
            yield from _walk(child, lanes, lane, child.get("id"))


def _node(element: etree._Element, lane: str | None, parent: str | None) -> NodeInfo:
    properties = read_properties(element)
    kind = _local(element) or ""
    return NodeInfo(
        id=element.get("id", ""), type=kind, name=element.get("name"), lane=lane,
        documentation=_documentation(element), properties=properties,
        sla=_clean(properties.get(SLA_PROPERTY)), form=parse_form(element), line=element.sourceline,
        attached_to=element.get("attachedToRef") if kind == "boundaryEvent" else None,
        called_element=element.get("calledElement") if kind == "callActivity" else None,
        subprocess=parent)


def _flows(process: etree._Element) -> tuple[FlowInfo, ...]:
    defaults = {el.get("default") for el in process.iter() if el.get("default")}
    flows = []
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        condition = flow.find("bpmn:conditionExpression", NS)
        text = (condition.text or "").strip() if condition is not None else ""
        flows.append(FlowInfo(
            id=flow.get("id", ""), name=flow.get("name"), source=flow.get("sourceRef", ""),
            target=flow.get("targetRef", ""), condition=text or None,
            is_default=flow.get("id") in defaults))
    return tuple(flows)


def _clean(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _lane_names(process: etree._Element) -> tuple[str, ...]:
    names = (lane.get("name") for lane in process.iter(f"{{{BPMN_NS}}}lane"))
    return tuple(dict.fromkeys(name for name in names if name))


def _process(process: etree._Element) -> ProcessInfo:
    properties = read_properties(process)
    lanes = _lane_index(process)
    phase = _clean(properties.get(PHASE_PROPERTY))
    return ProcessInfo(
        id=process.get("id", ""), name=process.get("name"),
        executable=(process.get("isExecutable") or "").strip().lower() == "true",
        lanes=_lane_names(process),
        nodes=tuple(_node(el, lane, parent) for el, lane, parent in _walk(process, lanes)),
        flows=_flows(process), properties=properties,
        sla=_clean(properties.get(SLA_PROPERTY)), phase=phase.lower() if phase else None)


def read_metadata(root: etree._Element) -> DefinitionMetadata:
    """Read lanes, nodes, flows, forms and Caseflow properties from a bpmn:definitions root."""
    return DefinitionMetadata(tuple(_process(p) for p in root.findall("bpmn:process", NS)))


# ---- checking --------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration such as PT4H or P3D; raise ValueError saying what to write."""
    value = (text or "").strip()
    try:
        duration = isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError, TypeError):
        raise ValueError(f"'{value}' is not an ISO-8601 duration; write e.g. PT4H (4 hours) "
                         "or P3D (3 days)") from None
    if isinstance(duration, isodate.Duration):
        if duration.years or duration.months:
            raise ValueError(f"'{value}' counts months or years, which vary in length; "
                             "write days instead, e.g. P30D")
        duration = duration.tdelta
    if duration <= timedelta(0):
        raise ValueError(f"'{value}' is not longer than zero; an SLA needs a positive duration")
    return duration


def _property_problems(element: etree._Element) -> Iterator[Problem]:
    where = {"element_id": element.get("id"), "element_name": element.get("name")}
    for prop in _property_elements(element):
        name, value = prop.get("name"), prop.get("value", "")
        if name == SLA_PROPERTY:
            try:
                parse_duration(value)
            except ValueError as err:
                yield Problem(f"{SLA_PROPERTY}: {err}", line=prop.sourceline, **where)
        elif name == PHASE_PROPERTY and value.strip().lower() not in PHASES:
            yield Problem(f"{PHASE_PROPERTY} '{value}' is not a phase; use one of: "
                          + ", ".join(PHASES), line=prop.sourceline, **where)


def metadata_problems(root: etree._Element) -> list[Problem]:
    """List bad caseflow.sla / caseflow.phase values and form mistakes, with element and line."""
    problems: list[Problem] = []
    for process in root.findall("bpmn:process", NS):
        problems.extend(_property_problems(process))
        for element, _lane, _parent in _walk(process, {}):
            problems.extend(_property_problems(element))
            problems.extend(form_problems(element))
    return problems
