"""Messages from outside with an inbox: an event sent before the process waits for it is kept and
delivered as soon as the process starts waiting for it (SpiffWorkflow itself would refuse it).

A message reaches every catch waiting for its name whose correlation fits: intermediate catch and
receive events, boundary events, event-based gateway branches and message-started event
subprocesses. A message is counted as delivered only when a catch took it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from .errors import MessageNotCorrelated, MessageNotExpected
from .waits import canonical, correlated_delivery, deliver, expected_correlation, mismatch, waits

if TYPE_CHECKING:
    from .definitions import CompiledProcess
    from .runtime import Instance


@dataclass(frozen=True)
class SentMessage:
    """A message the process threw for another process (a send task, a message throw or end
    event): its name, payload and the correlation values ({property: value}) it carries."""

    name: str
    payload: Any = None
    correlation: dict = field(default_factory=dict)
    element_id: str | None = None  # the element that threw it, when one element throws the name


def take_sent(instance: "Instance") -> list[SentMessage]:
    """Return and forget the messages the process has thrown for other processes since the last
    call (they are kept in the saved state until taken); other thrown events stay untouched."""
    workflow = instance.workflow
    sent, kept = [], []
    for event in workflow.bpmn_events:
        if type(event.event_definition).__name__ == "MessageEventDefinition":
            correlation = {prop: value for values in (event.correlations or {}).values()
                           for prop, value in (values or {}).items()}
            name = event.event_definition.name
            throwers = _message_elements(instance.process, name, ThrowingEvent)
            sent.append(SentMessage(name, event.payload, correlation,
                                    throwers[0] if len(throwers) == 1 else None))
        else:
            kept.append(event)
    workflow.bpmn_events = kept
    return sent


def _message_definitions(task_spec) -> list:
    definition = getattr(task_spec, "event_definition", None)
    return [d for d in getattr(definition, "event_definitions", None) or [definition]
            if type(d).__name__ == "MessageEventDefinition"]


def _message_elements(process: "CompiledProcess", name: str, kind: type) -> list[str]:
    """The ids of the elements of `kind` (throwing or catching) that use message `name`."""
    return sorted({task_spec.bpmn_id
                   for spec in (process.spec, *process.subprocess_specs.values())
                   for task_spec in spec.task_specs.values()
                   if isinstance(task_spec, kind) and getattr(task_spec, "bpmn_id", None)
                   and any(d.name == name for d in _message_definitions(task_spec))})


def caught_messages(process: "CompiledProcess") -> set[str]:
    """Return every message name a process (and the processes it calls) can catch."""
    return {d.name for spec in (process.spec, *process.subprocess_specs.values())
            for task_spec in spec.task_specs.values()
            if not isinstance(task_spec, ThrowingEvent) for d in _message_definitions(task_spec)}


def start_messages(process: "CompiledProcess") -> set[str]:
    """Return the message names a start event of the process itself catches (a message start:
    such a message may open a new instance; its event subprocesses' starts do not count)."""
    return {d.name for task_spec in process.spec.bpmn_start_events
            for d in _message_definitions(task_spec)}


def known_messages(instance: "Instance") -> set[str]:
    """Return every message name the instance's process (and the processes it calls) uses."""
    process = instance.process
    return {d.name for spec in (process.spec, *process.subprocess_specs.values())
            for task_spec in spec.task_specs.values() for d in _message_definitions(task_spec)}


def send_message(instance: "Instance", name: str, payload: Any = None, *, now: datetime,
                 correlation: dict | None = None) -> bool:
    """Queue a message and deliver it if the process waits for it; return whether a catch took it.

    With `correlation` ({property: value}) only a catch expecting those values takes it; when the
    process waits for the name but no catch fits, MessageNotCorrelated says why and nothing is kept.
    """
    if name not in known_messages(instance):
        known = ", ".join(sorted(known_messages(instance))) or "none"
        raise MessageNotExpected(f"The process does not use a message named '{name}' (it knows: {known})")
    if correlation is not None:
        correlation = canonical(dict(correlation))
        reasons = _mismatches(instance, name, correlation)
        if reasons is not None and all(r is not None for r in reasons):
            raise MessageNotCorrelated(f"The process waits for message '{name}', but not for these "
                                       f"correlation values: {'; '.join(reasons)}")
    before = instance.envelope.get("delivered", 0)
    instance.envelope["inbox"].append({"name": name, "payload": payload, "sent_at": now.isoformat(),
                                       "correlation": correlation})
    instance.run_engine(now=now)
    return instance.envelope.get("delivered", 0) > before


def _mismatches(instance: "Instance", name: str, correlation: dict) -> list[str | None] | None:
    """Return per waiting catch why the correlation does not fit (None where it fits), or None
    when nothing waits for the name."""
    found = [w for w in waits(instance.workflow) if w.kind == "message" and w.name == name]
    if not found:
        return None
    reasons = []
    for wait in found:
        reason = mismatch(expected_correlation(wait, instance._data_at(wait)), correlation)
        reasons.append(f"{wait.element_id}: {reason}" if reason else None)
    return reasons


def deliver_inbox(instance: "Instance") -> bool:
    """Deliver one queued message the process now waits for; return whether one was delivered."""
    inbox = instance.envelope["inbox"]
    if not inbox:
        return False
    for message in list(inbox):
        caught = _deliver(instance, message)
        if caught:
            inbox.remove(message)
            instance.envelope["delivered"] = instance.envelope.get("delivered", 0) + 1
            instance.events.append(_delivered(message, caught))
            return True
    return False


def _deliver(instance: "Instance", message: dict) -> list[str]:
    """Hand the message to every fitting catch; return the element ids that took it."""
    caught = []
    for wait in waits(instance.workflow):
        if wait.kind != "message" or wait.name != message["name"]:
            continue
        expected = expected_correlation(wait, instance._data_at(wait))
        given = message.get("correlation")
        if mismatch(expected, given) is not None:
            continue
        values = {**expected, **(given or {})}
        by_expression = {p.retrieval_expression: values[p.name]
                         for p in wait.definition.correlation_properties if p.name in values}
        payload = message["payload"]
        restore = correlated_delivery(instance.workflow, payload, by_expression)
        try:
            took = instance._guard(wait.task, lambda: deliver(
                wait, MessageEventDefinition(message["name"]), payload, values))
        finally:
            restore()
        if took:
            caught.append(wait.element_id)
    return caught


def _delivered(message: dict, elements: list[str]):
    from .runtime import EngineEvent

    detail = {"payload": message["payload"], "elements": elements}
    if message.get("correlation"):
        detail["correlation"] = message["correlation"]
    return EngineEvent("message_delivered", elements[0] if len(elements) == 1 else None,
                       message["name"], detail)
