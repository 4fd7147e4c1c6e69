"""Signals: a broadcast caught by every catch waiting for its name at the moment it is sent.

There is no inbox: a signal nobody waits for is simply not caught. The case layer broadcasts a
signal across cases by calling `send_signal` on each instance whose subscriptions name it.

A signal the process throws itself (an intermediate throw or end event) reaches its own waiting
catches inside SpiffWorkflow at once; `take_thrown` hands it to the case layer as well, which
broadcasts it to the other cases and to the processes a signal start event opens.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition

from .clock import engine_time
from .waits import deliver, thrown_signals, waits

if TYPE_CHECKING:
    from .definitions import CompiledProcess
    from .runtime import Instance


@dataclass(frozen=True)
class ThrownSignal:
    """A signal the process threw: its name, payload (the signal's payload expression, or None),
    the element that threw it (when known) and whether a catch of the process itself took it."""

    name: str
    payload: Any = None
    element_id: str | None = None
    caught_here: bool = False


def take_thrown(instance: "Instance") -> list[ThrownSignal]:
    """Return and forget the signals the process threw since the last call (never saved: take
    them before the state is written, or they are lost with the loaded instance)."""
    noted = thrown_signals(instance.workflow)
    if not noted:
        return []
    taken = []
    for signal in noted:
        element = signal.element_id
        if element is None:  # thrown outside the engine's own steps: the one element, if one
            throwers = _signal_elements(instance.process, signal.name, throwing=True)
            element = throwers[0] if len(throwers) == 1 else None
        taken.append(ThrownSignal(signal.name, signal.payload, element, signal.caught > 0))
    noted.clear()
    return taken


def _signal_definitions(task_spec) -> list:
    definition = getattr(task_spec, "event_definition", None)
    return [d for d in getattr(definition, "event_definitions", None) or [definition]
            if type(d).__name__ == "SignalEventDefinition" and d.name]


def _signal_elements(process: "CompiledProcess", name: str, *, throwing: bool) -> list[str]:
    """The ids of the elements throwing (or catching) signal `name`."""
    return sorted({task_spec.bpmn_id
                   for spec in (process.spec, *process.subprocess_specs.values())
                   for task_spec in spec.task_specs.values()
                   if isinstance(task_spec, ThrowingEvent) == throwing
                   and getattr(task_spec, "bpmn_id", None)
                   and any(d.name == name for d in _signal_definitions(task_spec))})


def caught_signals(process: "CompiledProcess") -> set[str]:
    """Return every signal name a catch of the process (or a process it calls) waits for."""
    return {d.name for spec in (process.spec, *process.subprocess_specs.values())
            for task_spec in spec.task_specs.values()
            if not isinstance(task_spec, ThrowingEvent) for d in _signal_definitions(task_spec)}


def start_signals(process: "CompiledProcess") -> dict[str, str]:
    """Return {signal name: start event id} of the process's own signal start events (such a
    signal opens a new instance; its event subprocesses' starts do not count). The first start
    event in id order stands for a name two of them catch."""
    found: dict[str, str] = {}
    for task_spec in sorted(process.spec.bpmn_start_events, key=lambda t: t.bpmn_id):
        for definition in _signal_definitions(task_spec):
            found.setdefault(definition.name, task_spec.bpmn_id)
    return found


def known_signals(process: "CompiledProcess") -> set[str]:
    """Return every signal name the process (and the processes it calls) can catch."""
    names = set()
    for spec in [process.spec, *process.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            for inner in getattr(definition, "event_definitions", None) or [definition]:
                if type(inner).__name__ == "SignalEventDefinition" and inner.name:
                    names.add(inner.name)
    return names


def send_signal(instance: "Instance", name: str, payload: Any = None, *, now: datetime) -> bool:
    """Deliver a signal to every catch waiting for it now; return whether any caught it."""
    if instance.is_cancelled or instance.workflow.completed:
        return False
    caught = []
    with engine_time(now):
        for wait in waits(instance.workflow):
            if wait.kind == "signal" and wait.name == name:
                took = instance._guard(wait.task, lambda w=wait: deliver(
                    w, SignalEventDefinition(name), payload, {}))
                if took:
                    caught.append(wait.element_id)
    if not caught:
        return False
    instance.events.append(_received(name, payload, caught))
    instance.run_engine(now=now)
    return True


def _received(name: str, payload: Any, elements: list[str]):
    from .runtime import EngineEvent

    return EngineEvent("signal_received", elements[0] if len(elements) == 1 else None, name,
                       {"payload": payload, "elements": elements})
