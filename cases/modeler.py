"""Saving a drawing from the designer's in-browser modeler as a new draft version (issue 18).

The edited XML goes through exactly what an upload goes through (`definitions.upload_file`: safe
XML, validation, the process id rules, one commit), under the file name of the version it was
drawn from, so it becomes the next version of the same process. A drawing that no longer defines
the process it was opened from is refused before anything is stored: it would otherwise be stored
as some other process.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine.errors import InvalidBpmn, Problem
from engine.store import DefinitionVersion
from engine.xmlsafe import MAX_BYTES, parse_bpmn_xml

from . import definitions as defs


def lost_process(version: DefinitionVersion) -> Problem:
    """The refusal of a drawing that no longer has the process it was opened from."""
    return Problem(f"The drawing no longer has the process '{version.process_id}'. A new version "
                   "keeps its process id: set it back in the properties of the process (or its "
                   "pool), or upload the file as a new process instead.")


def not_executable(version: DefinitionVersion) -> Problem:
    """The refusal of a drawing whose process was marked not executable."""
    return Problem(f"The process '{version.process_id}' is marked not executable in the drawing, "
                   "so there would be nothing to run. Tick 'Executable' in the properties of the "
                   "process (or its pool).", element_id=version.process_id)


def _base_problem(data: bytes, base: DefinitionVersion, max_bytes: int | None) -> Problem | None:
    """Why the drawing cannot be a version of `base` (None: it can, or it is not readable BPMN,
    which the upload's own checks then explain)."""
    try:
        root = parse_bpmn_xml(data, max_bytes=max_bytes or MAX_BYTES)
    except InvalidBpmn:
        return None
    ns = "{http://www.omg.org/spec/BPMN/20100524/MODEL}process"
    process = next((p for p in root.iter(ns) if p.get("id") == base.process_id), None)
    if process is None:
        return lost_process(base)
    if process.get("isExecutable", "true") != "true":
        return not_executable(base)
    return None


def save_edit(session: Session, *, base_id: int, data: bytes, actor: str, now: datetime,
              max_bytes: int | None = None) -> defs.UploadResult:
    """Validate an edited drawing of version `base_id` and store it as a draft; commit once.

    Nothing is stored when the drawing has an error or lost the process it was drawn from.
    """
    base = defs.get_version(session, base_id)
    problem = _base_problem(data, base, max_bytes)
    if problem is not None:
        return defs.UploadResult([problem], [], [], [], [])
    return defs.upload_file(session, data, filename=base.filename, actor=actor, now=now,
                            max_bytes=max_bytes)
