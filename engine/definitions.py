"""Compiling BPMN bytes into runnable process specs, cached per content hash."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Mapping

from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition

from .dmn import add_decisions
from .dmn_task import decision_ref
from .errors import InvalidBpmn, StepNotFound
from .formjs import FormLibrary, form_reference, task_form
from .forms import Form, parse_form
from .parser import BPMN_NS, new_parser, prepare_for_spiff
from .serializer import spec_from_json, spec_to_json
from .timer_starts import TimerStart, timer_starts


@dataclass(frozen=True)
class CompiledProcess:
    """One executable process of a deployed file: shared, read-only spec objects."""

    process_id: str
    name: str | None
    spec: Any = field(repr=False)
    subprocess_specs: dict = field(repr=False)
    forms: dict[str, Form] = field(default_factory=dict, repr=False)  # element id -> form

    def spec_json(self) -> str:
        """Serialize the specs (and the user task forms) for storage with the definition version."""
        return spec_to_json(self.spec, self.subprocess_specs,
                            {k: f.as_dict() for k, f in self.forms.items()})

    @cached_property
    def has_external_tasks(self) -> bool:
        """Whether any task of the process (or a process it calls) waits for an external worker."""
        from .external import ExternalServiceTask

        return any(isinstance(task, ExternalServiceTask)
                   for spec in (self.spec, *self.subprocess_specs.values())
                   for task in spec.task_specs.values())

    @cached_property
    def start_form(self) -> Form | None:
        """The form of the process's first plain start event, filled in by whoever opens a case.

        A case opened by hand starts there (SpiffWorkflow runs the first plain start event in
        the file's order), so a form on a later one is never asked for (engine.start_forms)."""
        for task in _start_events(self.spec.start):
            if isinstance(getattr(task, "event_definition", None), NoneEventDefinition):
                return self.forms.get(task.bpmn_id)
        return None

    @property
    def timer_starts(self) -> list[TimerStart]:
        """Return the process's timer start events (element id, expression as written)."""
        return timer_starts(self.spec)

    def element_ids(self) -> set[str]:
        """Return the BPMN ids of every element in this process and the processes it calls."""
        ids = {ts.bpmn_id for ts in self.spec.task_specs.values() if getattr(ts, "bpmn_id", None)}
        for sub in self.subprocess_specs.values():
            ids |= {ts.bpmn_id for ts in sub.task_specs.values() if getattr(ts, "bpmn_id", None)}
        return ids


def _start_events(start) -> list:
    """The process's own start events: the start task's outputs, through a start split."""
    found = []
    for task in start.outputs:
        if getattr(task, "bpmn_id", None) is None and type(task).__name__ == "StartEventSplit":
            found.extend(task.outputs)
        else:
            found.append(task)
    return found


def content_hash(data: bytes) -> str:
    """Return the sha256 hex digest that identifies a definition's bytes."""
    return hashlib.sha256(data).hexdigest()


def resources_used(data: bytes, filename: str, forms: FormLibrary) -> tuple[list[str], list[str]]:
    """Return (decision ids, form ids of `forms`) that a BPMN file's tasks use."""
    from .xmlsafe import parse_bpmn_xml

    root = parse_bpmn_xml(data, filename)
    return used_decisions([root]), used_forms([root], forms)


def deployment_hash(data: bytes, filename: str, decisions: Mapping[str, bytes],
                    forms: FormLibrary) -> str:
    """The content hash of a deployment: the BPMN bytes, and the decision and form files it uses
    (a file that uses none hashes as its bytes alone)."""
    used_d, used_f = resources_used(data, filename, forms)
    parts = [content_hash(decisions[d]) for d in used_d if d in decisions]
    parts += [content_hash(forms.by_id[f].text.encode("utf-8")) for f in used_f]
    if not parts:
        return content_hash(data)
    return content_hash(data + b"\0" + "\n".join(parts).encode("ascii"))


def compile_processes(data: bytes, filename: str = "upload.bpmn",
                      called: Mapping[str, bytes] | None = None,
                      decisions: Mapping[str, bytes] | None = None,
                      forms: FormLibrary | None = None) -> dict[str, CompiledProcess]:
    """Validate and compile every executable process in the file; raise InvalidBpmn on errors.

    `called` maps process ids to the bytes of already-deployed files, so a call activity may call
    a process that lives in another file. `decisions` (decision id -> DMN bytes) and `forms` hold
    the decision tables and Camunda forms the file may use; what it uses is compiled into the
    specs, so a version keeps the tables and forms it was deployed with.
    """
    from .validate import validate_bpmn  # late import: validation builds on this module's parser
    from .xmlsafe import parse_bpmn_xml

    decisions, library = dict(decisions or {}), forms or FormLibrary()
    report = validate_bpmn(data, filename, available_processes=set(called or {}),
                           decisions=decisions, forms=library)
    if not report.valid:
        raise InvalidBpmn([p for p in report.problems if p.severity == "error"])
    root = parse_bpmn_xml(data, filename)
    prepare_for_spiff(root)
    parser = new_parser()
    parser.add_bpmn_xml(root, filename)
    roots = [root, *_add_called_files(parser, root, called or {})]
    add_decisions(parser, decisions, used_decisions(roots))
    forms = _forms(roots, library)
    compiled = {}
    for pid in parser.get_process_ids():
        if pid not in _process_ids(root):
            continue
        compiled[pid] = CompiledProcess(
            process_id=pid,
            name=_process_name(root, pid),
            spec=parser.get_spec(pid),
            subprocess_specs=parser.get_subprocess_specs(pid),
            forms=forms,
        )
    return compiled


_WITH_FORMS = (f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}startEvent")


def _forms(roots, library: FormLibrary) -> dict[str, Form]:
    forms = {}
    for root in roots:
        for task in root.iter(*_WITH_FORMS):
            form = parse_form(task) or task_form(task, library)
            if form is not None:
                forms[task.get("id")] = form
    return forms


def used_decisions(roots) -> list[str]:
    """The decision ids the business rule tasks of these files evaluate, in document order."""
    refs = (decision_ref(t) for root in roots for t in root.iter(f"{{{BPMN_NS}}}businessRuleTask"))
    return list(dict.fromkeys(r for r in refs if r))


def used_forms(roots, library: FormLibrary) -> list[str]:
    """The ids of the library's forms that the user tasks and start events of these files show."""
    found = []
    for root in roots:
        for task in root.iter(*_WITH_FORMS):
            ref = form_reference(task, library)
            if ref is not None and ref.form is not None and ref.form in library.files:
                found.append(ref.form.id)
    return list(dict.fromkeys(found))


def _process_ids(root) -> set[str]:
    return {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")}


def _process_name(root, pid: str) -> str | None:
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") == pid:
            return process.get("name")
    return None


def _called_ids(root) -> set[str]:
    return {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")} - {None}


def _add_called_files(parser, root, called: Mapping[str, bytes]) -> list:
    """Add the deployed files that define processes this file calls; return their XML roots."""
    from .parser import camunda_result_variables
    from .xmlsafe import parse_bpmn_xml

    have, seen_files, roots = _process_ids(root), set(), []
    received_as = camunda_result_variables(root)
    pending = list(_called_ids(root) - have)
    while pending:
        pid = pending.pop()
        if pid in have or pid not in called or called[pid] in seen_files:
            continue
        seen_files.add(called[pid])
        other = parse_bpmn_xml(called[pid], f"{pid}.bpmn")
        prepare_for_spiff(other, received_as)
        parser.add_bpmn_xml(other, f"{pid}.bpmn")
        roots.append(other)
        have |= _process_ids(other)
        pending.extend(_called_ids(other) - have)
    return roots


@lru_cache(maxsize=256)
def process_from_spec_json(process_id: str, spec_json: str) -> CompiledProcess:
    """Restore a compiled process from stored spec JSON (cached: specs are immutable)."""
    spec, subprocess_specs, forms = spec_from_json(spec_json)
    return CompiledProcess(process_id, spec.description or None, spec, subprocess_specs,
                           {k: Form.from_dict(v) for k, v in forms.items()})


def compile_process(data: bytes, process_id: str, filename: str = "upload.bpmn") -> CompiledProcess:
    """Compile one process of a file by id."""
    processes = compile_processes(data, filename)
    if process_id not in processes:
        raise StepNotFound(f"The file has no executable process '{process_id}'")
    return processes[process_id]


__all__ = ["CompiledProcess", "compile_processes", "deployment_hash", "resources_used", "compile_process", "content_hash", "process_from_spec_json"]
