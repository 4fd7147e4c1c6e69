"""The cheap half of bpmnlint's recommended rules, read from the XML (no node, no SpiffWorkflow).

Each finding is one sentence starting with the element id and ending with the bpmnlint rule name in
brackets, so a finding here reads like the same finding in Camunda Modeler's problems panel:
fake-join, no-implicit-split, no-gateway-join-fork, superfluous-gateway, no-disconnected,
no-implicit-start, no-implicit-end, label-required, superfluous-label, conditional-flows,
event-based-gateway, single-event-definition, start-event-required, end-event-required, global.
"""
from __future__ import annotations

from collections import defaultdict

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ACTIVITIES = ("task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask",
              "receiveTask", "businessRuleTask", "callActivity", "subProcess")
EVENTS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
          "boundaryEvent")
GATEWAYS = ("exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
            "complexGateway")
GLOBALS = {"message": "messageRef", "signal": "signalRef", "error": "errorRef",
           "escalation": "escalationRef"}


def _local(el) -> str:
    return etree.QName(el).localname


def _named(el) -> bool:
    return bool((el.get("name") or "").strip())


def lint_problems(data: bytes) -> list[str]:
    """Return every finding of the rules above in a BPMN file, one sentence each (none: clean)."""
    root = etree.fromstring(data)
    problems: list[str] = []
    for process in root.iter(f"{{{BPMN}}}process"):
        problems += _process_problems(process)
    for participant in root.iter(f"{{{BPMN}}}participant", f"{{{BPMN}}}lane"):
        if not _named(participant):
            problems.append(f"{participant.get('id')} has no name [label-required]")
    problems += _global_problems(root)
    return problems


def _process_problems(process) -> list[str]:
    nodes = {el.get("id"): el for el in process.iter() if isinstance(el.tag, str)
             and _local(el) in ACTIVITIES + EVENTS + GATEWAYS}
    flows = list(process.iter(f"{{{BPMN}}}sequenceFlow"))
    incoming, outgoing = defaultdict(list), defaultdict(list)
    for flow in flows:
        incoming[flow.get("targetRef")].append(flow)
        outgoing[flow.get("sourceRef")].append(flow)
    problems = []
    kinds = {_local(n) for n in nodes.values()}
    if "startEvent" not in kinds:
        problems.append(f"{process.get('id')} has no start event [start-event-required]")
    if "endEvent" not in kinds:
        problems.append(f"{process.get('id')} has no end event [end-event-required]")
    for node_id, node in nodes.items():
        problems += [f"{node_id} {p}" for p in _node_problems(node, incoming[node_id],
                                                              outgoing[node_id], nodes)]
    for flow in flows:
        problems += [f"{flow.get('id')} {p}" for p in _flow_problems(flow, nodes, outgoing)]
    return problems


def _node_problems(node, into: list, out: list, nodes: dict) -> list[str]:
    kind, found = _local(node), []
    unconditional = [f for f in out if not _condition(f) and node.get("default") != f.get("id")]
    if kind in ACTIVITIES + EVENTS:
        if len(into) > 1:
            found.append("is entered by several flows without a merging gateway [fake-join]")
        if len(unconditional) > 1:
            found.append("splits without a gateway [no-implicit-split]")
    if kind in GATEWAYS:
        if len(into) > 1 and len(out) > 1:
            found.append("both joins and forks [no-gateway-join-fork]")
        if len(into) == 1 and len(out) == 1:
            found.append("has one flow in and one out [superfluous-gateway]")
    if not into and not out and kind != "boundaryEvent":
        found.append("is not connected [no-disconnected]")
    elif not into and kind not in ("startEvent", "boundaryEvent"):
        found.append("has no incoming flow [no-implicit-start]")
    elif not out and kind != "endEvent":
        found.append("has no outgoing flow [no-implicit-end]")
    if kind == "eventBasedGateway":
        found += _event_gateway_problems(out, nodes)
    definitions = [c for c in node if _local(c).endswith("EventDefinition")]
    if len(definitions) > 1:
        found.append("has several event definitions [single-event-definition]")
    exempt = (kind in ("parallelGateway", "eventBasedGateway", "subProcess")
              or (kind in GATEWAYS and len(out) < 2))
    if not exempt and not _named(node):
        found.append("has no name [label-required]")
    return found


def _event_gateway_problems(out: list, nodes: dict) -> list[str]:
    found = []
    if len(out) < 2:
        found.append("waits for fewer than two events [event-based-gateway]")
    for flow in out:
        target = nodes.get(flow.get("targetRef"))
        if target is None or _local(target) not in ("intermediateCatchEvent", "receiveTask"):
            found.append(f"leads to {flow.get('targetRef')}, which is no catch event "
                         "[event-based-gateway]")
    return found


def _flow_problems(flow, nodes: dict, outgoing: dict) -> list[str]:
    source = nodes.get(flow.get("sourceRef"))
    kind = _local(source) if source is not None else ""
    forking = (kind in ("exclusiveGateway", "inclusiveGateway")
               and len(outgoing[source.get("id")]) > 1)
    default = source is not None and source.get("default") == flow.get("id")
    found = []
    if _condition(flow) and not _named(flow):
        found.append("has a condition but no name [label-required]")
    if _named(flow) and not (_condition(flow) or default or forking):
        found.append("has a name but neither a condition nor a choice [superfluous-label]")
    if forking and not (_condition(flow) or default):
        found.append("leaves a decision without a condition and is not its default "
                     "[conditional-flows]")
    if kind == "eventBasedGateway" and _condition(flow):
        found.append("leaves an event-based gateway with a condition [event-based-gateway]")
    return found


def _condition(flow) -> bool:
    return flow.find(f"{{{BPMN}}}conditionExpression") is not None


def _global_problems(root) -> list[str]:
    problems = []
    for kind, ref in GLOBALS.items():
        declared = [el for el in root if isinstance(el.tag, str) and _local(el) == kind]
        used = {el.get(ref) for el in root.iter() if isinstance(el.tag, str) and el.get(ref)}
        names = [el.get("name") for el in declared]
        for el in declared:
            if not _named(el):
                problems.append(f"{el.get('id')} has no name [global]")
            if el.get("id") not in used:
                problems.append(f"{el.get('id')} is not used [global]")
            if el.get("name") and names.count(el.get("name")) > 1:
                problems.append(f"{el.get('id')} shares its name with another {kind} [global]")
    return problems
