"""Deviation primitives: leave the happy path of a running instance on an agent's request.

SpiffWorkflow has no skip or jump; the recipes here follow the verified notes in
shared/notes/spiffworkflow-3.2.md (complete with defaults instead of cancel, reset for rework, a
route override instead of editing business data).
"""
from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any, Callable, Mapping

from SpiffWorkflow.util.task import TaskState

from .clock import engine_time
from .dmn_task import DECISION_OVERRIDES_KEY, CaseflowBusinessRuleTask
from .errors import FormInvalid, StepNotFound, TaskNotReady
from .forms import clean_value, form_defaults
from .runtime import CompletedStep, EngineEvent, Instance, new_id
from .specs import ROUTE_OVERRIDES_KEY, RoutableExclusiveGateway

DefaultsFor = Callable[[str], Mapping[str, Any]]
MAX_JUMP_STEPS = 200


def skip(instance: Instance, task_id: str, defaults: Mapping[str, Any] | None = None, *,
         now: datetime, data: Mapping[str, Any] | None = None) -> None:
    """Mark a ready step done without doing it, giving downstream steps `data`, else defaults."""
    adhoc = instance._adhoc(task_id)
    if adhoc is not None:
        adhoc.update(open=False, skipped=True, completed_at=now.isoformat())
        return
    task = instance._ready_spiff_task(task_id)
    form = instance.process.forms.get(task.task_spec.bpmn_id)
    if defaults is None and form is not None:
        defaults = form_defaults(form)
    with engine_time(now):
        for key, value in (defaults or {}).items():
            task.data.setdefault(key, value)
        task.data.update(data or {})  # what the agent said the step would have recorded
        task.complete()
        instance.events.append(EngineEvent("step_skipped", task.task_spec.bpmn_id, task.task_spec.bpmn_name))
    instance.run_engine(now=now)


def go_back(instance: Instance, element_id: str, *, now: datetime) -> CompletedStep:
    """Reopen the latest completed run of a step; return it with the data it was completed with.

    The reset gives the task its parent's data, so the values its form captured last time are
    kept beside it (`ReadyTask.previous`) for the form to show again.
    """
    steps = [s for s in instance.completed_steps() if s.element_id == element_id]
    if not steps:
        raise StepNotFound(f"Step '{element_id}' has not been completed, so the case cannot go back to it")
    step = steps[-1]
    workflow = instance.workflow
    with engine_time(now):
        task = workflow.get_task_from_id(_uuid(step.task_id))
        workflow.reset_from_task_id(task.id)
        _purge_stale_waiting(workflow)
        workflow.completed = False
    instance.run_engine(now=now)
    form = instance.process.forms.get(element_id)
    captured = {f.id: step.data[f.id] for f in (form.fields if form else ())
                if step.data.get(f.id) is not None}
    if captured and any(t.id == step.task_id for t in instance.ready_tasks()):
        instance.envelope.setdefault("previous", {})[step.task_id] = captured
    return step


def jump_to(instance: Instance, element_id: str, defaults_for: DefaultsFor | None = None, *,
            now: datetime) -> list[str]:
    """Move forward until `element_id` is ready, completing steps on the way; return skipped ids."""
    _require_element(instance, element_id)
    skipped: list[str] = []
    for _ in range(MAX_JUMP_STEPS):
        ready = instance._human_ready()
        if any(t.task_spec.bpmn_id == element_id for t in ready):
            return skipped
        step = _next_step_towards(instance, ready + _waiting_catch_events(instance), element_id)
        if step is None:
            raise StepNotFound(f"Step '{element_id}' cannot be reached from the current step")
        task, path = step
        _route_along(instance, path)
        if task.has_state(TaskState.WAITING):
            _pass_waiting_event(instance, task, now=now)
        else:
            defaults = defaults_for(task.task_spec.bpmn_id) if defaults_for else None
            skip(instance, str(task.id), defaults, now=now)
        skipped.append(task.task_spec.bpmn_id)
    raise StepNotFound(f"Step '{element_id}' was not reached after {MAX_JUMP_STEPS} steps")


def override_decision(instance: Instance, gateway_id: str, target_id: str, *, now: datetime) -> bool:
    """Send the case down the branch to `target_id` at an exclusive gateway, or make a business
    rule task decide by its rule `target_id`; return whether it rewound."""
    spec = _gateway_spec(instance, gateway_id)
    workflow = instance.workflow
    if isinstance(spec, CaseflowBusinessRuleTask):
        rules = [r.id for r in spec.dmnEngine.decision_table.rules]
        if target_id not in rules:
            raise StepNotFound(f"'{target_id}' is not a rule of decision '{gateway_id}' "
                               f"(rules: {', '.join(rules)})")
        workflow.data.setdefault(DECISION_OVERRIDES_KEY, {})[spec.name] = target_id
    else:
        outputs = {_branch_target(o): o.name for o in spec.outputs}
        if target_id not in outputs:
            choices = ", ".join(sorted(outputs))
            raise StepNotFound(f"'{target_id}' does not follow decision '{gateway_id}' (choices: {choices})")
        workflow.data.setdefault(ROUTE_OVERRIDES_KEY, {})[spec.name] = outputs[target_id]
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec is spec]
    if not done:
        return False
    done.sort(key=lambda t: t.last_state_change)
    with engine_time(now):
        workflow.reset_from_task_id(done[-1].id)
        _purge_stale_waiting(workflow)
        workflow.completed = False
    instance.run_engine(now=now)
    return True


def _branch_target(output) -> str | None:
    """The element a gateway branch leads to; a task with boundary events sits behind a split."""
    if output.bpmn_id:
        return output.bpmn_id
    return next((o.bpmn_id for o in output.outputs
                 if o.bpmn_id and type(o).__name__ != "BoundaryEvent"), None)


def add_adhoc_task(instance: Instance, title: str, *, lane: str | None, blocking: bool = True,
                   now: datetime, data: Mapping[str, Any] | None = None) -> str:
    """Add a step the model does not have; a blocking one keeps the instance from completing."""
    if not title.strip():
        raise ValueError("An added task needs a title")
    if instance.is_cancelled:
        raise TaskNotReady("The instance was cancelled; no task can be added")
    task_id = new_id()
    instance.envelope["adhoc"].append({
        "id": task_id, "element_id": f"adhoc:{task_id[:8]}", "title": title.strip(), "lane": lane,
        "blocking": blocking, "open": True, "data": dict(data or {}), "created_at": now.isoformat(),
    })
    return task_id


def edit_data(instance: Instance, element_id: str, changes: Mapping[str, Any], *,
              now: datetime) -> dict[str, tuple[Any, Any]]:
    """Correct fields of the latest completed run of a step; return {field: (old, new)}.

    Only fields of that step's form may change, each checked like a submitted form. The corrected
    values reach the completed step's record and every step not yet finished (ready, waiting or
    still ahead), so later steps and decisions see them; steps already done keep what they saw.
    """
    steps = [s for s in instance.completed_steps() if s.element_id == element_id]
    if not steps:
        raise StepNotFound(f"Step '{element_id}' has not been completed, so it has no data to correct")
    step = steps[-1]
    form = instance.process.forms.get(element_id)
    fields = {f.id: f for f in (form.fields if form else ()) if not f.readonly}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, raw in changes.items():
        if key not in fields:
            errors[key] = f"'{key}' is not a field of the form of step '{step.name}'"
            continue
        try:
            cleaned[key] = clean_value(fields[key], raw)
        except ValueError as bad:
            errors[key] = str(bad)
    if not cleaned and not errors:
        errors["changes"] = "Change at least one field"
    if errors:
        raise FormInvalid(errors)
    changed = {k: (step.data.get(k), v) for k, v in cleaned.items() if step.data.get(k) != v}
    if not changed:
        raise FormInvalid({k: "This is the value already stored" for k in cleaned})
    workflow = instance.workflow
    targets = [workflow.get_task_from_id(_uuid(step.task_id))]
    targets += [t for t in workflow.get_tasks() if not t.has_state(TaskState.FINISHED_MASK)]
    for task in targets:
        task.data.update({k: new for k, (_, new) in changed.items()})
    if workflow.completed:
        workflow.data.update({k: new for k, (_, new) in changed.items()})
    return changed


def _waiting_catch_events(instance: Instance) -> list:
    """Intermediate catch events (timers, messages) the instance waits on, not boundary events."""
    return [t for t in instance.workflow.get_tasks(state=TaskState.WAITING)
            if type(t.task_spec).__name__ in ("IntermediateCatchEvent", "ReceiveTask")]


def _pass_waiting_event(instance: Instance, task, *, now: datetime) -> None:
    with engine_time(now):
        instance.workflow.event_manager.remove_task(task)
        task.complete()
        instance.events.append(EngineEvent("wait_skipped", task.task_spec.bpmn_id, task.task_spec.bpmn_name))
    instance.run_engine(now=now)


def _uuid(task_id: str):
    from uuid import UUID

    return UUID(task_id)


def _purge_stale_waiting(workflow) -> None:
    """Drop event-manager entries for tasks a reset removed (SpiffWorkflow 3.2 leaves them behind)."""
    manager = workflow.event_manager
    for task_id, task in list(manager.tasks.items()):
        alive = task.workflow.tasks.get(task_id) is task and (
            task.workflow is workflow or task.workflow in workflow.subprocesses.values())
        if not alive or not task.has_state(TaskState.WAITING):
            manager.tasks.pop(task_id, None)


def _all_specs(instance: Instance):
    yield instance.process.spec
    yield from instance.process.subprocess_specs.values()


def _require_element(instance: Instance, element_id: str) -> None:
    if element_id not in instance.process.element_ids():
        raise StepNotFound(f"The process has no step '{element_id}'")


def _gateway_spec(instance: Instance, gateway_id: str) -> RoutableExclusiveGateway:
    for spec in _all_specs(instance):
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == gateway_id:
                if not isinstance(task_spec, RoutableExclusiveGateway | CaseflowBusinessRuleTask):
                    raise StepNotFound(f"'{gateway_id}' is not an exclusive decision")
                return task_spec
    raise StepNotFound(f"The process has no decision '{gateway_id}'")


def _path(start_spec, element_id: str) -> list | None:
    """Breadth-first path of task specs from start_spec to the spec with bpmn_id element_id."""
    queue, seen = deque([[start_spec]]), {start_spec.name}
    while queue:
        path = queue.popleft()
        if getattr(path[-1], "bpmn_id", None) == element_id and len(path) > 1:
            return path
        for nxt in path[-1].outputs:
            if nxt.name not in seen:
                seen.add(nxt.name)
                queue.append(path + [nxt])
    return None


def _next_step_towards(instance: Instance, ready: list, element_id: str):
    for task in ready:
        path = _path(task.task_spec, element_id)
        if path is not None:
            return task, path
    return None


def _route_along(instance: Instance, path: list) -> None:
    """Set one-shot route overrides for the exclusive gateways on the path."""
    overrides = instance.workflow.data.setdefault(ROUTE_OVERRIDES_KEY, {})
    for spec, nxt in zip(path, path[1:]):
        if isinstance(spec, RoutableExclusiveGateway):
            overrides[spec.name] = nxt.name
