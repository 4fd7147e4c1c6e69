"""Caseflow's own task specs, registered with the parser and the serializer.

- `RoutableExclusiveGateway`: an exclusive gateway that obeys a one-shot route override stored in the
  top workflow's data, so a supervisor can send a case down another branch without editing business data.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.defaults import ExclusiveGateway
from SpiffWorkflow.util.task import TaskState

ROUTE_OVERRIDES_KEY = "_caseflow_route_overrides"


class RoutableExclusiveGateway(ExclusiveGateway):
    """Exclusive gateway that takes an agent's chosen branch once, then evaluates normally again."""

    def _run_hook(self, my_task):
        overrides = my_task.workflow.top_workflow.data.get(ROUTE_OVERRIDES_KEY) or {}
        target_name = overrides.pop(self.name, None)
        if target_name is None:
            return super()._run_hook(my_task)
        if not overrides:
            my_task.workflow.top_workflow.data.pop(ROUTE_OVERRIDES_KEY, None)
        output = my_task.workflow.spec.get_task_spec_from_name(target_name)
        my_task._sync_children([output], TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True
