"""Structural checks on the BPMN tree, run before SpiffWorkflow so messages name the real cause.

Each check takes a `Model` and returns a list of Problems; none stops at the first finding.
"""
from __future__ import annotations

from collections import defaultdict, deque

from lxml import etree

from .dmn_task import decision_ref
from .bpmntree import Model, bpmn, describe, element_name, kind, local, problem, scope_of
from .errors import Problem
from .external import external_topic
from .parser import is_black_box

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
MAX_CHAIN = 400
_DATA_ITEMS = frozenset({"inputDataItem", "outputDataItem"})
_GATEWAYS_WITH_CONDITIONS = ("exclusiveGateway", "inclusiveGateway")
_FLOWS = "sequenceFlow"
_SPEC_SCOPES = ("process", "subProcess", "transaction", "adHocSubProcess")
_RESERVED_IDS = frozenset({"Start", "End", "StartEventSplit", "StartEventJoin"})
_MAX_NAMED = 10  # elements named in one message
_RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")


def check_ids(m: Model) -> list[Problem]:
    """Report ids used by more than one element (BPMN and diagram elements only: a modeler's
    extension ids, such as camunda:formField ids, are variable names and repeat across tasks)."""
    seen: dict[str, list[etree._Element]] = defaultdict(list)
    for element in m.root.iter():
        if _has_xml_id(element):
            seen[element.get("id")].append(element)
    found = []
    for eid, elements in seen.items():
        if len(elements) < 2:
            continue
        shown = elements[:_MAX_NAMED]  # a file may repeat one id thousands of times
        more = f" and {len(elements) - len(shown)} more" if len(elements) > len(shown) else ""
        lines = ", ".join(str(e.sourceline) for e in shown) + more
        what = "; ".join(describe(e) for e in shown) + ("; ..." if more else "")
        harmless = (all(local(e) in _DATA_ITEMS for e in elements)
                    or all(etree.QName(e).namespace == BPMNDI_NS for e in elements))
        if harmless:
            found.append(problem(elements[1], f"Id '{eid}' is used by {len(elements)} elements "
                                 f"(lines {lines}): {what}. Caseflow accepts this, but other BPMN "
                                 "tools may refuse the file.", "warning"))
            continue
        found.append(problem(elements[1], f"Id '{eid}' is used by {len(elements)} elements (lines "
                             f"{lines}): {what}. Every element needs its own id: give one of them "
                             "a new id (copy-pasted elements often keep the old one)."))
    return found


def _has_xml_id(element: etree._Element) -> bool:
    if not isinstance(element.tag, str) or not element.get("id"):
        return False
    return etree.QName(element).namespace in (BPMN_NS, BPMNDI_NS, DC_NS, DI_NS)


def check_reserved_ids(m: Model) -> list[Problem]:
    """Report ids SpiffWorkflow uses for its own task specs: such an element is silently skipped."""
    found = []
    for scope in m.iter(*_SPEC_SCOPES):
        for node in scope:
            eid = node.get("id") if isinstance(node.tag, str) else None
            if eid and (eid in _RESERVED_IDS or eid.endswith(_RESERVED_SUFFIXES)):
                found.append(problem(node, f"Id '{eid}' is reserved by the workflow engine, which "
                                     f"would silently skip {describe(node)}. Give it another id, "
                                     "e.g. StartEvent_1 or Task_1."))
    return found


def check_processes(m: Model) -> list[Problem]:
    """Report non-executable processes, a file with nothing to run, and missing start/end events."""
    found = []
    for process in m.processes:
        if process in m.executable or is_black_box(process):
            continue
        found.append(problem(process, f"{_process_label(process)} is marked not executable "
                             "(isExecutable=\"false\"), so Caseflow will not run it. Mark it "
                             "executable in your modeler if it should run.", "warning"))
    if not m.executable:
        found.append(Problem("The file has no executable process: Caseflow has nothing to run. "
                             "Mark the process that should run as executable "
                             "(isExecutable=\"true\")."))
    for process in m.runnable:
        label = _process_label(process)
        if not process.findall(bpmn("startEvent")):
            found.append(problem(process, f"{label} has no start event. Add a start event where "
                                 "a case begins."))
        if not process.findall(bpmn("endEvent")):
            found.append(problem(process, f"{label} has no end event, so a case could never "
                                 "finish. Add an end event where the case is done."))
    return found


def _process_label(process: etree._Element) -> str:
    name = element_name(process)
    return f"Process '{name}' ({process.get('id')})" if name else f"Process {process.get('id')}"


def check_flows(m: Model) -> list[Problem]:
    """Report sequence flows whose source or target is missing or lies in another process."""
    found = []
    for flow in m.iter(_FLOWS):
        for attr, verb in (("sourceRef", "starts at"), ("targetRef", "points to")):
            ref = flow.get(attr)
            if not ref:
                end = "source" if attr == "sourceRef" else "target"
                found.append(problem(flow, f"{describe(flow)} has no {end} ({attr}). Connect both "
                                     "ends of the flow in the modeler, or delete it."))
                continue
            target = m.by_id.get(ref)
            if target is None:
                found.append(problem(flow, f"{describe(flow)} {verb} '{ref}', which does not "
                                     "exist. Reconnect the flow to an element of the diagram, or "
                                     "delete it."))
            elif m.top_process(target) is not m.top_process(flow):
                found.append(problem(flow, f"{describe(flow)} {verb} {describe(target)}, which is "
                                     "in another process. Sequence flows stay inside one pool; use "
                                     "a message flow between pools."))
    return found


def outgoing_flows(m: Model) -> dict[tuple[etree._Element, str], list[etree._Element]]:
    """Return the sequence flows of each scope by source id, in document order (one pass)."""
    flows: dict[tuple[etree._Element, str], list[etree._Element]] = defaultdict(list)
    for flow in m.iter(_FLOWS):
        flows[(flow.getparent(), flow.get("sourceRef"))].append(flow)
    return flows


def check_gateways(m: Model) -> list[Problem]:
    """Report gateway branches that have neither a condition nor the default mark."""
    found = []
    by_source = outgoing_flows(m)  # a lookup per gateway, not a scan of every flow
    for gateway in m.iter(*_GATEWAYS_WITH_CONDITIONS):
        flows = by_source.get((scope_of(gateway), gateway.get("id")), [])
        if len(flows) < 2:
            continue
        for flow in flows:
            condition = flow.find(bpmn("conditionExpression"))
            has_condition = condition is not None and (condition.text or "").strip()
            if has_condition or flow.get("id") == gateway.get("default"):
                continue
            found.append(problem(flow, f"{describe(flow)} leaves {describe(gateway)} without a "
                                 "condition and is not the gateway's default flow, so Caseflow "
                                 "cannot decide when to take it. Give it a condition (Python, e.g. "
                                 "amount > 1000) or mark it as the default flow."))
    return found


def check_containers(m: Model) -> list[Problem]:
    """Report embedded and ad-hoc subprocesses SpiffWorkflow cannot run."""
    found = []
    for sub in m.iter("subProcess", "transaction"):
        starts, ends = sub.findall(bpmn("startEvent")), sub.findall(bpmn("endEvent"))
        if len(starts) != 1:
            count = "no start event" if not starts else f"{len(starts)} start events"
            found.append(problem(sub, f"{describe(sub)} has {count}; an embedded subprocess needs "
                                 "exactly one start event inside it. Add one (or remove the extra "
                                 "ones) and connect it to the first step."))
        if not ends:
            found.append(problem(sub, f"{describe(sub)} has no end event inside it. Add an end "
                                 "event after its last step."))
    for adhoc in m.iter("adHocSubProcess"):
        found.extend(_adhoc_problems(adhoc))
    return found


def _adhoc_problems(adhoc: etree._Element) -> list[Problem]:
    label, found = describe(adhoc), []
    if adhoc.find(bpmn("dataObject")) is None:
        found.append(problem(adhoc, f"{label} holds no data object; SpiffWorkflow cannot run an "
                             "ad-hoc subprocess without one. Add a data object inside it."))
    condition = adhoc.find(bpmn("completionCondition"))
    if condition is None or not (condition.text or "").strip():
        found.append(problem(adhoc, f"{label} has no completion condition. Add one (Python, e.g. "
                             "done == True) so Caseflow knows when the subprocess is finished."))
    if adhoc.get("ordering") == "sequential":
        found.append(problem(adhoc, f"{label} uses sequential ordering, which Caseflow does not "
                             "support. Set its ordering to parallel."))
    for event in adhoc.findall(bpmn("startEvent")) + adhoc.findall(bpmn("endEvent")):
        found.append(problem(event, f"{describe(event)} sits inside {label}; ad-hoc subprocesses "
                             "may not contain start or end events. Remove it."))
    return found


def check_unsupported(m: Model) -> list[Problem]:
    """Report elements Caseflow runs differently (service tasks) or cannot run at all."""
    found = []
    for task in m.iter("serviceTask"):
        if external_topic(task) is not None:
            continue  # an external task: workers of its topic complete it
        found.append(problem(task, f"{describe(task)} runs as a human step: Caseflow does not call "
                             "services from the model. A person or an integration completes it "
                             "through the task list or the API.", "warning"))
    for task in m.iter("businessRuleTask"):
        ref = decision_ref(task)
        if not ref:
            found.append(problem(task, f"{describe(task)} names no decision. Choose the DMN "
                                 "decision it evaluates (its decision id) in your modeler."))
        elif ref not in m.decisions:
            found.append(problem(task, f"{describe(task)} evaluates the decision '{ref}', which "
                                 "is neither in this upload nor deployed. Upload its .dmn file "
                                 "with the process."))
    for store in m.root.iter(bpmn("dataStore")):
        found.append(problem(store, f"{describe(store)} cannot be used: Caseflow keeps case data "
                             "in the case itself and has no data stores. Remove the data store "
                             "from the model."))
    for ref in m.iter("dataStoreReference"):
        found.append(problem(ref, f"{describe(ref)} cannot be used: Caseflow has no data stores. "
                             "Remove it and its data associations, or use a data object instead."))
    return found


def check_data_associations(m: Model) -> list[Problem]:
    """Report data associations SpiffWorkflow cannot resolve (some make its parser loop forever)."""
    found = []
    objects = _DataObjects()
    for assoc, ref_tag, verb in _associations(m):
        ref_el = assoc.find(bpmn(ref_tag))
        ref = (ref_el.text or "").strip() if ref_el is not None else ""
        task = assoc.getparent()
        target = m.by_id.get(ref)
        if target is not None and local(target) == "dataStoreReference":
            continue  # reported once on the reference itself
        message = _association_issue(task, target, ref, objects)
        if message is None:
            continue
        found.append(problem(task, f"{describe(task)} {verb} '{ref}' through a data association, "
                             f"but {message}. Connect the association to a data object of this "
                             "process, or delete it."))
        process = m.top_process(task)
        if process is not None and scope_of(task) is not process:
            m.unsafe.add(process.get("id"))
    return found


def _associations(m: Model):
    for assoc in m.iter("dataInputAssociation"):
        yield assoc, "sourceRef", "reads"
    for assoc in m.iter("dataOutputAssociation"):
        yield assoc, "targetRef", "writes"


class _DataObjects:
    """The ids of the data objects declared directly in each scope, read once per scope."""

    def __init__(self) -> None:
        self._ids: dict[etree._Element, frozenset[str]] = {}

    def declared(self, scope: etree._Element, wanted: str | None) -> bool:
        if scope not in self._ids:
            self._ids[scope] = frozenset(d.get("id") for d in scope.findall(bpmn("dataObject")))
        return wanted in self._ids[scope]


def _association_issue(task, target, ref: str, objects: _DataObjects) -> str | None:
    if target is None:
        return "no element has that id"
    if local(target) != "dataObjectReference":
        return f"it is a {kind(target).lower()}, and Caseflow only reads and writes data objects"
    scope = scope_of(task)
    scopes = [scope, scope_of(scope) if scope is not None else None]
    wanted = target.get("dataObjectRef")
    for candidate in (s for s in scopes if s is not None):
        if objects.declared(candidate, wanted):
            return None
    return (f"its data object '{wanted}' is not declared in {describe(scope)} or the level "
            "around it")


def check_chains(m: Model) -> list[Problem]:
    """Report chains of steps too long for SpiffWorkflow's recursive parser."""
    found = []
    for scope in m.iter(*_SPEC_SCOPES):
        depth, deepest = _deepest_chain(m, scope)
        if depth <= MAX_CHAIN:
            continue
        found.append(problem(scope, f"{describe(scope)} has a chain of {depth} connected steps "
                             f"(up to {describe(deepest)}); Caseflow can load at most {MAX_CHAIN} "
                             "in a row. Move part of the chain into an embedded subprocess or a "
                             "called process."))
        top = m.top_process(scope)
        if top is not None:
            m.unsafe.add(top.get("id"))
    return found


def _deepest_chain(m: Model, scope: etree._Element) -> tuple[int, etree._Element]:
    """Follow flows depth-first from the start events, as SpiffWorkflow's parser recurses."""
    nodes = {c.get("id"): c for c in scope if isinstance(c.tag, str) and c.get("id")}
    edges: dict[str, list[str]] = defaultdict(list)
    for child in scope:
        if child.tag == bpmn("boundaryEvent") and child.get("attachedToRef"):
            edges[child.get("attachedToRef")].append(child.get("id"))
    for flow in scope.findall(bpmn(_FLOWS)):
        edges[flow.get("sourceRef")].append(flow.get("targetRef"))
    best, deepest, visited = 0, scope, set()
    for start in scope.findall(bpmn("startEvent")):
        stack = [(start.get("id"), 1)]
        while stack:
            node_id, depth = stack.pop()
            if node_id in visited or node_id not in nodes:
                continue
            visited.add(node_id)
            if depth > best:
                best, deepest = depth, nodes[node_id]
            stack.extend((t, depth + 1) for t in reversed(edges.get(node_id, [])))
    return best, deepest


def check_calls(m: Model) -> list[Problem]:
    """Report call activities to missing or non-executable processes, and call cycles."""
    found = []
    by_id = {p.get("id"): p for p in m.processes}
    calls = {pid: m.calls(p) for pid, p in by_id.items()}
    executable = {p.get("id") for p in m.executable}
    cycles: dict[tuple, list[str] | None] = {}
    for call in m.iter("callActivity"):
        called = call.get("calledElement")
        if not called:
            found.append(problem(call, _no_called_element(call)))
        elif called not in by_id:
            if called not in m.available:
                found.append(problem(call, f"{describe(call)} calls process '{called}', which is "
                                     "not in this file. Add that process to this file, or deploy "
                                     "the file that contains it first."))
        elif called not in executable:
            found.append(problem(call, f"{describe(call)} calls process '{called}', which is "
                                 "marked not executable. Mark that process executable."))
        else:
            caller = m.top_process(call)
            key = (caller.get("id") if caller is not None else None, called)
            if key not in cycles:
                cycles[key] = _cycle_through(calls, *key)
            cycle = cycles[key]
            if cycle:
                path = " → ".join(cycle)
                found.append(problem(call, f"{describe(call)} calls process '{called}', which "
                                     f"leads back to the calling process ({path}). A process may "
                                     "not call itself, directly or through other processes: the "
                                     "case would never stop. Break the cycle."))
    return found


def _no_called_element(call: etree._Element) -> str:
    zeebe = call.find(f".//{{{ZEEBE_NS}}}calledElement")
    if zeebe is not None and zeebe.get("processId"):
        return (f"{describe(call)} names its process only in a Camunda 8 extension "
                f"(zeebe:calledElement processId=\"{zeebe.get('processId')}\"). Set the call "
                f"activity's calledElement to '{zeebe.get('processId')}'.")
    return f"{describe(call)} does not say which process it calls. Set its called element."


def _cycle_through(calls: dict[str, list[str]], origin: str | None,
                   called: str) -> list[str] | None:
    """Return the call path from `origin` through `called` back to `origin`, if there is one."""
    if origin is None:
        return None
    paths = {called: [origin, called]}
    pending = deque([called])
    while pending:
        pid = pending.popleft()
        if pid == origin:
            return paths[pid]
        for nxt in calls.get(pid, []):
            if nxt not in paths:
                paths[nxt] = paths[pid] + [nxt]
                pending.append(nxt)
    return None


STRUCTURE_CHECKS = (check_ids, check_reserved_ids, check_processes, check_flows, check_gateways,
                    check_containers, check_unsupported, check_data_associations, check_chains,
                    check_calls)


_THROWS = ("intermediateThrowEvent", "endEvent")


def check_starts_on_own_throw(m: Model) -> list[Problem]:
    """Warn where a process throws the signal or message its own start event catches: each case
    would open the next without end (the case layer stops such a chain, cases/case_service)."""
    found = []
    for process in m.runnable:
        starts = {}  # (kind, name) -> the start event catching it
        for start in process.findall(bpmn("startEvent")):
            for key in _event_keys(m, start):
                starts.setdefault(key, start)
        if not starts:
            continue
        throwers = [e for tag in (*_THROWS, "sendTask") for e in process.iter(bpmn(tag))]
        for thrower in throwers:
            for key in _event_keys(m, thrower):
                start = starts.get(key)
                if start is not None:
                    found.append(problem(thrower, (
                        f"{describe(thrower)} throws the {key[0]} '{key[1]}' that starts this "
                        f"process at {describe(start)}: every case would open another, without "
                        "end. Caseflow stops such a chain with an incident on the case that "
                        "throws; throw another name, or start the process another way."),
                        "warning"))
    return found


def _event_keys(m: Model, element: etree._Element) -> list[tuple[str, str]]:
    """(kind, name) of the signals and messages an event or send task throws or catches."""
    keys = []
    refs = [("message", element.get("messageRef"))] if local(element) == "sendTask" else []
    for kind_, tag, attr in (("signal", "signalEventDefinition", "signalRef"),
                             ("message", "messageEventDefinition", "messageRef")):
        refs += [(kind_, d.get(attr)) for d in element.findall(bpmn(tag))]
    for kind_, ref in refs:
        target = m.by_id.get(ref or "")
        name = (target.get("name") if target is not None else None) or ref
        if name:
            keys.append((kind_, name))
    return keys


STRUCTURE_CHECKS = (*STRUCTURE_CHECKS, check_starts_on_own_throw)
