"""Where a deviation leads: the later decisions that read a step's data, and the steps reached.

A skip or jump completes steps with default data, and a later gateway condition or script that
reads that data routes on the defaults (a checkbox left false declines an order). The names such
code reads are found with the AST, the same way the sandbox reads model code.
"""
from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from .definitions import CompiledProcess
from .runtime import Instance


@dataclass(frozen=True)
class DecisionRead:
    """A later gateway, condition or script that reads fields of a step's form."""

    element_id: str
    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Reached:
    """A step waiting for a person (or an end) after the deviation."""

    element_id: str
    name: str


@dataclass(frozen=True)
class Outcome:
    """What the case would look like right after a deviation: the steps waiting, the ends reached."""

    steps: tuple[Reached, ...]
    ends: tuple[Reached, ...]
    completed: bool


@lru_cache(maxsize=4096)
def names_read(code: str) -> frozenset[str]:
    """Return the variable names a condition or script reads (empty when it does not parse)."""
    text = code.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        try:
            tree = ast.parse(code, mode="exec")
        except SyntaxError:
            return frozenset()
    return frozenset(n.id for n in ast.walk(tree)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


def _code_of(spec) -> list[str]:
    """The model code a task spec runs: branch conditions, its script, pre- and post-script."""
    code = [cond.args[0] for cond, _ in getattr(spec, "cond_task_specs", None) or ()
            if cond is not None and getattr(cond, "args", None) and isinstance(cond.args[0], str)]
    for attr in ("script", "prescript", "postscript"):
        if isinstance(getattr(spec, attr, None), str):
            code.append(getattr(spec, attr))
    table = getattr(getattr(spec, "dmnEngine", None), "decision_table", None)
    if table is not None:  # a decision table reads its input expressions (or labels)
        code += [i.expression or i.label for i in table.inputs if i.expression or i.label]
        code += [o.text for r in table.rules for o in r.outputEntries if o.text]
    return code


def _spec_of(process: CompiledProcess, element_id: str):
    for spec in (process.spec, *process.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == element_id:
                return task_spec
    return None


def decisions_reading(process: CompiledProcess, element_id: str,
                      fields: frozenset[str] | None = None) -> list[DecisionRead]:
    """Return the gateways and scripts after `element_id` that read fields of its form."""
    form = process.forms.get(element_id)
    start = _spec_of(process, element_id)
    if fields is None:
        fields = frozenset(f.id for f in (form.fields if form else ()) if not f.readonly)
    if start is None or not fields:
        return []
    found: list[DecisionRead] = []
    queue, seen = deque(start.outputs), {start.name}
    while queue:
        spec = queue.popleft()
        if spec.name in seen:
            continue
        seen.add(spec.name)
        read = set().union(*(names_read(c) for c in _code_of(spec))) & fields
        if read:
            found.append(DecisionRead(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                                      tuple(sorted(read))))
        queue.extend(spec.outputs)
    return found


def fields_needed(process: CompiledProcess, element_id: str) -> dict[str, list[str]]:
    """Return {field: names of the later decisions reading it} for a step's form."""
    needed: dict[str, list[str]] = {}
    for decision in decisions_reading(process, element_id):
        for name in decision.fields:
            needed.setdefault(name, []).append(decision.name)
    return needed


def outcome(instance: Instance) -> Outcome:
    """Return the steps waiting and the ends reached in an instance a deviation just changed."""
    steps = tuple(Reached(t.element_id, t.name) for t in instance.ready_tasks())
    ends = tuple(Reached(e.element_id or "", e.name or e.element_id or "")
                 for e in instance.events if e.type == "end_reached")
    return Outcome(steps, ends, instance.is_completed)


def finished_elements(instance: Instance) -> dict[str, str]:
    """Return {task id: element id} of every finished task (to tell what a deviation ran through)."""
    from SpiffWorkflow.util.task import TaskState

    return {str(t.id): t.task_spec.bpmn_id for t in instance._all_tasks()
            if t.has_state(TaskState.COMPLETED) and getattr(t.task_spec, "bpmn_id", None)}


def element_name(process: CompiledProcess, element_id: str) -> str:
    """Return an element's name as the diagram shows it (its id when it has none)."""
    spec = _spec_of(process, element_id)
    return (getattr(spec, "bpmn_name", None) or element_id) if spec is not None else element_id
