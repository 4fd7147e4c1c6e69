"""Bounded history: drop task-tree levels far behind every live task so a long-running or looping
instance costs the same per step after 10 or 10,000 steps.

SpiffWorkflow keeps every task ever created in one tree and re-serializes all of it on every save.
Caseflow's audit log keeps the history people need, so the engine only keeps the last `KEEP_LEVELS`
levels above the oldest live task; going back further than that is refused as "not completed".
"""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

KEEP_LEVELS = 32


def _ancestors(task) -> list:
    chain = []
    while task is not None:
        chain.append(task)
        task = task.parent
    chain.reverse()
    return chain


def common_ancestors(tasks: list) -> list:
    """Return the root-first chain of tasks that are ancestors of (or are) every given task."""
    common = _ancestors(tasks[0])
    for task in tasks[1:]:
        chain = _ancestors(task)
        size = 0
        while size < min(len(common), len(chain)) and common[size] is chain[size]:
            size += 1
        common = common[:size]
    return common


def compact_history(workflow, keep_levels: int = KEEP_LEVELS) -> int:
    """Re-root the workflow's task tree `keep_levels` above the live tasks; return tasks dropped."""
    live = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return 0
    enough = keep_levels + max(1, keep_levels // 4)  # compact in batches, not on every step
    if len(_ancestors(live[0])) < enough:  # the common chain is no longer than any one task's
        return 0
    common = common_ancestors(live)
    cut = len(common) - keep_levels
    if cut < max(1, keep_levels // 4):
        return 0
    return len(reroot(workflow, common[cut]))


def reroot(workflow, new_root) -> list:
    """Make `new_root` the root of the task tree, dropping every task outside its subtree;
    return the ids dropped."""
    keep = {t.id for t in new_root}  # iterating a task walks its whole subtree
    dropped = [tid for tid in workflow.tasks if tid not in keep]
    data = dict(new_root.data)
    for tid in dropped:
        workflow.tasks.pop(tid)
    _drop_orphan_subprocesses(workflow)
    new_root._parent = None
    new_root.data = data
    workflow.task_tree = new_root
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
    return dropped


def _drop_orphan_subprocesses(workflow) -> None:
    """Forget finished subprocesses whose calling task was dropped (nested ones too)."""
    changed = True
    while changed:
        changed = False
        for sp_id in list(workflow.subprocesses):
            parent_alive = sp_id in workflow.tasks or any(
                sp_id in sp.tasks for other_id, sp in workflow.subprocesses.items() if other_id != sp_id)
            if not parent_alive:
                workflow.subprocesses.pop(sp_id)
                changed = True
