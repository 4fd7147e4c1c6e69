"""Move a running instance onto another version's spec (the engine half of version migration).

Decision: migrate in place with SpiffWorkflow 3.2's own machinery (`SpiffWorkflow.bpmn.util.diff`:
`diff_workflow` aligns the old task specs with the new ones by BPMN id, `migrate_workflow` swaps
`workflow.spec`, re-points every aligned task at its new spec and resets the READY/WAITING branches
so what follows them is predicted from the new model). Replaying the case on the new spec
(start, then jump to the same steps) was the fallback; it is not needed, and in-place keeps what
replay would lose: task ids (so open work items, their claims and due dates survive), the
completed history that `go_back` uses, workflow data and Caseflow's envelope (ad-hoc tasks, inbox).

Rules:
- An instance can move when every live step (ready, waiting or started: user tasks, catch
  events, boundary events, running subprocesses) has an element with the same id and the same
  kind in the target. Otherwise the reasons say which step and why.
- Finished history whose element the target no longer has is cut off (the task tree is re-rooted
  below it, as engine.compaction does); the audit log keeps that history. If such history is not
  behind every live step (e.g. on a parallel branch still joining), the instance cannot move.
- The ready steps keep their data; waiting timers re-arm from the moment of the migration.
- The result is checked by a serialization round trip against the target before it is accepted.
"""
from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from .bpmntree import _CAMEL
from .clock import engine_time
from .compaction import _ancestors, common_ancestors, reroot
from .definitions import CompiledProcess
from .deviations import _purge_stale_waiting
from .errors import EngineError
from .runtime import Instance
from .serializer import _SERIALIZER, workflow_from_dict

LIVE_MASK = TaskState.READY | TaskState.WAITING | TaskState.STARTED


class CannotMigrate(EngineError):
    """The instance cannot move to the target version; `reasons` says why, step by step."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons) or "The case cannot move to that version")


@dataclass(frozen=True)
class MigrationCheck:
    """Whether an instance can move, and why not; `steps` are the live element ids."""

    can_move: bool
    reasons: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def _words(type_name: str) -> str:
    words = _CAMEL.sub(" ", type_name).lower()
    return words[:1].upper() + words[1:]


def _label(spec) -> str:
    name = getattr(spec, "bpmn_name", None)
    eid = getattr(spec, "bpmn_id", None) or spec.name
    return f"'{' '.join(name.split())}' ({eid})" if name else f"{eid}"


def _target_specs(target: CompiledProcess) -> dict[str, list]:
    """Map element id -> task specs (a multi-instance task has two specs under one id)."""
    specs: dict[str, list] = {}
    for spec in (target.spec, *target.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None):
                specs.setdefault(task_spec.bpmn_id, []).append(task_spec)
    return specs


def _in_event_subprocess(task) -> bool:
    """A running event subprocess: SpiffWorkflow wires its spec up only when the event is caught."""
    spec = task.task_spec
    return (task.has_state(TaskState.STARTED) and hasattr(spec, "spec") and spec.name != "Start"
            and all(inp is task.workflow.spec.start for inp in spec.inputs))


def _live_tasks(instance: Instance) -> list:
    return [t for t in instance._all_tasks() if t.has_state(LIVE_MASK)
            and getattr(t.task_spec, "bpmn_id", None)]


def check(instance: Instance, target: CompiledProcess, *, now: datetime) -> MigrationCheck:
    """Say whether `instance` can move to `target` (every live step exists there, same kind)."""
    if instance.is_cancelled:
        return MigrationCheck(False, ["The case was cancelled"])
    if instance.workflow.completed:
        return MigrationCheck(False, ["The process has already finished"])
    specs = _target_specs(target)
    reasons, steps = [], []
    for task in _live_tasks(instance):
        spec = task.task_spec
        steps.append(spec.bpmn_id)
        here = type(spec).__name__
        there = [type(s).__name__ for s in specs.get(spec.bpmn_id, ())] or None
        state = "waiting on" if task.has_state(TaskState.READY | TaskState.WAITING) else "inside"
        if _in_event_subprocess(task):
            reasons.append(f"It is inside the event subprocess {_label(spec)}, which cannot move "
                           "while it runs; try again when it has finished")
        elif there is None:
            reasons.append(f"It is {state} step {_label(spec)}, which the new version removed")
        elif here not in there:
            reasons.append(f"It is {state} step {_label(spec)}, a {_words(here).lower()} here "
                           f"but a {_words(there[-1]).lower()} in the new version")
    if not reasons:
        try:
            _migrated_copy(instance, target, now)
        except CannotMigrate as err:
            reasons.extend(err.reasons)
    return MigrationCheck(not reasons, list(dict.fromkeys(reasons)), list(dict.fromkeys(steps)))


def _migrated_copy(instance: Instance, target: CompiledProcess, now: datetime) -> Instance:
    """Migrate a copy restored from the instance's own state (the instance is left untouched)."""
    from .runtime import load

    copy = load(instance.process, instance.dump(), time_limit=instance.time_limit)
    return _migrate_workflow(copy, target, now)


def migrate(instance: Instance, target: CompiledProcess, *, now: datetime) -> Instance:
    """Move the instance onto `target` in place and return it; raise CannotMigrate.

    A dry run on a copy comes first, so a refused instance is left as it was; should the real
    move still fail, the caller discards the instance (the case layer rolls its transaction back).
    """
    result = check(instance, target, now=now)
    if not result.can_move:
        raise CannotMigrate(result.reasons)
    moved = _migrate_workflow(instance, target, now)
    moved.run_engine(now=now)
    _verify(moved)
    return moved


def _migrate_workflow(instance: Instance, target: CompiledProcess, now: datetime) -> Instance:
    with engine_time(now):
        return _swap_spec(instance, target)


def _swap_spec(instance: Instance, target: CompiledProcess) -> Instance:
    workflow = instance.workflow
    kept = {t.id: (deepcopy(t.data), deepcopy(t.internal_data)) for t in instance._all_tasks()
            if t.has_state(TaskState.READY | TaskState.WAITING)}
    try:
        top, subs = diff_workflow(_SERIALIZER.registry, workflow, target.spec,
                                  target.subprocess_specs)
    except Exception as err:  # noqa: BLE001 - SpiffWorkflow's diff raises plain errors
        raise CannotMigrate([f"The versions could not be aligned ({type(err).__name__}: {err})"]) from None
    _cut_removed_history(workflow, top.removed)
    migrate_workflow(top, workflow, target.spec)
    _repredict_started(workflow)
    for sp_id, sp_diff in subs.items():
        sub = workflow.subprocesses.get(sp_id)
        if sub is None:
            continue
        new_spec = target.subprocess_specs.get(sub.spec.name)
        if sp_diff is None or new_spec is None:
            if sub.completed:
                continue
            raise CannotMigrate([(f"It is inside subprocess '{sub.spec.name}', which the new "
                                 "version removed")])
        _cut_removed_history(sub, sp_diff.removed)
        migrate_workflow(sp_diff, sub, new_spec)
        _repredict_started(sub)
    workflow.subprocess_specs = target.subprocess_specs
    for task in instance._all_tasks():
        if task.id in kept and task.has_state(TaskState.READY | TaskState.WAITING | TaskState.FUTURE):
            task.data, internal = kept[task.id]
            task.internal_data = {**internal, **task.internal_data}
    _purge_stale_waiting(workflow)
    instance.process = target
    _verify(instance)
    return instance


def _repredict_started(workflow) -> None:
    """Predict what follows a running (STARTED) task, e.g. a call activity, from the new spec.

    migrate_workflow resets only READY and WAITING branches; the steps predicted after a running
    subprocess would otherwise still follow the old model.
    """
    for task in workflow.get_tasks(state=TaskState.STARTED, skip_subprocesses=True):
        if not all(t.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE) for t in _descendants(task)):
            continue
        task._drop_children(force=True)
        task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE | TaskState.STARTED)


def _descendants(task) -> list:
    """The tasks below `task` in its own workflow (a subprocess's tasks are not included)."""
    found, stack = [], list(task.children)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(child.children)
    return found


def _cut_removed_history(workflow, removed: list) -> None:
    """Re-root the tree below finished tasks whose element is gone; refuse if one is not behind."""
    finished = [t for t in removed if t.id in workflow.tasks and t.has_state(TaskState.FINISHED_MASK)]
    if not finished:
        return
    live = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return
    common = common_ancestors(live)
    positions = {t.id: i for i, t in enumerate(common)}
    blocking = [t for t in finished if t.id not in positions]
    # Finished tasks under a removed one (e.g. on a branch that ended) go with it.
    blocking = [t for t in blocking if not any(a.id in {f.id for f in finished} and a.id in positions
                                               for a in _ancestors(t))]
    if blocking:
        raise CannotMigrate([f"Step {_label(t.task_spec)} is done on a branch that is still "
                             "running, and the new version removed it" for t in blocking])
    cut = max(positions[t.id] for t in finished if t.id in positions) + 1
    if cut >= len(common):
        raise CannotMigrate(["The steps the case is on depend on steps the new version removed"])
    reroot(workflow, common[cut])


def _verify(instance: Instance) -> None:
    """Refuse a result that would not load again against the target spec."""
    for task in instance._all_tasks():
        spec = task.task_spec
        owner = task.workflow.spec
        if owner.task_specs.get(spec.name) is not spec:
            raise CannotMigrate([f"Step {_label(spec)} has no counterpart in the new version"])
    try:
        state = json.loads(instance.dump())
        workflow_from_dict(state["workflow"], instance.process.spec,
                           instance.process.subprocess_specs, state["serializer_version"])
    except CannotMigrate:
        raise
    except Exception as err:  # noqa: BLE001 - any failure here means the move is unsafe
        raise CannotMigrate([f"The moved case could not be saved ({type(err).__name__}: {err})"]) from None


__all__ = ["CannotMigrate", "MigrationCheck", "check", "migrate"]
