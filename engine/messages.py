"""Messages from outside with an inbox: an event sent before the process waits for it is kept and
delivered as soon as the process starts waiting for it (SpiffWorkflow itself would refuse it)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from .errors import MessageNotExpected

if TYPE_CHECKING:
    from .runtime import Instance


def known_messages(instance: "Instance") -> set[str]:
    """Return every message name the instance's process (and the processes it calls) can catch."""
    specs = [instance.process.spec, *instance.process.subprocess_specs.values()]
    names = set()
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            for inner in getattr(definition, "event_definitions", None) or [definition]:
                if type(inner).__name__ == "MessageEventDefinition":
                    names.add(inner.name)
    return names


def send_message(instance: "Instance", name: str, payload: Any = None, *, now: datetime) -> bool:
    """Queue a message and deliver it if the process waits for it; return whether it was delivered."""
    if name not in known_messages(instance):
        known = ", ".join(sorted(known_messages(instance))) or "none"
        raise MessageNotExpected(f"The process does not use a message named '{name}' (it knows: {known})")
    before = instance.envelope.get("delivered", 0)
    instance.envelope["inbox"].append({"name": name, "payload": payload, "sent_at": now.isoformat()})
    instance.run_engine(now=now)
    return instance.envelope.get("delivered", 0) > before


def deliver_inbox(instance: "Instance") -> bool:
    """Deliver queued messages the process now waits for; return whether any was delivered."""
    inbox = instance.envelope["inbox"]
    if not inbox:
        return False
    waiting = set(instance.waiting_messages())
    for message in list(inbox):
        if message["name"] not in waiting:
            continue
        inbox.remove(message)
        event = BpmnEvent(MessageEventDefinition(message["name"]), message["payload"])
        instance.workflow.catch(event)
        instance.envelope["delivered"] = instance.envelope.get("delivered", 0) + 1
        instance.events.append(_delivered(message))
        return True
    return False


def _delivered(message: dict):
    from .runtime import EngineEvent

    return EngineEvent("message_delivered", None, message["name"], {"payload": message["payload"]})
