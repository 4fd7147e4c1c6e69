"""The businessRuleTask as Caseflow runs it: which decision it calls, where the result goes, the
agent's override, and what the audit log learns.

- The decision is named as any modeler writes it: `camunda:decisionRef` (Camunda 7),
  `zeebe:calledDecision decisionId` (Camunda 8) or `spiffworkflow:calledDecisionId` (SpiffArena).
- Without a result variable the outputs are merged into the case data (SpiffWorkflow's way). With
  `camunda:resultVariable` the result is stored under that name as Camunda 7 maps it
  (`camunda:mapDecisionResult`: singleEntry, singleResult, collectEntries, resultList by default);
  with `zeebe:calledDecision resultVariable` as Camunda 8 does (one output: its value; several: a
  dict; COLLECT: a list).
- When no rule matches, every output is None (a list for COLLECT), so a gateway after it routes
  on a value the designer can see, instead of failing on a missing name.
- An agent's override names a rule: the task applies that rule's outputs instead of evaluating the
  table, once, and says so in its event.
"""
from __future__ import annotations

import json
from typing import Any

from lxml import etree
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser as SpiffRuleTaskParser
from SpiffWorkflow.spiff.serializer.task_spec import BusinessRuleTaskConverter
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask
from SpiffWorkflow.util.deep_merge import DeepMerge

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DECISION_OVERRIDES_KEY = "_caseflow_decision_overrides"
EVALUATION_KEY = "caseflow_decision"  # in task.internal_data: what the last run decided


def decision_ref(node: etree._Element) -> str | None:
    """Return the decision id a businessRuleTask element calls, however the modeler wrote it."""
    ref = node.get(f"{{{CAMUNDA}}}decisionRef")
    if ref:
        return ref.strip()
    called = node.find(f"{{*}}extensionElements/{{{ZEEBE}}}calledDecision")
    if called is not None and called.get("decisionId"):
        return called.get("decisionId").strip()
    spiff = node.find(f"{{*}}extensionElements/{{{SPIFF}}}calledDecisionId")
    if spiff is not None and (spiff.text or "").strip():
        return spiff.text.strip()
    return None


def result_mapping(node: etree._Element) -> tuple[str | None, str | None]:
    """Return (result variable, mapping) of a businessRuleTask element."""
    variable = node.get(f"{{{CAMUNDA}}}resultVariable")
    if variable:
        return variable.strip(), (node.get(f"{{{CAMUNDA}}}mapDecisionResult") or "resultList")
    called = node.find(f"{{*}}extensionElements/{{{ZEEBE}}}calledDecision")
    if called is not None and called.get("resultVariable"):
        return called.get("resultVariable").strip(), "zeebe"
    return None, None


class CaseflowBusinessRuleTask(BusinessRuleTask):
    """A business rule task that records its inputs and outcome and obeys a one-shot override."""

    def __init__(self, wf_spec, bpmn_id, dmnEngine, decision_id=None, decision_name=None,
                 result_variable=None, result_mapping=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, dmnEngine, **kwargs)
        self.decision_id = decision_id
        self.decision_name = decision_name
        self.result_variable = result_variable
        self.result_mapping = result_mapping

    def _run_hook(self, my_task):
        table = self.dmnEngine.decision_table
        overrides = my_task.workflow.top_workflow.data.get(DECISION_OVERRIDES_KEY) or {}
        chosen = overrides.pop(self.name, None)
        if not overrides:
            my_task.workflow.top_workflow.data.pop(DECISION_OVERRIDES_KEY, None)
        if chosen is not None:
            rules = [r for r in table.rules if r.id == chosen]
        else:
            rules = self.dmnEngine.decide(my_task)
            if table.hit_policy != "COLLECT":
                rules = rules[:1]  # UNIQUE, FIRST and ANY decide by one rule
        outcome = self._decision_outcome(my_task, rules)
        if self.result_variable:
            my_task.data[self.result_variable] = self._decision_mapped(rules, outcome)
        else:
            my_task.data = DeepMerge.merge(my_task.data, outcome)
        my_task.internal_data[EVALUATION_KEY] = _plain({
            "decision_id": self.decision_id or table.id,
            "decision_name": self.decision_name or table.name,
            "inputs": self._decision_inputs(my_task), "rules": [r.id for r in rules],
            "rows": [r.row_number for r in rules], "outcome": outcome,
            "overridden": chosen is not None})
        return super(BusinessRuleTaskMixin, self)._run_hook(my_task)  # past the mixin's own run

    def _decision_outcome(self, my_task, rules) -> dict:
        outputs = [o.name or o.label for o in self.dmnEngine.decision_table.outputs]
        if self.dmnEngine.decision_table.hit_policy == "COLLECT":
            result: dict[str, Any] = {name: [] for name in outputs}
            for rule in rules:
                for key, value in rule.output_as_dict(my_task).items():
                    result.setdefault(key, []).append(value)
            return result
        if not rules:
            return {name: None for name in outputs if "." not in name}
        return dict(rules[0].output_as_dict(my_task))

    def _decision_mapped(self, rules, outcome: dict) -> Any:
        collect = self.dmnEngine.decision_table.hit_policy == "COLLECT"
        names = list(outcome)
        rows = ([dict(zip(names, values)) for values in zip(*outcome.values())] if collect
                else ([outcome] if rules else []))
        mapping = self.result_mapping
        if mapping == "zeebe":
            if collect:
                return [row[names[0]] for row in rows] if len(names) == 1 else rows
            return outcome.get(names[0]) if len(names) == 1 else (outcome if rules else None)
        if mapping == "singleEntry":
            return rows[0][names[0]] if rows and names else None
        if mapping == "singleResult":
            return rows[0] if rows else None
        if mapping == "collectEntries":
            return [row[names[0]] for row in rows] if names else []
        return rows

    def _decision_inputs(self, my_task) -> dict:
        values = {}
        engine = my_task.workflow.script_engine
        for column in self.dmnEngine.decision_table.inputs:
            label = column.label or column.expression or column.id
            try:
                values[label] = (engine.evaluate(my_task, column.expression) if column.expression
                                 else my_task.data.get(column.label))
            except Exception:  # noqa: BLE001 - the table itself already ran (or failed) on these
                values[label] = None
        return values


def _plain(value: Any) -> Any:
    """JSON-ready copy of what a decision saw and decided (dates become text)."""
    return json.loads(json.dumps(value, default=str))


def rule_words(table, rule) -> str:
    """Words for one rule of a decision table: its row, what it decides and its note."""
    outcome = ", ".join(f"{o.output.name or o.output.label} = {o.text or 'empty'}"
                        for o in rule.outputEntries)
    note = f" ({rule.description.strip()})" if (rule.description or "").strip() else ""
    return f"Rule {rule.row_number}: {outcome}{note}"


def decision_choices(process) -> dict[str, list[tuple[str, str]]]:
    """Element id -> [(rule id, words)] for every business rule task of a compiled process and
    the processes it calls: what an agent may choose when overriding a decision."""
    found: dict[str, list[tuple[str, str]]] = {}
    for spec in (process.spec, *process.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, CaseflowBusinessRuleTask):
                table = task_spec.dmnEngine.decision_table
                found[task_spec.bpmn_id] = [(r.id, rule_words(table, r)) for r in table.rules]
    return found


class CaseflowBusinessRuleTaskParser(SpiffRuleTaskParser):
    """Parse a businessRuleTask whose decision is named the Camunda 7, Camunda 8 or Spiff way."""

    def create_task(self):
        ref = self.get_decision_ref(self.node)
        extensions = self.parse_extensions()
        variable, mapping = result_mapping(self.node)
        engine = self.process_parser.parser.get_engine(ref, self.node)  # parses the decision
        decision = self.process_parser.parser.dmn_parsers[ref].decision
        return CaseflowBusinessRuleTask(
            self.spec, self.bpmn_id, dmnEngine=engine, decision_id=ref,
            decision_name=decision.name or None, result_variable=variable, result_mapping=mapping,
            prescript=extensions.get("preScript"), postscript=extensions.get("postScript"),
            **self.bpmn_attributes)

    @staticmethod
    def get_decision_ref(node):
        return decision_ref(node)


class CaseflowBusinessRuleTaskConverter(BusinessRuleTaskConverter):
    """Store the decision id and result mapping with the spec (the table itself as Spiff does)."""

    def to_dict(self, spec):
        return {**super().to_dict(spec), "decision_id": spec.decision_id,
                "decision_name": spec.decision_name, "result_variable": spec.result_variable, "result_mapping": spec.result_mapping}


__all__ = ["CaseflowBusinessRuleTask", "CaseflowBusinessRuleTaskConverter",
           "CaseflowBusinessRuleTaskParser", "DECISION_OVERRIDES_KEY", "EVALUATION_KEY",
           "decision_choices", "decision_ref", "result_mapping", "rule_words"]
