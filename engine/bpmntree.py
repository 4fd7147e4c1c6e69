"""A read-only index of a parsed BPMN tree that the validation checks share.

Decisions: a process counts as executable exactly as SpiffWorkflow decides it (isExecutable
missing or "true"); the checks look at the executable processes and every process of the file they
call ("runnable" processes), so a damaged non-executable pool does not block an upload.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator

from lxml import etree

from .errors import Problem
from .parser import BPMN_NS, is_black_box

SCOPES = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_KINDS = {"subProcess": "Subprocess", "adHocSubProcess": "Ad-hoc subprocess",
          "dataStoreReference": "Data store reference",
          "dataObjectReference": "Data object reference"}


def bpmn(tag: str) -> str:
    """Return the Clark name of a BPMN model element."""
    return f"{{{BPMN_NS}}}{tag}"


def local(element: etree._Element) -> str:
    """Return an element's tag without its namespace."""
    return etree.QName(element).localname


def kind(element: etree._Element) -> str:
    """Return a designer word for an element's type: userTask -> 'User task'."""
    if local(element) in _KINDS:
        return _KINDS[local(element)]
    words = _CAMEL.sub(" ", local(element)).lower()
    return words[:1].upper() + words[1:]


def describe(element: etree._Element) -> str:
    """Name an element the way a designer sees it: User task 'Approve' (Task_1)."""
    eid, name = element.get("id"), element_name(element)
    if name and eid:
        return f"{kind(element)} '{name}' ({eid})"
    return f"{kind(element)} {eid or 'without id'}"


def element_name(element: etree._Element) -> str | None:
    """Return an element's name with line breaks and runs of spaces collapsed."""
    name = element.get("name")
    return " ".join(name.split()) if name else None


def problem(element: etree._Element, message: str, severity: str = "error") -> Problem:
    """Return a Problem located at an element (its id, name and line)."""
    return Problem(message=message, element_id=element.get("id"),
                   element_name=element_name(element), line=element.sourceline, severity=severity)


def owner(element: etree._Element) -> etree._Element:
    """Return the flow element (task, event, flow, subprocess) that contains an element."""
    current = element
    while current is not None:
        parent = current.getparent()
        if current.get("id") and (parent is None or _is_scope(parent) or _is_scope(current)):
            return current
        current = parent
    return element


def _is_scope(element: etree._Element) -> bool:
    return _is_bpmn(element) and local(element) in SCOPES


def scope_of(element: etree._Element) -> etree._Element | None:
    """Return the process or subprocess that directly contains an element."""
    parent = element.getparent()
    while parent is not None and not _is_scope(parent):
        parent = parent.getparent()
    return parent


def _is_bpmn(element: etree._Element) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith(f"{{{BPMN_NS}}}")


def is_executable(process: etree._Element) -> bool:
    """Decide executability as SpiffWorkflow does."""
    return process.get("isExecutable", "true") == "true"


@dataclass
class Model:
    """The parsed tree plus lookups; `unsafe` collects process ids SpiffWorkflow must not parse."""

    root: etree._Element
    available: frozenset[str] = frozenset()
    decisions: dict = field(default_factory=dict)  # decision id -> DMN bytes (upload + deployed)
    forms: Any = None  # engine.formjs.FormLibrary of the upload and the deployed forms
    unsafe: set[str] = field(default_factory=set)

    @cached_property
    def by_id(self) -> dict[str, etree._Element]:
        found: dict[str, etree._Element] = {}
        for element in self.root.iter():
            if isinstance(element.tag, str) and element.get("id"):
                # BPMN elements win over extension elements (form fields) with the same id.
                if _is_bpmn(element) or element.get("id") not in found:
                    found[element.get("id")] = element
        return found

    @cached_property
    def processes(self) -> list[etree._Element]:
        return list(self.root.iter(bpmn("process")))

    @cached_property
    def process_ids(self) -> set[str]:
        return {p.get("id") for p in self.processes if p.get("id")}

    @cached_property
    def executable(self) -> list[etree._Element]:
        return [p for p in self.processes
                if p.get("id") and is_executable(p) and not is_black_box(p)]

    @cached_property
    def runnable(self) -> list[etree._Element]:
        """Executable processes and every process of this file they call, directly or not."""
        by_id = {p.get("id"): p for p in self.processes}
        seen: dict[str, etree._Element] = {}
        pending = [p.get("id") for p in self.executable]
        while pending:
            pid = pending.pop(0)
            if pid in seen or pid not in by_id:
                continue
            seen[pid] = by_id[pid]
            pending.extend(self.calls(by_id[pid]))
        return list(seen.values())

    def calls(self, process: etree._Element) -> list[str]:
        """Return the process ids a process calls through call activities, in document order."""
        return [c.get("calledElement") for c in process.iter(bpmn("callActivity"))
                if c.get("calledElement")]

    def iter(self, *tags: str) -> Iterator[etree._Element]:
        """Yield BPMN elements with these local names inside runnable processes."""
        names = [bpmn(t) for t in tags]
        for process in self.runnable:
            yield from process.iter(*names)

    def top_process(self, element: etree._Element) -> etree._Element | None:
        """Return the bpmn:process an element belongs to."""
        current = element
        while current is not None and current.tag != bpmn("process"):
            current = current.getparent()
        return current
