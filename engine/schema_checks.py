"""BPMN 2.0 XSD validation (SpiffWorkflow's schemas), sorted into errors and warnings.

Decision: the XSD is stricter than what runs. Real modeler output fails it in harmless ways (a link
event without a name, SpiffArena multi-instance data items sharing an id, elements in an unusual
order), so schema findings are warnings, except an element in the BPMN namespace that the standard
does not define at all (usually a misspelling): SpiffWorkflow would silently skip it, so it is an
error. Duplicate ids are left to the structural check, which words them better.
"""
from __future__ import annotations

import copy
import re
import threading
from functools import lru_cache
from pathlib import Path

import SpiffWorkflow
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from .bpmntree import Model, describe, owner, problem
from .errors import Problem
from .parser import BPMN_NS

MAX_SCHEMA_WARNINGS = 20
_LOCK = threading.Lock()  # an XMLSchema's error_log is shared by every caller
_ELEMENT = re.compile(
    r"^Element '\{(?P<ns>[^}]*)\}(?P<name>[^']+)'(, attribute '(?P<attr>[^']+)')?: ")
_EXPECTED = re.compile(r"\s*Expected is.*$", re.DOTALL)
_NS_NAME = re.compile(r"\{[^}]*\}")
_SCHEMA_DIR = Path(SpiffWorkflow.__file__).parent


@lru_cache(maxsize=1)
def bpmn_element_names() -> frozenset[str]:
    """Return every element name the BPMN 2.0 semantic schema declares."""
    xsd = etree.parse(str(_SCHEMA_DIR / "bpmn" / "parser" / "schema" / "Semantic.xsd"))
    names = xsd.getroot().xpath("//xsd:element/@name",
                                namespaces={"xsd": "http://www.w3.org/2001/XMLSchema"})
    return frozenset(str(n) for n in names)


def _schema_errors(root: etree._Element) -> tuple[list, etree._Element]:
    doc = copy.deepcopy(root)
    VALIDATOR.preprocess(doc)  # the same correlation-expression fix SpiffWorkflow applies
    with _LOCK:
        VALIDATOR.validator.validate(doc)
        errors = list(VALIDATOR.validator.error_log)
    return errors, doc


def check_schema(m: Model) -> list[Problem]:
    """Validate against the BPMN 2.0 XSD and return its findings in designer words."""
    errors, doc = _schema_errors(m.root)
    found, warnings = [], 0
    for error in errors:
        item = _schema_problem(error, doc)
        if item is None:
            continue
        if item.severity == "warning":
            warnings += 1
            if warnings > MAX_SCHEMA_WARNINGS:
                continue
        found.append(item)
    if warnings > MAX_SCHEMA_WARNINGS:
        found.append(Problem(f"{warnings - MAX_SCHEMA_WARNINGS} more places do not follow the "
                             "BPMN 2.0 schema (not listed).", severity="warning"))
    return found


def _located(error, doc: etree._Element) -> etree._Element | None:
    match = _ELEMENT.match(error.message)
    if not match:
        return None
    tag = f"{{{match['ns']}}}{match['name']}"
    for element in doc.iter(tag):
        if element.sourceline == error.line:
            return element
    return None


def _schema_problem(error, doc: etree._Element) -> Problem | None:
    message = _EXPECTED.sub("", error.message).strip()
    match = _ELEMENT.match(message)
    element = _located(error, doc)
    where = owner(element) if element is not None else None
    if "xs:ID" in message and match and match["attr"] == "id":
        value = element.get("id") if element is not None else None
        if value is not None and len(doc.xpath("//*[@id=$v]", v=value)) > 1:
            return None  # a duplicate id: reported by the structural check
    if match and match["ns"] == BPMN_NS and "not expected" in message \
            and match["name"] not in bpmn_element_names():
        return _problem(where, error.line, f"<{match['name']}> on line {error.line} is not a BPMN "
                        "element (is it misspelled?). Caseflow would silently skip it; use the "
                        "element your modeler offers, or remove it.", "error")
    if match and match["name"] == "linkEventDefinition" and match["attr"] is None \
            and "'name' is required" in message:
        label = describe(where) if where is not None else "A link event"
        return _problem(where, error.line, f"{label} has no link name. Give the throwing and the "
                        "catching link event the same name so they connect.", "warning")
    text = _NS_NAME.sub("", message).rstrip(".")
    return _problem(where, error.line, f"Line {error.line} does not follow the BPMN 2.0 schema: "
                    f"{text}. Caseflow can still run it, but other BPMN tools may refuse the "
                    "file.", "warning")


def _problem(where, line: int, message: str, severity: str) -> Problem:
    if where is None:
        return Problem(message=message, line=line, severity=severity)
    return problem(where, message, severity)
