"""DMN decision tables: read, check and hand them to SpiffWorkflow's parser; run them in the sandbox.

Decisions (see README "Decision tables (DMN)"):
- A DMN file may hold several decisions (Camunda Modeler writes a requirements graph); SpiffWorkflow's
  DMN parser takes one decision per file, so each decision is cut out into a tree of its own.
- Only decision tables run. Literal expressions, requirements between decisions (a table that
  reads another decision's result), and the hit policies PRIORITY, OUTPUT ORDER, RULE ORDER and
  COLLECT with an aggregation are refused by name. UNIQUE, FIRST, ANY and COLLECT run.
- Entries are Python, as in SpiffWorkflow: an input entry is a test such as `"gold"`, `> 100`,
  `? in ("a", "b")` or `-`/empty for "any"; an output entry an expression. Everything is compiled
  with the sandbox's rules at upload, so what passes runs.
- The table is compiled into the process version's spec (SpiffWorkflow serializes it with the
  businessRuleTask), so a running case keeps evaluating the table it started with.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree

from .errors import InvalidBpmn, Problem
from .sandbox import check_model_code
from .xmlsafe import parse_dmn_xml

SUPPORTED_HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")
_NAME_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_QUESTION = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # as SpiffWorkflow's DMNEngine


@dataclass(frozen=True)
class DecisionRule:
    """One row of a decision table: its tests per input and its outputs, as written."""

    id: str
    row: int
    tests: tuple[str, ...]
    outputs: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Decision:
    """One decision table of a DMN file, for display, checks and the override dialog."""

    id: str
    name: str
    filename: str
    hit_policy: str
    inputs: tuple[str, ...]  # the label (or expression) of each input column
    input_expressions: tuple[str, ...]
    outputs: tuple[str, ...]  # the variable each output column writes
    rules: tuple[DecisionRule, ...] = field(default=())
    line: int | None = None

    @property
    def title(self) -> str:
        return self.name or self.id

    def rule(self, rule_id: str) -> DecisionRule:
        """Return the rule with this id (KeyError if there is none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def rule_label(self, rule: DecisionRule) -> str:
        """Words for one rule in a choice list: its row and what it decides."""
        outcome = ", ".join(f"{name} = {text or 'empty'}"
                            for name, text in zip(self.outputs, rule.outputs))
        note = f" ({rule.description.strip()})" if rule.description and rule.description.strip() else ""
        return f"Rule {rule.row}: {outcome}{note}"


def _ns(root: etree._Element) -> str:
    return etree.QName(root).namespace or ""


def _children(element: etree._Element, ns: str, tag: str) -> list[etree._Element]:
    return element.findall(f"{{{ns}}}{tag}")


def _text(element: etree._Element | None, ns: str) -> str:
    if element is None:
        return ""
    node = element.find(f"{{{ns}}}text")
    return (node.text or "").strip() if node is not None else ""


def _decision_elements(root: etree._Element) -> list[etree._Element]:
    return _children(root, _ns(root), "decision")


def _output_name(output: etree._Element) -> str:
    return output.get("name") or output.get("label") or ""


def _read(decision: etree._Element, filename: str) -> Decision:
    ns = _ns(decision)
    table = decision.find(f"{{{ns}}}decisionTable")
    inputs = _children(table, ns, "input") if table is not None else []
    outputs = _children(table, ns, "output") if table is not None else []
    rules = []
    for row, rule in enumerate(_children(table, ns, "rule") if table is not None else [], 1):
        description = rule.find(f"{{{ns}}}description")
        rules.append(DecisionRule(
            rule.get("id") or f"row-{row}", row,
            tuple(_entry_text(e, ns) for e in _children(rule, ns, "inputEntry")),
            tuple(_entry_text(e, ns) for e in _children(rule, ns, "outputEntry")),
            (description.text or "") if description is not None else ""))
    return Decision(
        id=decision.get("id") or "", name=decision.get("name") or "", filename=filename,
        hit_policy=((table.get("hitPolicy") if table is not None else None) or "UNIQUE").upper(),
        inputs=tuple(i.get("label") or _text(i.find(f"{{{ns}}}inputExpression"), ns) or i.get("id", "")
                     for i in inputs),
        input_expressions=tuple(_text(i.find(f"{{{ns}}}inputExpression"), ns) for i in inputs),
        outputs=tuple(_output_name(o) for o in outputs), rules=tuple(rules),
        line=decision.sourceline)


def _entry_text(entry: etree._Element, ns: str) -> str:
    node = entry.find(f"{{{ns}}}text")
    return (node.text or "").strip() if node is not None else ""


def read_decisions(data: bytes, filename: str = "upload.dmn") -> list[Decision]:
    """Return the decisions of a DMN file (raise InvalidBpmn when it cannot be read as DMN)."""
    root = parse_dmn_xml(data, filename)
    return [_read(d, filename) for d in _decision_elements(root)]


# ---- checks -----------------------------------------------------------------------------------
def _where(element: etree._Element, message: str, severity: str = "error") -> Problem:
    return Problem(message, element_id=element.get("id"), element_name=element.get("name") or
                   element.get("label"), line=element.sourceline, severity=severity)


def dmn_problems(data: bytes, filename: str = "upload.dmn") -> list[Problem]:
    """List everything that would stop Caseflow running a DMN file's decisions; never raise."""
    try:
        root = parse_dmn_xml(data, filename)
    except InvalidBpmn as err:
        return list(err.problems)
    decisions = _decision_elements(root)
    if not decisions:
        return [Problem(f"{filename} has no decision. Add a decision table in your modeler.",
                        line=root.sourceline)]
    found: list[Problem] = []
    for decision in decisions:
        found.extend(_decision_problems(decision))
    return found


def _decision_problems(decision: etree._Element) -> Iterator[Problem]:
    ns = _ns(decision)
    label = f"Decision '{decision.get('name') or decision.get('id')}'"
    if not decision.get("id"):
        yield _where(decision, f"{label} has no id; give it one in your modeler.")
    table = decision.find(f"{{{ns}}}decisionTable")
    if table is None:
        yield _where(decision, f"{label} is not a decision table (a literal expression or an "
                               "empty decision). Caseflow runs decision tables only; turn it into "
                               "a table in your modeler.")
        return
    for requirement in _children(decision, ns, "informationRequirement"):
        if requirement.find(f"{{{ns}}}requiredDecision") is not None:
            yield _where(decision, f"{label} requires the result of another decision first. "
                                   "Caseflow evaluates one table per business rule task: add a "
                                   "business rule task for the required decision before this "
                                   "one, and remove the requirement.")
            break
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in SUPPORTED_HIT_POLICIES:
        yield _where(decision, f"{label} uses the hit policy {policy}, which Caseflow does not "
                               f"run. Use one of: {', '.join(SUPPORTED_HIT_POLICIES)}.")
    if table.get("aggregation"):
        yield _where(decision, f"{label} collects with the aggregation "
                               f"{table.get('aggregation')}, which Caseflow does not run. Collect "
                               "without an aggregation (a list) and sum it in a script task.")
    yield from _column_problems(decision, table, label)
    yield from _rule_problems(table, label)


def _column_problems(decision, table, label) -> Iterator[Problem]:
    ns = _ns(table)
    outputs = _children(table, ns, "output")
    if not outputs:
        yield _where(decision, f"{label} has no output column, so it decides nothing. Add one.")
    for output in outputs:
        name = _output_name(output)
        if not _NAME_PATH.match(name):
            yield _where(output, f"{label}: the output column '{name}' needs a name that is a "
                                 "variable name (letters, digits, _ and dots), e.g. eligible. "
                                 "Set the output name in your modeler.")
    for column in _children(table, ns, "input"):
        expression = _text(column.find(f"{{{ns}}}inputExpression"), ns)
        shown = column.get("label") or column.get("id")
        if not expression:
            if _NAME_PATH.match(column.get("label") or ""):
                yield _where(column, f"{label}: the input '{shown}' has no expression; Caseflow "
                                     f"reads the variable '{shown}' named by its label.", "warning")
            else:
                yield _where(column, f"{label}: the input '{shown}' has no expression. Enter the "
                                     "variable or Python expression it reads, e.g. amount.")
            continue
        reason = check_model_code(expression, "eval")
        if reason:
            yield _where(column, f"{label}: the input expression '{expression}' is not valid "
                                 f"Caseflow Python: {reason}.")


def _rule_problems(table, label) -> Iterator[Problem]:
    ns = _ns(table)
    inputs, outputs = len(_children(table, ns, "input")), len(_children(table, ns, "output"))
    for row, rule in enumerate(_children(table, ns, "rule"), 1):
        tests, results = _children(rule, ns, "inputEntry"), _children(rule, ns, "outputEntry")
        if len(tests) != inputs or len(results) != outputs:
            yield _where(rule, f"{label}, rule {row}: it has {len(tests)} input and "
                               f"{len(results)} output entries, but the table has {inputs} inputs "
                               f"and {outputs} outputs. Save the table again in your modeler.")
            continue
        for entry in tests:
            reason = test_issue(_entry_text(entry, ns))
            if reason:
                yield _where(entry, f"{label}, rule {row}: the test '{_entry_text(entry, ns)}' "
                                    f"{reason}")
        for entry in results:
            text = _entry_text(entry, ns)
            reason = check_model_code(text, "eval") if text else None
            if reason:
                yield _where(entry, f"{label}, rule {row}: the output '{text}' is not valid "
                                    f"Caseflow Python: {reason}.")


def test_issue(text: str) -> str | None:
    """Why an input entry cannot be evaluated (None when it can), as SpiffWorkflow reads it."""
    if not text or text == "-":
        return None
    if text.startswith("[") and ".." in text or text.startswith("]") and ".." in text:
        return ("is a FEEL range; write it in Python with ?, e.g. 1 <= ? <= 5 for [1..5].")
    if _QUESTION.search(text):
        reason = check_model_code(_QUESTION.sub("dmninputexpr", text), "eval")
    elif check_model_code(text, "eval") is None:
        return None
    else:
        reason = check_model_code(f"dmninputexpr {text}", "eval")
    if reason:
        return (f"is not a test Caseflow can evaluate ({reason}). Write a value such as \"gold\" "
                "or 100, a comparison such as > 100, or use ? for the input, e.g. ? in ('a', 'b').")
    return None


# ---- handing decisions to SpiffWorkflow --------------------------------------------------------
def decision_ids(data: bytes, filename: str = "upload.dmn") -> list[str]:
    """Return the ids of the decisions a DMN file defines."""
    return [d.get("id") for d in _decision_elements(parse_dmn_xml(data, filename)) if d.get("id")]


def single_decision(root: etree._Element, decision_id: str) -> etree._Element:
    """Return a copy of a DMN tree that keeps only one decision (SpiffWorkflow reads the first)."""
    tree = copy.deepcopy(root)
    for decision in _decision_elements(tree):
        if decision.get("id") != decision_id:
            tree.remove(decision)
    return tree


def add_decisions(parser, library: Mapping[str, bytes], needed: Iterable[str]) -> None:
    """Give the parser the decisions a file's business rule tasks call, from `library`
    (decision id -> DMN file bytes); unknown ids are left for validation to report."""
    roots: dict[bytes, etree._Element] = {}
    for decision_id in dict.fromkeys(needed):
        data = library.get(decision_id)
        if data is None:
            continue
        if data not in roots:
            roots[data] = parse_dmn_xml(data)
        parser.add_dmn_xml(single_decision(roots[data], decision_id), f"{decision_id}.dmn")


__all__ = ["Decision", "DecisionRule", "SUPPORTED_HIT_POLICIES", "add_decisions", "decision_ids",
           "dmn_problems", "read_decisions", "single_decision", "test_issue"]
