"""Timer start events: what a deployed process declares, when it fires next, and passing one.

The case layer's job executor owns the schedule: it asks `next_start_time` for the next firing of
each timer start of an active version and starts a case with
`runtime.start(process, data, now=..., start_event=element_id)`, which passes that start event at
once (a process that also has a none start stays startable by hand).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from .errors import StepNotFound, TimerInvalid
from .parser import ISO_TIMER


@dataclass(frozen=True)
class TimerStart:
    """A timer start event of a process: its element id and its expression as written."""

    element_id: str
    name: str | None
    kind: str  # "date", "duration" or "cycle"
    expression: str


def timer_starts(spec) -> list[TimerStart]:
    """Return the timer start events of a process spec (not those of its event subprocesses)."""
    found = []
    for task_spec in spec.bpmn_start_events:
        definition = task_spec.event_definition
        if isinstance(definition, TimerEventDefinition):
            kind = ("date" if isinstance(definition, TimeDateEventDefinition) else
                    "cycle" if isinstance(definition, CycleTimerEventDefinition) else "duration")
            found.append(TimerStart(task_spec.bpmn_id, task_spec.bpmn_name, kind,
                                    _as_written(definition.expression)))
    return sorted(found, key=lambda t: t.element_id)


def _as_written(expression: str) -> str:
    """Undo the quoting Caseflow adds to unquoted ISO literals at upload."""
    text = (expression or "").strip()
    literal = _literal(text)
    return literal if literal is not None and ISO_TIMER.match(literal) else text


def _literal(text: str) -> str | None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def next_start_time(expression: str, activated_at: datetime, fired: int) -> datetime | None:
    """Return when a timer start fires next, given when its version was activated and how many
    times it already fired; None when it fires no more. Raise TimerInvalid for anything else than
    an ISO-8601 date, duration or cycle (unquoted or as a Python string literal)."""
    if activated_at.tzinfo is None:
        raise ValueError("activated_at must be timezone-aware")
    text = _literal(expression.strip()) or expression.strip()
    if not ISO_TIMER.match(text):
        raise TimerInvalid(f"Timer start expression {expression!r} is not an ISO-8601 date, "
                           "duration or cycle (for example 2026-12-01T08:00Z, PT1H or R3/PT1H)")
    try:
        if text.upper().startswith("R"):
            return _next_cycle(text, activated_at, fired)
        if text.upper().startswith("P"):
            return _after(activated_at, text) if fired == 0 else None
        return _as_utc(TimerEventDefinition.get_datetime(text)) if fired == 0 else None
    except (ValueError, TypeError) as err:
        raise TimerInvalid(f"Timer start expression {expression!r} cannot be read: {err}") from None


def _after(start: datetime, duration: str) -> datetime:
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def _next_cycle(text: str, activated_at: datetime, fired: int) -> datetime | None:
    parts = text.split("/")
    repetitions = int(parts[0][1:]) if parts[0][1:] else None
    if repetitions is not None and fired >= repetitions:
        return None
    if len(parts) == 2:  # R/duration: the first firing one period after activation
        first, period = _after(activated_at, parts[1]), parts[1]
    elif parts[1].upper().startswith("P"):  # R/duration/end: counted back from the end
        end = _as_utc(TimerEventDefinition.get_datetime(parts[2]))
        parsed = TimerEventDefinition.parse_iso_duration(parts[1])
        first, period = end - TimerEventDefinition.get_timedelta_from_end(parsed, end), parts[1]
    else:  # R/start/duration
        first, period = _as_utc(TimerEventDefinition.get_datetime(parts[1])), parts[2]
    due = first
    for _ in range(fired):
        due = _after(due, period)
    return due


def _as_utc(value: datetime) -> datetime:
    """Return a plain UTC datetime (SpiffWorkflow's parser answers with Caseflow's clock class)."""
    v = value.astimezone(timezone.utc)
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, timezone.utc)


def pass_start_event(workflow, element_id: str, payload: Any = None) -> None:
    """Make a new workflow start through the named start event, withdrawing its other start
    events; call before the workflow first runs. A `payload` is what the event brought (a
    signal's): the start event catches it, so a variable it names receives it."""
    spec = next((s for s in workflow.spec.bpmn_start_events if s.bpmn_id == element_id), None)
    if spec is None:
        known = ", ".join(sorted(s.bpmn_id for s in workflow.spec.bpmn_start_events)) or "none"
        raise StepNotFound(f"The process has no start event '{element_id}' (it has: {known})")
    # Only this process's own start events (event subprocesses have theirs), still predicted:
    # marking the event fired before it is first evaluated keeps a cycle from counting a period.
    starts = [t for t in workflow.tasks.values() if t.task_spec in workflow.spec.bpmn_start_events]
    for task in starts:
        if task.task_spec is not spec:
            task.cancel()
    target = next(t for t in starts if t.task_spec is spec)
    if payload is not None:
        spec.event_definition.catch(target, BpmnEvent(spec.event_definition, payload))
    target._set_internal_data(event_fired=True)
    if not target.children:
        # A cycle timer grows its path only when a period passes; this start is due now.
        target._sync_children(spec.outputs, target.state)
