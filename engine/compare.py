"""Compare two versions of a BPMN file element by element, the way a designer reviews a change.

Elements are matched by their BPMN id (the only identity that survives a modeler round trip):
an id only on the left was removed, an id only on the right was added, and an id on both sides
is changed when its name, type, lane, form fields, caseflow SLA, condition, flow ends, called
process or boundary attachment differ. Processes themselves are compared too (name, SLA, phase).
Diagram-only edits (moving shapes) are not changes. Both files are read with the hardened parser
(engine.xmlsafe); nothing here runs the model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .metadata import FlowInfo, NodeInfo, ProcessInfo, read_metadata
from .xmlsafe import parse_bpmn_xml

ATTRIBUTE_WORDS = {
    "name": "name", "type": "type", "lane": "lane", "form": "form fields", "sla": "caseflow SLA",
    "condition": "condition", "source": "from", "target": "to", "is_default": "default flow",
    "called_element": "called process", "attached_to": "attached to", "phase": "caseflow phase",
    "process": "process",
}


@dataclass(frozen=True)
class AttributeChange:
    """One attribute that differs; `before`/`after` are short texts for people."""

    attribute: str
    before: str | None
    after: str | None

    @property
    def label(self) -> str:
        return ATTRIBUTE_WORDS.get(self.attribute, self.attribute)

    def describe(self) -> str:
        return f"{self.label}: {self.before or '(none)'} → {self.after or '(none)'}"

    def as_dict(self) -> dict:
        return {"attribute": self.attribute, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ElementDiff:
    """An element added, removed or changed between the two versions."""

    id: str
    status: str  # "added", "removed" or "changed"
    type: str
    name: str | None
    process_id: str
    changes: tuple[AttributeChange, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id

    def as_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "type": self.type, "name": self.name,
                "process_id": self.process_id, "changes": [c.as_dict() for c in self.changes]}


@dataclass(frozen=True)
class Comparison:
    """Everything that differs between a left (older) and a right (newer) file."""

    added: tuple[ElementDiff, ...] = ()
    removed: tuple[ElementDiff, ...] = ()
    changed: tuple[ElementDiff, ...] = ()
    element_types: dict = field(default_factory=dict, repr=False)  # id -> (left type, right type)

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def left_markers(self) -> dict[str, list[str]]:
        """Markers for the older diagram: removed and changed elements."""
        markers = {d.id: ["removed"] for d in self.removed}
        markers.update({d.id: ["changed"] for d in self.changed})
        return markers

    def right_markers(self) -> dict[str, list[str]]:
        """Markers for the newer diagram: added and changed elements."""
        markers = {d.id: ["added"] for d in self.added}
        markers.update({d.id: ["changed"] for d in self.changed})
        return markers

    def as_dict(self) -> dict:
        return {"added": [d.as_dict() for d in self.added],
                "removed": [d.as_dict() for d in self.removed],
                "changed": [d.as_dict() for d in self.changed]}


def _form_text(node: NodeInfo) -> str | None:
    if node.form is None or not node.form.fields:
        return None
    return ", ".join(f"{f.id} ({f.type}{', required' if f.required else ''})" for f in node.form.fields)


def _form_change(left: NodeInfo, right: NodeInfo) -> AttributeChange | None:
    before = {f.id: f.as_dict() for f in (left.form.fields if left.form else ())}
    after = {f.id: f.as_dict() for f in (right.form.fields if right.form else ())}
    if before == after and list(before) == list(after):
        return None
    parts = []
    added = [k for k in after if k not in before]
    removed = [k for k in before if k not in after]
    edited = [k for k in after if k in before and after[k] != before[k]]
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    for key in edited:
        what = [name for name in after[key] if after[key][name] != before[key].get(name)]
        parts.append(f"{key} changed ({', '.join(what)})")
    if not parts:
        parts.append("fields reordered")
    return AttributeChange("form", _form_text(left), f"{_form_text(right) or '(none)'} — "
                           + "; ".join(parts))


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


def _node_changes(left: NodeInfo, right: NodeInfo, lp: str, rp: str) -> list[AttributeChange]:
    changes = []
    for attr in ("name", "type", "lane", "sla", "called_element", "attached_to"):
        a, b = _text(getattr(left, attr)), _text(getattr(right, attr))
        if a != b:
            changes.append(AttributeChange(attr, a, b))
    form = _form_change(left, right)
    if form is not None:
        changes.append(form)
    if lp != rp:
        changes.append(AttributeChange("process", lp, rp))
    return changes


def _flow_changes(left: FlowInfo, right: FlowInfo, lp: str, rp: str) -> list[AttributeChange]:
    changes = []
    for attr in ("name", "condition", "source", "target", "is_default"):
        a, b = _text(getattr(left, attr)), _text(getattr(right, attr))
        if a != b:
            changes.append(AttributeChange(attr, a, b))
    if lp != rp:
        changes.append(AttributeChange("process", lp, rp))
    return changes


def _process_changes(left: ProcessInfo, right: ProcessInfo) -> list[AttributeChange]:
    changes = []
    for attr in ("name", "sla", "phase"):
        a, b = _text(getattr(left, attr)), _text(getattr(right, attr))
        if a != b:
            changes.append(AttributeChange(attr, a, b))
    return changes


def _index(processes) -> dict[str, tuple[str, str, Any]]:
    """Map id -> (kind of entry, process id, info) for processes, nodes and flows."""
    found: dict[str, tuple[str, str, Any]] = {}
    for process in processes:
        found.setdefault(process.id, ("process", process.id, process))
        for node in process.nodes:
            found.setdefault(node.id, ("node", process.id, node))
        for flow in process.flows:
            found.setdefault(flow.id, ("flow", process.id, flow))
    return found


def _type(entry: tuple[str, str, Any]) -> str:
    kind, _pid, info = entry
    if kind == "node":
        return info.type
    return "sequenceFlow" if kind == "flow" else "process"


def compare_metadata(left: tuple[ProcessInfo, ...], right: tuple[ProcessInfo, ...]) -> Comparison:
    """Compare the processes read from two files (see the module docstring)."""
    a, b = _index(left), _index(right)
    added, removed, changed = [], [], []
    for eid, entry in b.items():
        if eid not in a:
            added.append(ElementDiff(eid, "added", _type(entry), _name(entry), entry[1]))
    for eid, entry in a.items():
        if eid not in b:
            removed.append(ElementDiff(eid, "removed", _type(entry), _name(entry), entry[1]))
            continue
        other = b[eid]
        if entry[0] != other[0]:
            changes = [AttributeChange("type", _type(entry), _type(other))]
        elif entry[0] == "node":
            changes = _node_changes(entry[2], other[2], entry[1], other[1])
        elif entry[0] == "flow":
            changes = _flow_changes(entry[2], other[2], entry[1], other[1])
        else:
            changes = _process_changes(entry[2], other[2])
        if changes:
            changed.append(ElementDiff(eid, "changed", _type(other), _name(other) or _name(entry),
                                       other[1], tuple(changes)))
    types = {eid: (_type(a[eid]) if eid in a else None, _type(b[eid]) if eid in b else None)
             for eid in a.keys() | b.keys()}
    return Comparison(tuple(added), tuple(removed), tuple(changed), types)


def _name(entry: tuple[str, str, Any]) -> str | None:
    return _text(entry[2].name)


def compare_bpmn(left: bytes, right: bytes, *, left_name: str = "left.bpmn",
                 right_name: str = "right.bpmn") -> Comparison:
    """Compare two BPMN files by element id; raise InvalidBpmn if either cannot be read."""
    left_meta = read_metadata(parse_bpmn_xml(left, left_name))
    right_meta = read_metadata(parse_bpmn_xml(right, right_name))
    return compare_metadata(left_meta.processes, right_meta.processes)


__all__ = ["AttributeChange", "Comparison", "ElementDiff", "compare_bpmn", "compare_metadata"]
