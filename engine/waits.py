"""Everything an instance waits for right now, one row per catch, and delivering an event to one.

SpiffWorkflow lists waiting tasks, but an event-based gateway waits as one task holding all its
branches (a MultipleEventDefinition with no single name or due time), and an event subprocess
started by a message, signal, error or escalation is not a task at all until the event arrives.
`waits()` unfolds both, so timers, messages and signals reach every kind of catch.
"""
from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util.event import EventManager
from SpiffWorkflow.util.task import TaskState

from .errors import ScriptFailed
from .event_specs import scope_main_flow_finished, waiting_for_start

_KINDS = {"MessageEventDefinition": "message", "SignalEventDefinition": "signal",
          "ErrorEventDefinition": "error", "EscalationEventDefinition": "escalation",
          "ConditionalEventDefinition": "conditional"}


@dataclass(frozen=True)
class Subscription:
    """A message or signal the instance waits for now, at one element, with the correlation
    values the waiting catch expects (empty when the message has none)."""

    kind: str  # "message" or "signal"
    name: str
    element_id: str
    correlation: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    """One waiting catch: a task (or, for an event subprocess not started yet, its scope)."""

    kind: str  # "message", "signal", "timer", "error", "escalation", "conditional", "other"
    name: str | None
    element_id: str
    definition: Any = field(repr=False)
    task: Any = field(default=None, repr=False)
    scope: Any = field(default=None, repr=False)  # workflow whose event subprocess may start
    trigger: str | None = None  # the event subprocess spec name to start


def _kind(definition) -> str:
    if isinstance(definition, TimerEventDefinition):
        return "timer"
    return _KINDS.get(type(definition).__name__, "other")


def waits(workflow) -> list[Wait]:
    """Return every catch the workflow waits at right now (none once it has completed)."""
    if workflow.completed:
        return []
    found = []
    for task in list(workflow.event_manager.tasks.values()):
        if task.state != TaskState.WAITING or task.workflow.tasks.get(task.id) is not task:
            continue  # stale entries survive a reset (see the SpiffWorkflow notes)
        found.extend(_task_waits(task))
    for scope in [workflow, *workflow.subprocesses.values()]:
        found.extend(_trigger_waits(workflow, scope))
    return found


def _task_waits(task) -> list[Wait]:
    spec = task.task_spec
    definition = spec.event_definition
    if not isinstance(definition, MultipleEventDefinition):
        return [Wait(_kind(definition), definition.name, spec.bpmn_id, definition, task)]
    found = []
    for index, inner in enumerate(definition.event_definitions):
        # An event-based gateway moved its branches' definitions onto itself, in output order.
        gateway = isinstance(spec, EventBasedGateway)
        element = spec.outputs[index].bpmn_id if gateway else spec.bpmn_id
        found.append(Wait(_kind(inner), inner.name, element, inner, task))
    return found


def _trigger_waits(top, scope) -> list[Wait]:
    """Event subprocesses of a running scope that an event would start."""
    if scope.completed or not scope.spec.start.trigger_specs or scope_main_flow_finished(scope):
        return []
    found = []
    started = {t.task_spec.name for t in scope.task_tree.children
               if not t.has_state(TaskState.FINISHED_MASK) and waiting_for_start(t)}
    for name in scope.spec.start.trigger_specs:
        if name in started:
            continue  # already waiting as a task (SpiffWorkflow started it after an internal throw)
        sp_spec = top.subprocess_specs.get(name)
        for start in getattr(sp_spec, "bpmn_start_events", []):
            definition = start.event_definition
            found.append(Wait(_kind(definition), definition.name, start.bpmn_id, definition,
                              scope=scope, trigger=name))
    return found


def timer_due(wait: Wait) -> datetime | None:
    """Return when a waiting timer fires, or None when it is not scheduled yet."""
    value = wait.task._get_internal_data("event_value") if wait.task is not None else None
    if value is None:
        return None
    if isinstance(wait.definition, CycleTimerEventDefinition):
        if not isinstance(value, dict) or value.get("cycles") == 0:
            return None
        value = value["next"]
    try:
        parsed = TimerEventDefinition.parse_time_or_duration(str(value))
    except Exception:  # noqa: BLE001 - an unreadable value is reported when the timer runs
        return None
    return parsed if isinstance(parsed, datetime) else None


def expected_correlation(wait: Wait, data: dict) -> dict:
    """Return {property: value} the catch expects: values the instance already correlated on,
    else its retrieval expressions evaluated on the instance's data (omitted while undefined)."""
    props = getattr(wait.definition, "correlation_properties", None) or []
    if not props:
        return {}
    workflow = wait.task.workflow if wait.task is not None else wait.scope
    environment = workflow.top_workflow.script_engine.environment
    expected = {}
    for prop in props:
        known = [workflow.correlations.get(key, {}).get(prop.name) for key in prop.correlation_keys]
        known = [v for v in known if v is not None]
        if known:
            expected[prop.name] = canonical(known[0])
            continue
        try:
            value = environment.evaluate(prop.retrieval_expression, dict(data))
            expected[prop.name] = canonical(value)
        except NameError:
            continue
        except Exception as err:  # noqa: BLE001 - model code: any failure is the element's
            raise ScriptFailed(f"correlation property '{prop.name}' ({prop.retrieval_expression}) "
                               f"failed: {err}", wait.element_id) from err
    return expected


def canonical(value: Any) -> Any:
    """Return a JSON round-tripped copy (sorted keys), so stored rows compare equal."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def mismatch(expected: dict, given: dict | None) -> str | None:
    """Return why `given` correlation values do not fit a catch expecting `expected`, or None."""
    if given is None:
        return None
    for key, value in sorted(expected.items()):
        if key not in given:
            return f"it expects {key}={value!r} and the message carries no {key}"
        if canonical(given[key]) != value:
            return f"it expects {key}={value!r}, the message carries {key}={given[key]!r}"
    return None


class _Correlating:
    """Script environment stand-in while delivering: SpiffWorkflow evaluates a message's
    retrieval expressions on its payload; the values were matched already, so answer them."""

    def __init__(self, inner, payload, values: dict[str, Any]):
        self._inner, self._payload, self._values = inner, payload, values

    def evaluate(self, expression, context, external_context=None):
        if context is self._payload and expression in self._values:
            return self._values[expression]
        return self._inner.evaluate(expression, context, external_context)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def correlated_delivery(workflow, payload, values: dict[str, Any]):
    """Install the stand-in on the workflow's script engine; return a function restoring it."""
    engine = workflow.script_engine
    inner = engine.environment
    engine.environment = _Correlating(inner, payload, values)

    def restore():
        engine.environment = inner
    return restore


def deliver(wait: Wait, definition, payload, correlation: dict) -> bool:
    """Hand an event to one waiting catch (starting its event subprocess first when needed);
    return whether the catch took it."""
    if wait.task is not None and wait.task.state != TaskState.WAITING:
        return False  # an earlier delivery of the same event withdrew this catch
    task = wait.task if wait.task is not None else _start_event_subprocess(wait)
    if task is None:
        return False
    nested: dict[str, dict] = {}
    for prop in getattr(wait.definition, "correlation_properties", None) or []:
        if prop.name in correlation:
            for key in prop.correlation_keys:
                nested.setdefault(key, {})[prop.name] = correlation[prop.name]
    task.task_spec.catch(task, BpmnEvent(definition, payload, correlations=nested))
    task.task_spec._update(task)
    if task.state == TaskState.READY and isinstance(task.task_spec, EventBasedGateway):
        # Its run catches the event again and evaluates correlations: while the stand-in holds.
        task.run()
    return task.state != TaskState.WAITING


def _scope_data(scope) -> dict:
    """Return the data of the scope's step waiting for a person, else of its latest step."""
    ready = [t for t in scope.tasks.values() if t.state == TaskState.READY and t.task_spec.manual]
    source = ready[0] if ready else scope.last_task or scope.task_tree
    return source.data


def _start_event_subprocess(wait: Wait):
    """Start the event subprocess of a wait on its scope and return its waiting start event.

    Unlike SpiffWorkflow's own trigger, this does not connect the scope's start to the event
    subprocess spec: specs are shared by every instance of a version and must stay unchanged.
    """
    scope = wait.scope
    spec = scope.spec.task_specs[wait.trigger]
    # Idempotent, as SpiffWorkflow's own trigger does (it also connects the scope's start to it,
    # which would start the event subprocess at once in every later instance).
    if scope.spec.end not in spec.outputs:
        spec.connect(scope.spec.end)
    if scope.spec.start not in spec.inputs:
        spec._inputs.append(scope.spec.start.name)
    child = scope.task_tree._add_child(spec, TaskState.FUTURE)
    child.triggered = True
    # It hangs under the scope's start, whose data is the case's initial data: give it the data
    # the scope holds now, as the event subprocess of a running case should see.
    child.data = deepcopy(_scope_data(scope))
    # Predict its path to the scope's end now, or the scope could never complete.
    child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
    child.task_spec._update(child)
    sub = scope.top_workflow.subprocesses.get(child.id)
    if sub is None:
        return None
    return next((t for t in sub.tasks.values()
                 if getattr(t.task_spec, "bpmn_id", None) == wait.element_id
                 and t.state == TaskState.WAITING), None)


class CaseflowEventManager(EventManager):
    """SpiffWorkflow's event manager, starting event subprocesses for events thrown inside the
    process (errors, escalations, signals, messages) the way `deliver` does: in any running scope,
    without changing the shared spec; and noting every signal the process throws.

    A signal is a broadcast: SpiffWorkflow hands it to the instance's own catches and keeps it
    for the caller only when none caught it. Caseflow broadcasts every thrown signal to the other
    cases as well, so each one is noted here (`thrown_signals`, never saved: the case layer takes
    them before the state is written) and none is kept in the saved state.
    """

    def catch(self, event, internal=True):
        if internal and event.target is None and _kind(event.event_definition) == "signal":
            caught = super().catch(event, internal=False)
            self.__dict__.setdefault("thrown_signals", []).append(
                ThrownEvent(event.event_definition.name, event.payload, caught))
            return caught
        return super().catch(event, internal)

    def update_collaboration(self, event):
        top = self.workflow
        for scope in [top, *top.subprocesses.values()]:
            for wait in _trigger_waits(top, scope):
                if wait.definition == event.event_definition:
                    _start_event_subprocess(wait)


@dataclass
class ThrownEvent:
    """A signal the instance threw: its name, payload and how many of its own catches took it;
    the throwing element is filled in once its task has run (Instance._did_complete)."""

    name: str
    payload: Any
    caught: int
    element_id: str | None = None


def thrown_signals(workflow) -> list[ThrownEvent] | None:
    """The signals the workflow threw since they were last taken (None when it threw none)."""
    return workflow.event_manager.__dict__.get("thrown_signals")


def adopt(workflow) -> None:
    """Give a (new or restored) workflow Caseflow's event manager."""
    workflow.event_manager.__class__ = CaseflowEventManager
