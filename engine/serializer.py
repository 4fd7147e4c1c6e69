"""Workflow state serialization with the spec stored once per definition version.

Instance state is SpiffWorkflow's serializer output minus `spec` and `subprocess_specs`; on load the
workflow is rebuilt against spec objects compiled once per definition version and shared.
"""
from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import ExclusiveGatewayConverter

from .dmn_task import CaseflowBusinessRuleTask, CaseflowBusinessRuleTaskConverter
from .event_specs import CaseflowStartEvent, CaseflowStartEventConverter
from .external import ExternalServiceTask, ExternalServiceTaskConverter
from .specs import RoutableExclusiveGateway

SERIALIZER_VERSION = SPIFF_SERIALIZER_VERSION


class SpecOnceWorkflowConverter(BpmnWorkflowConverter):
    """Writes a workflow without its specs and restores it against specs handed in by the caller."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            return super().from_dict(dct)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _config() -> dict:
    config = dict(SPIFF_CONFIG)
    config[RoutableExclusiveGateway] = ExclusiveGatewayConverter
    config[CaseflowStartEvent] = CaseflowStartEventConverter
    config[ExternalServiceTask] = ExternalServiceTaskConverter
    config[CaseflowBusinessRuleTask] = CaseflowBusinessRuleTaskConverter
    config[BpmnWorkflow] = SpecOnceWorkflowConverter
    return config


_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config()))


def spec_to_json(spec, subprocess_specs: dict, forms: dict) -> str:
    """Serialize a process spec, its called processes and its forms, once per definition version."""
    registry = _SERIALIZER.registry
    return json.dumps({
        "spec": registry.convert(spec),
        "subprocess_specs": {k: registry.convert(v) for k, v in subprocess_specs.items()},
        "forms": forms,
        "serializer_version": SERIALIZER_VERSION,
    })


def spec_from_json(text: str) -> tuple[Any, dict, dict]:
    """Restore (spec, subprocess_specs, forms) stored by spec_to_json."""
    dct = json.loads(text)
    registry = _SERIALIZER.registry
    subprocess_specs = {k: registry.restore(v) for k, v in dct["subprocess_specs"].items()}
    return registry.restore(dct["spec"]), subprocess_specs, dct.get("forms", {})


def dump_state(workflow: BpmnWorkflow, extra: dict) -> str:
    """Return JSON of the workflow's state without its specs, beside Caseflow's own `extra` keys."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = {"serializer_version": SERIALIZER_VERSION, "workflow": _SERIALIZER.to_dict(workflow),
               **extra}
        return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def workflow_from_dict(dct: dict, spec, subprocess_specs: dict, version: str) -> BpmnWorkflow:
    """Rebuild a workflow from state written by workflow_to_dict (the dict is consumed)."""
    if version != SERIALIZER_VERSION and version in MIGRATIONS:
        dct["spec"] = {"task_specs": {}}  # migrations expect the key; specs are current already
        MIGRATIONS[version](dct)
        dct.pop("spec", None)
    return _SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
