"""BPMN 2.0 XSD validation (SpiffWorkflow's schemas), sorted into errors and warnings.

Decision: the XSD is stricter than what runs. Real modeler output fails it in harmless ways (a link
event without a name, SpiffArena multi-instance data items sharing an id, elements in an unusual
order), so schema findings are warnings, except an element in the BPMN namespace that the standard
does not define at all (usually a misspelling): SpiffWorkflow would silently skip it, so it is an
error. Duplicate ids are left to the structural check, which words them better.

Cost: one pass indexes the copied tree by (tag, line) and counts ids; each finding is then located
in constant time, and only the first MAX_PER_KIND findings of a kind (the schema's message with
the names taken out) are worded, the rest counted into one "more like these" line.
"""
from __future__ import annotations

import copy
import re
import threading
from collections import Counter
from functools import lru_cache
from pathlib import Path

import SpiffWorkflow
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from .bpmntree import Model, describe, owner, problem
from .errors import Problem
from .parser import BPMN_NS

MAX_PER_KIND = 20
_LOCK = threading.Lock()  # an XMLSchema's error_log is shared by every caller
_ELEMENT = re.compile(
    r"^Element '\{(?P<ns>[^}]*)\}(?P<name>[^']+)'(, attribute '(?P<attr>[^']+)')?: ")
_EXPECTED = re.compile(r"\s*Expected is.*$", re.DOTALL)
_NS_NAME = re.compile(r"\{[^}]*\}")
_QUOTED = re.compile(r"'[^']*'")
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
    index = _Index(doc)
    found: list[Problem] = []
    seen: Counter[str] = Counter()
    severity_of: dict[str, str] = {}
    for error in errors:
        kind = _kind(error.message)
        if seen[kind] >= MAX_PER_KIND:
            seen[kind] += 1  # counted, not worded: a flood costs no lookups
            continue
        item = _schema_problem(error, index)
        if item is None:
            continue
        seen[kind] += 1
        severity_of[kind] = item.severity
        found.append(item)
    for kind, count in seen.items():
        if count > MAX_PER_KIND:
            found.append(Problem(f"{count - MAX_PER_KIND} more places like the ones above do not "
                                 "follow the BPMN 2.0 schema (not listed).",
                                 severity=severity_of[kind]))
    return found


def _kind(message: str) -> str:
    """Return what makes findings alike: the schema's message without the names in it."""
    unknown = "unknown element: " if _unknown_element(_ELEMENT.match(message), message) else ""
    return unknown + _QUOTED.sub("''", _EXPECTED.sub("", message))


def _unknown_element(match: re.Match | None, message: str) -> bool:
    """Tell whether the schema found an element the BPMN standard does not define at all."""
    return bool(match and match["ns"] == BPMN_NS and "not expected" in message
                and match["name"] not in bpmn_element_names())


class _Index:
    """The copied tree's elements by (tag, line) and the count of each id, built in one pass."""

    def __init__(self, doc: etree._Element):
        self.at: dict[tuple[str, int], etree._Element] = {}
        self.ids: Counter[str] = Counter()
        for element in doc.iter():
            if not isinstance(element.tag, str):
                continue
            self.at.setdefault((element.tag, element.sourceline), element)
            eid = element.get("id")
            if eid is not None:
                self.ids[eid] += 1

    def located(self, error) -> etree._Element | None:
        match = _ELEMENT.match(error.message)
        if not match:
            return None
        return self.at.get((f"{{{match['ns']}}}{match['name']}", error.line))


def _schema_problem(error, index: _Index) -> Problem | None:
    message = _EXPECTED.sub("", error.message).strip()
    match = _ELEMENT.match(message)
    element = index.located(error)
    where = owner(element) if element is not None else None
    if "xs:ID" in message and match and match["attr"] == "id":
        value = element.get("id") if element is not None else None
        if value is not None and index.ids[value] > 1:
            return None  # a duplicate id: reported by the structural check
    if _unknown_element(match, message):
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
