"""Start events that know whether they interrupt, and the scope logic of event subprocesses.

SpiffWorkflow 3.2 reads neither `isInterrupting` nor error/escalation start events (an error-started
event subprocess became a plain branch that ran at once), and an event subprocess still waiting for
its start keeps its process from ever completing. Caseflow's start event fixes the first two; the
case engine calls `settle_event_subprocesses` after each round of engine steps for the third.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.serializer.default.task_spec import EventConverter
from SpiffWorkflow.bpmn.specs.control import SimpleBpmnTask, _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser, SpiffStartEventParser
from SpiffWorkflow.util.task import TaskState

_END_SPECS = (_EndJoin, SimpleBpmnTask)
_START_XPATHS = [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
                 CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH]
_END_XPATHS = [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH,
               ESCALATION_EVENT_XPATH, TERMINATION_EVENT_XPATH]


class CaseflowStartEvent(StartEvent):
    """A start event that, starting an interrupting event subprocess, withdraws the main flow."""

    def __init__(self, wf_spec, bpmn_id, event_definition, interrupting=True, **kwargs):
        super().__init__(wf_spec, bpmn_id, event_definition, **kwargs)
        self.interrupting = interrupting

    def _run_hook(self, my_task):
        result = super()._run_hook(my_task)
        if self.interrupting:
            esp_task = event_subprocess_task(my_task.workflow)
            if esp_task is not None:
                interrupt_scope(esp_task)
        return result


class CaseflowStartEventParser(SpiffStartEventParser):
    """Start event parser that also reads error and escalation starts and `isInterrupting`."""

    def create_task(self):
        event_definition = self.get_event_definition(_START_XPATHS)
        interrupting = self.node.get("isInterrupting", "true").lower() != "false"
        task = self._create_task(event_definition)
        task.interrupting = interrupting
        self.spec.start.connect(task)
        return task


class CaseflowEndEventParser(SpiffEndEventParser):
    """End event parser that also reads signal end events (SpiffWorkflow 3.2 reads a signal end
    event as a plain end: its signal was never thrown)."""

    def create_task(self):
        task = self._create_task(self.get_event_definition(_END_XPATHS))
        task.connect(self.spec.end)
        return task


class CaseflowStartEventConverter(EventConverter):
    """Stores whether the start event interrupts (restored as a keyword of the spec)."""

    def to_dict(self, spec):
        dct = super().to_dict(spec)
        dct["interrupting"] = spec.interrupting
        return dct


def is_event_subprocess(task) -> bool:
    """Return whether the task runs an event subprocess of its scope.

    SpiffWorkflow 3.2 parses `triggeredByEvent` subprocesses as plain SubWorkflowTasks (it looks for
    a namespaced attribute), but hangs each of them directly under the scope's start task, where
    nothing else that runs a subprocess can be.
    """
    return isinstance(task.task_spec, SubWorkflowTask) and task.parent is task.workflow.task_tree


def event_subprocess_task(workflow):
    """Return the task running `workflow` when it is an event subprocess, else None."""
    if workflow.parent_task_id is None:
        return None
    task = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
    return task if task is not None and is_event_subprocess(task) else None


def interrupt_scope(esp_task) -> None:
    """Cancel every branch of the event subprocess's scope except the event subprocess itself."""
    scope = esp_task.workflow
    for branch in list(scope.task_tree.children):
        if branch is not esp_task and not branch.has_state(TaskState.FINISHED_MASK):
            branch.cancel()
        elif branch is not esp_task:
            for child in list(branch.children):
                child.cancel()


def waiting_for_start(esp_task) -> bool:
    """Return whether an event subprocess task has not passed its start event yet."""
    sub = esp_task.workflow.top_workflow.subprocesses.get(esp_task.id)
    if sub is None:
        return esp_task.state != TaskState.COMPLETED
    starts = [t for t in sub.tasks.values() if isinstance(t.task_spec, StartEvent)]
    return bool(starts) and not any(t.state == TaskState.COMPLETED for t in starts)


def scope_main_flow_finished(scope) -> bool:
    """Return whether every branch of the scope other than its event subprocesses has finished."""
    for branch in scope.task_tree.children:
        if is_event_subprocess(branch):
            continue
        # The scope's end join (and its End) wait for the event subprocesses: not main flow.
        if any(t.has_state(TaskState.DEFINITE_MASK) and not isinstance(t.task_spec, _END_SPECS)
               for t in branch):
            return False
    return True


def settle_event_subprocesses(workflow) -> bool:
    """Withdraw event subprocesses still waiting for their start once their scope's main flow has
    finished, so the process can complete; return whether anything changed."""
    changed = False
    scopes = [workflow, *workflow.subprocesses.values()]
    for scope in scopes:
        if scope.completed:
            continue
        waiting = [t for t in scope.task_tree.children
                   if is_event_subprocess(t) and not t.has_state(TaskState.FINISHED_MASK)
                   and waiting_for_start(t)]
        if not waiting or not scope_main_flow_finished(scope):
            continue
        for task in waiting:
            task.cancel()
        for join in [t for t in scope.tasks.values()
                     if t.state == TaskState.WAITING and isinstance(t.task_spec, _EndJoin)]:
            join.task_spec._update(join)
        changed = True
    return changed
