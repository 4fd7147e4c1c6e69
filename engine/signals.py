"""Signals: a broadcast caught by every catch waiting for its name at the moment it is sent.

There is no inbox: a signal nobody waits for is simply not caught. The case layer broadcasts a
signal across cases by calling `send_signal` on each instance whose subscriptions name it.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition

from .clock import engine_time
from .waits import deliver, waits

if TYPE_CHECKING:
    from .definitions import CompiledProcess
    from .runtime import Instance


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
