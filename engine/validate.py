"""Validate an uploaded BPMN file and report every problem at once, in designer words.

Order: hardened XML parsing (engine.xmlsafe), the BPMN 2.0 schema (engine.schema_checks), Caseflow's
structural and code checks on the tree (engine.checks, engine.code_checks) with the form, SLA and
phase checks of engine.metadata, then SpiffWorkflow's own parser (engine.spiff_checks) for what only
it knows. Nothing here raises: a file that cannot be read
gives a report with valid=False.

A file that floods one check (thousands of service tasks, misspelled elements) gets the first
MAX_PER_KIND findings of each check and severity, then one line counting the rest: the report a
designer reads stays short, and no upload makes the report itself cost more than the checks.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from .bpmntree import Model, owner
from .checks import STRUCTURE_CHECKS
from .code_checks import CODE_CHECKS
from .errors import InvalidBpmn, Problem
from .formjs import FormLibrary, form_reference_problems
from .id_checks import ID_CHECKS
from .metadata import metadata_problems
from .schema_checks import MAX_PER_KIND, check_schema
from .start_forms import start_form_problems
from .spiff_checks import check_with_spiff, merge_spiff
from .xmlsafe import parse_bpmn_xml


@dataclass(frozen=True)
class ValidationReport:
    """The verdict on one file: valid when no problem is an error."""

    valid: bool
    processes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Return the report as JSON-ready data."""
        return {
            "valid": self.valid,
            "processes": list(self.processes),
            "problems": [
                {"element_id": p.element_id, "element_name": p.element_name, "line": p.line,
                 "message": p.message, "severity": p.severity}
                for p in self.problems
            ],
        }

    @property
    def errors(self) -> list[Problem]:
        """Return only the problems that block deployment."""
        return [p for p in self.problems if p.severity == "error"]


def validate_bpmn(data: bytes, filename: str = "upload.bpmn", *,
                  available_processes: Iterable[str] = (),
                  decisions: Mapping[str, bytes] | None = None,
                  forms: FormLibrary | None = None) -> ValidationReport:
    """Check BPMN bytes for everything that would stop Caseflow running them; never raise.

    `available_processes` names processes already deployed from other files, which call
    activities in this file may call; `decisions` (decision id -> DMN bytes) and `forms` are the
    decision tables and Camunda forms of the upload and the deployed ones.
    """
    try:
        root = parse_bpmn_xml(data, filename)
    except InvalidBpmn as err:
        return _report([], list(err.problems))
    library = forms or FormLibrary()
    model = Model(root, available=frozenset(available_processes or ()),
                  decisions=dict(decisions or {}), forms=library)
    processes = [p.get("id") for p in model.executable]
    structural: list[Problem] = []
    for check in (*STRUCTURE_CHECKS, *ID_CHECKS, *CODE_CHECKS):
        structural.extend(_capped(_guarded(check.__name__, lambda c=check: c(model))))
    structural.extend(_capped(_guarded("metadata_problems",
                                       lambda: _soften_empty_enums(root, metadata_problems(root)))))
    structural.extend(_capped(_guarded("form_reference_problems",
                                       lambda: form_reference_problems(root, library))))
    structural.extend(_capped(_guarded("start_form_problems",
                                       lambda: start_form_problems(root, library))))
    schema = _guarded("check_schema", lambda: check_schema(model))  # capped per kind inside
    spiff = _guarded("check_with_spiff", lambda: check_with_spiff(model, filename))
    flagged = {p.element_id for p in structural if p.severity == "error" and p.element_id}
    schema = [p for p in schema if p.severity == "error" or p.element_id not in flagged]
    problems = structural + schema
    problems += merge_spiff(problems, [s for s in spiff if isinstance(s, tuple)])
    problems += _capped([p for p in spiff if isinstance(p, Problem)])
    return _report(processes, problems)


_EMPTY_ENUM = re.compile(r"^Form field '(?P<field>[^']+)' is an enum without any values")


def _soften_empty_enums(root, problems: list[Problem]) -> list[Problem]:
    """An optional enum field without values blocks nothing (the agent leaves it empty): a warning.

    Camunda Modeler writes such fields as placeholders; a required one stays an error, because
    no agent could ever complete the form.
    """
    softened = []
    for p in problems:
        match = _EMPTY_ENUM.match(p.message)
        if match and p.severity == "error" and not _required(root, p.element_id, match["field"]):
            p = replace(p, severity="warning", message=(
                f"Form field '{match['field']}' is an enum without any values, so the agent can "
                "only leave it empty. Add the values to choose from, or remove the field."))
        softened.append(p)
    return softened


def _required(root, element_id: str | None, field_id: str) -> bool:
    for field in root.iter("{http://camunda.org/schema/1.0/bpmn}formField"):
        if field.get("id") != field_id or owner(field).get("id") != element_id:
            continue
        return any((c.get("name") or "").strip().lower() == "required" for c in field.iter(
            "{http://camunda.org/schema/1.0/bpmn}constraint"))
    return False


def _capped(found: list[Problem]) -> list[Problem]:
    """Keep the first MAX_PER_KIND problems of each severity; count the rest in one line each."""
    kept: list[Problem] = []
    seen: Counter[str] = Counter()
    for item in found:
        seen[item.severity] += 1
        if seen[item.severity] <= MAX_PER_KIND:
            kept.append(item)
    for severity, count in seen.items():
        if count > MAX_PER_KIND:
            kept.append(Problem(f"{count - MAX_PER_KIND} more {severity}s like the ones above "
                                "(not listed). Fix those and check the file again to see the "
                                "rest.", severity=severity))
    return kept


def _guarded(name: str, run) -> list:
    """Run one check; a crash inside it becomes a problem instead of a traceback."""
    try:
        return list(run())
    except RecursionError:
        return [Problem("The file is too deeply nested for Caseflow to check. Split the model into "
                        "smaller processes.")]
    except Exception as err:  # noqa: BLE001 - validation must answer, whatever the input
        return [Problem(f"Caseflow could not finish checking this file ({name} failed with "
                        f"{type(err).__name__}: {err}). Please report this with the file.")]


def _report(processes: list[str], problems: list[Problem]) -> ValidationReport:
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda p: (p.severity != "error", p.line or 0))
    valid = not any(p.severity == "error" for p in unique)
    return ValidationReport(valid=valid, processes=processes, problems=unique)


__all__ = ["MAX_PER_KIND", "ValidationReport", "validate_bpmn"]
