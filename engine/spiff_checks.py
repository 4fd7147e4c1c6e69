"""Load the file with Caseflow's SpiffWorkflow parser and turn whatever it refuses into Problems.

SpiffWorkflow raises one exception per process and finds most faults only at get_spec(), with no
line number and sometimes a misleading message. The structural checks run first; here each of its
messages is reworded, located by element id, and dropped when a structural check already named
the same cause.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask

from .bpmntree import Model, bpmn, describe, problem
from .dmn import add_decisions
from .dmn_task import decision_ref
from .errors import Problem
from .parser import new_parser, prepare_for_spiff


@dataclass(frozen=True)
class _Rule:
    pattern: str
    covered: bool  # a structural check reports the same cause with a better message
    text: str | None = None  # designer wording; {what} names the element


_RULES = (
    _Rule("RecursionError", False, "{what} is too long for Caseflow to load (too many steps in a "
          "row). Move part of it into an embedded subprocess or a called process."),
    _Rule("Multiple outgoing flows are not supported", False, "{what} has more than one outgoing "
          "flow. Add a gateway after it to split the path: a parallel gateway to follow every "
          "flow, an exclusive gateway to follow one."),
    _Rule("There is no support implemented for this task type", False, "{what} is a kind of "
          "element Caseflow cannot run. Replace it with a task, gateway or event it supports."),
    _Rule("Could not find messageRef", False, "{what} uses a message event without a message. "
          "Choose the message it waits for or sends."),
    _Rule("Conditional event definition with missing condition", False, "{what} is a conditional "
          "event without a condition. Enter the condition (Python) it waits for."),
    _Rule("identifier is missing", False, "A message, signal, error or escalation definition in "
          "this file has no id. Give it an id in your modeler."),
    _Rule("No start event found", True), _Rule("Non-default exclusive outgoing", True),
    _Rule("When looking for a task spec", True), _Rule("SubWorkflow", True),
    _Rule("Time Specification", True), _Rule("was not found", True),
    _Rule("is not executable", True), _Rule("Cannot resolve data", True),
    _Rule("Data Store", True), _Rule("DMN", True), _Rule("Invalid Script Task", True),
    _Rule("Ad hoc subprocess", True), _Rule("Duplicate process ID", True),
    _Rule("calledElement", True),
)


# Text of a Python error inside SpiffWorkflow, which must not reach a designer as it is.
_INTERNAL = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|'node'|NoneType|object has no attribute")

Finding = tuple[Problem, bool]  # the problem, and whether a structural check covers its cause


_COMPENSATION_HINT = ("is not supported by Caseflow: model the undo step as an explicit task or "
                      "error path")


def check_compensation(m: Model) -> list[Problem]:
    """Refuse compensation events and handlers, one sentence each (SpiffWorkflow 3.2 cannot
    run them: its parser refuses a compensation boundary event as an 'Unsupported Catch Event')."""
    found = []
    for definition in m.root.iter(bpmn("compensateEventDefinition")):
        event = definition.getparent()
        if event is None or event.tag not in _EVENT_TAGS:
            continue  # a reusable top-level definition: reported where an event uses it
        found.append(problem(event, f"Compensation ({_what(event)}, line {event.sourceline}) "
                                    f"{_COMPENSATION_HINT}."))
    for activity in m.root.iter():
        if isinstance(activity.tag, str) and activity.get("isForCompensation") == "true":
            found.append(problem(activity, f"Compensation handler ({_what(activity)}, line "
                                           f"{activity.sourceline}) {_COMPENSATION_HINT}."))
    return found


_EVENT_TAGS = {bpmn(t) for t in ("boundaryEvent", "intermediateThrowEvent", "endEvent",
                                 "startEvent", "intermediateCatchEvent")}


def _what(element) -> str:
    what = describe(element)
    return what[:1].lower() + what[1:]


def check_with_spiff(m: Model, filename: str) -> list[Finding]:
    """Parse every executable process with SpiffWorkflow; return its findings."""
    compensation = check_compensation(m)
    tree = copy.deepcopy(m.root)
    prepare_for_spiff(tree)
    for store in list(tree.iter(bpmn("dataStore"))):  # reported by check_unsupported
        store.getparent().remove(store)
    for definition in list(tree.iter(bpmn("compensateEventDefinition"))):  # reported above
        event = definition.getparent()
        if event is not None and event.tag == bpmn("boundaryEvent"):
            event.getparent().remove(event)
    parser = new_parser()
    try:
        parser.add_bpmn_xml(tree, filename)
        add_decisions(parser, m.decisions, (decision_ref(t) for t in tree.iter(bpmn("businessRuleTask"))))
    except Exception as err:  # noqa: BLE001 - any parser failure (RecursionError too) is a finding
        return [(p, False) for p in compensation] + [_to_problem(m, err)]
    found, seen = [(p, False) for p in compensation], set()
    for process in m.executable:
        pid = process.get("id")
        if pid in m.unsafe:
            continue
        found.extend(_load_process(m, parser, pid, seen))
    return found


def _load_process(m: Model, parser, pid: str, seen: set[str]) -> list[Finding]:
    """Load a process and everything it calls or embeds; one failing spec does not hide others."""
    found, pending = [], [pid]
    while pending:
        name = pending.pop(0)
        if name in seen:
            continue
        seen.add(name)
        try:
            spec = parser.get_spec(name, required=False)
        except Exception as err:  # noqa: BLE001
            found.append(_to_problem(m, err, name))
            continue
        if spec is not None:
            pending.extend(ts.spec for ts in spec.task_specs.values()
                           if isinstance(ts, SubWorkflowTask))
    if not found:
        try:  # the same walk compile_processes does, now that every spec is cached
            parser.get_subprocess_specs(pid, require_call_activity_specs=False)
        except ValidationException as err:
            # Nested calls ignore require_call_activity_specs; check_calls judges missing processes.
            if "was not found" not in str(err):
                found.append(_to_problem(m, err, pid))
        except Exception as err:  # noqa: BLE001
            found.append(_to_problem(m, err, pid))
    return found


def _to_problem(m: Model, err: BaseException, spec_id: str | None = None) -> Finding:
    raw = str(err.args[0]) if err.args else type(err).__name__
    if isinstance(err, RecursionError):
        raw = "RecursionError"
    eid = getattr(err, "id", None) or spec_id
    element = m.by_id.get(eid) if eid else None
    if element is not None:
        what = describe(element)
    else:
        what = f"process '{spec_id}'" if spec_id else "this file"
    rule = next((r for r in _RULES if r.pattern in raw), None)
    if rule is not None and rule.text:
        message = rule.text.format(what=what[:1].upper() + what[1:])
    else:
        detail = re.sub(r"\s+", " ", raw).strip().rstrip(".")
        message = f"Caseflow cannot load {what}: {detail}."
        if not isinstance(err, ValidationException) or _INTERNAL.search(raw):
            # A crash inside SpiffWorkflow's parser: its text (AttributeError, 'node') means
            # nothing to a designer, so say where it happened and what usually causes it.
            message = (f"Caseflow cannot load {what}: the workflow engine could not read its "
                       "settings. Check its extension settings and data references in your "
                       "modeler (remove what Caseflow does not use), then upload again.")
    covered = rule is not None and rule.covered
    if element is not None:
        return problem(element, message), covered
    return Problem(message=message, element_id=eid), covered


def merge_spiff(found: list[Problem], spiff: list[Finding]) -> list[Problem]:
    """Keep the SpiffWorkflow findings that add something to the structural ones."""
    flagged = {p.element_id for p in found if p.severity == "error" and p.element_id}
    any_error = any(p.severity == "error" for p in found)
    kept = []
    for item, covered in spiff:
        if item.element_id in flagged or (covered and any_error):
            continue
        kept.append(item)
    return kept
