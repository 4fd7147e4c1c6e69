"""External tasks: service tasks with a topic that workers outside the engine fetch and complete.

The engine never calls out. A serviceTask with `camunda:type="external" camunda:topic="…"`
(Camunda 7) or a `caseflow.topic` extension property (Caseflow's own files) becomes an
`ExternalServiceTask`: a manual spec, so `do_engine_steps` leaves it READY, and the runtime reports
it apart from people's steps. A worker completes it with variables or throws a BPMN error that an
error boundary event on the same task catches. Service tasks without a topic stay human steps.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lxml import etree
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.serializer.task_spec import SpiffBpmnTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ManualTask
from SpiffWorkflow.util.task import TaskState

from .clock import engine_time
from .errors import ErrorNotCaught, TaskNotReady
from .waits import deliver

if TYPE_CHECKING:
    from .runtime import Instance

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
TOPIC_PROPERTY = "caseflow.topic"


def external_topic(element: etree._Element) -> str | None:
    """Return the topic a serviceTask names (Camunda attributes or caseflow.topic), or None."""
    from .metadata import read_properties  # late: metadata imports the parser, which imports us

    topic = element.get(f"{{{CAMUNDA_NS}}}topic")
    if topic and element.get(f"{{{CAMUNDA_NS}}}type", "external") == "external":
        return topic.strip() or None
    return (read_properties(element).get(TOPIC_PROPERTY) or "").strip() or None


class ExternalServiceTask(ManualTask):
    """A service task a worker completes; manual, so the engine leaves it READY."""

    def __init__(self, wf_spec, bpmn_id, topic=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic


class ServiceTaskParser(SpiffTaskParser):
    """Parse a serviceTask as an external task when it names a topic, else as a human step."""

    def create_task(self):
        topic = external_topic(self.node)
        if topic is None:
            return super().create_task()
        extensions = self.parse_extensions()
        return ExternalServiceTask(self.spec, self.bpmn_id, topic=topic,
                                   prescript=extensions.get("preScript"),
                                   postscript=extensions.get("postScript"), **self.bpmn_attributes)


class ExternalServiceTaskConverter(SpiffBpmnTaskConverter):
    """Store the topic with the spec."""

    def to_dict(self, spec):
        return {**super().to_dict(spec), "topic": spec.topic}


@dataclass(frozen=True)
class ExternalTask:
    """A service task waiting for a worker of its topic."""

    id: str
    element_id: str
    name: str
    topic: str
    process_id: str
    data: dict = field(repr=False)
    ready_since: datetime | None = None


def is_external(task) -> bool:
    """Return whether a SpiffWorkflow task is an external service task."""
    return isinstance(task.task_spec, ExternalServiceTask)


def ready_external(instance: Instance) -> list:
    """Return the READY external service tasks of the instance (SpiffWorkflow tasks)."""
    if instance.is_cancelled:
        return []
    ready = instance.workflow.get_tasks(state=TaskState.READY, manual=True)
    return [t for t in ready if is_external(t)]


def external_tasks(instance: Instance) -> list[ExternalTask]:
    """Return every external task waiting for a worker."""
    since = instance.envelope.get("ready_since", {})
    found = []
    for task in ready_external(instance):
        spec, stamp = task.task_spec, since.get(str(task.id))
        found.append(ExternalTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                                  spec.topic, task.workflow.spec.name, dict(task.data),
                                  datetime.fromisoformat(stamp) if stamp else None))
    return found


def _ready(instance: Instance, task_id: str):
    for task in ready_external(instance):
        if str(task.id) == task_id:
            return task
    raise TaskNotReady(f"External task {task_id} is not waiting for a worker")


def complete_external(instance: Instance, task_id: str, variables: Mapping[str, Any], *,
                      now: datetime) -> None:
    """Complete an external task with the worker's variables and run the engine on."""
    task = _ready(instance, task_id)
    with engine_time(now):
        task.data.update(dict(variables))
        instance._guard(task, task.run)
    instance.run_engine(now=now)


def throw_bpmn_error(instance: Instance, task_id: str, code: str, message: str | None = None,
                     variables: Mapping[str, Any] | None = None, *, now: datetime) -> str:
    """Throw a BPMN error from an external task to an error boundary event on it; return the
    boundary's element id, or raise ErrorNotCaught when none catches the code."""
    from .runtime import EngineEvent
    from .waits import waits

    task = _ready(instance, task_id)
    siblings = {id(t) for t in task.parent.children}
    for wait in waits(instance.workflow):
        code_wanted = getattr(wait.definition, "code", None)
        if (wait.kind == "error" and wait.task is not None and id(wait.task) in siblings
                and code_wanted in (None, "", code)):
            with engine_time(now):
                task.data.update(dict(variables or {}))
                payload = {"code": code, "message": message, **dict(variables or {})}
                instance._guard(wait.task,
                                lambda w=wait, p=payload: deliver(w, w.definition, p, {}))
                wait.task.data.update(dict(variables or {}))
            detail = {"task": task.task_spec.bpmn_id, "message": message}
            instance.events.append(EngineEvent("bpmn_error_caught", wait.element_id, code, detail))
            instance.run_engine(now=now)
            return wait.element_id
    raise ErrorNotCaught(code, task.task_spec.bpmn_id)
