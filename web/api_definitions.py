"""The JSON API of process definitions: one version, its BPMN file, and uploads as drafts.

Everyone with a token may read definitions (as everyone signed in may read the designer pages);
uploading is for designers and admins and runs the designer page's checks (cases/definitions.py:
upload_file): nothing is stored when the file has an error, and every problem comes back with its
element id, name and line. An upload only ever stores drafts; activating stays a designer's
decision on the page or with `caseflow activate`. Same authentication and refusal shape as
web/api.py.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Path, Request, UploadFile
from fastapi.responses import Response

from cases import definitions as defs
from cases.start_forms import active_start_form, example_data, version_start_form
from engine.clock import utcnow
from engine.store import DefinitionVersion

from .api import REFUSALS, Caller, _iso, _run
from .api_models import CASE_PROCESS_ID_LEN, Refusal, form_json
from .api_resources import DefinitionWithForm, StartFormOut, UploadOut
from .designer import _clean_filename
from .inputs import PathId, Text
from .security import SessionDep

router = APIRouter()
XML = "application/xml"


def definition_json(version: DefinitionVersion, counts: dict[int, tuple[int, int]]) -> dict:
    """A definition version as the API shows it, with its case counts."""
    total, running = counts.get(version.id, (0, 0))
    return {"id": version.id, "process_id": version.process_id, "version": version.version,
            "name": version.name, "status": version.status,
            "content_hash": version.content_hash, "created_at": _iso(version.created_at),
            "filename": version.filename, "uploaded_by": version.uploaded_by,
            "activated_at": _iso(version.activated_at), "retired_at": _iso(version.retired_at),
            "cases": total, "open_cases": running,
            "bpmn_url": f"/api/definitions/{version.id}/bpmn"}


@router.get("/definitions/{definition_id}", response_model=DefinitionWithForm,
            responses=REFUSALS)
def api_definition(definition_id: PathId, user: Caller, session: SessionDep) -> dict:
    """One definition version: status, file, who uploaded it, its cases, and the start form a
    case of it is opened with (null when it has none)."""
    version = _run(defs.get_version, session, definition_id)
    return {**definition_json(version, defs.case_counts(session)),
            "start_form": form_json(version_start_form(version))}


ProcessId = Annotated[Text(CASE_PROCESS_ID_LEN, 1), Path(description="The BPMN process id")]


@router.get("/processes/{process_id}/start-form", response_model=StartFormOut,
            responses=REFUSALS)
def api_start_form(process_id: ProcessId, user: Caller, session: SessionDep) -> dict:
    """What to send as `data` to POST /api/cases for this process: the start form of its
    active version, field by field (types, limits, choices, help text), and an example `data`
    it accepts. A 422 from POST /api/cases names each field this form refused."""
    version, form = _run(active_start_form, session, process_id)
    return {"process_id": version.process_id, "definition_id": version.id,
            "version": version.version, "name": version.name,
            "fields": form_json(form) or [], "example_data": example_data(form, utcnow().date())}


@router.get("/definitions/{definition_id}/bpmn", response_class=Response, responses={
    **REFUSALS, 200: {"content": {XML: {"schema": {"type": "string"}}},
                      "description": "The BPMN file as uploaded"}})
def api_definition_bpmn(definition_id: PathId, user: Caller, session: SessionDep) -> Response:
    """The version's BPMN XML, as uploaded (open it in a modeler, or draw it with bpmn-js)."""
    version = _run(defs.get_version, session, definition_id)
    return Response(version.bpmn_xml.encode("utf-8"), media_type=XML, headers={
        "Content-Disposition": f'attachment; filename="{_safe_name(version)}"'})


def _safe_name(version: DefinitionVersion) -> str:
    stem = version.filename.rsplit(".", 1)[0] or version.process_id
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem) + ".bpmn"


def _upload_refused(status: int, message: str, problems=(), warnings=()) -> HTTPException:
    listed = [p.as_dict() for p in (*problems, *warnings)]
    return HTTPException(status_code=status, detail={
        "message": message, "errors": {"file": message}, "problems": listed})


@router.post("/definitions", status_code=201, response_model=UploadOut, responses={
    **REFUSALS, 413: {"model": Refusal, "description": "The file is larger than the limit"}})
def api_upload(request: Request, user: Caller, session: SessionDep,
               file: Annotated[UploadFile | None, File(
                   description="A .bpmn file from Camunda Modeler, bpmn.io or SpiffArena")] = None
               ) -> dict:
    """Store a BPMN file's processes as draft versions (designers and admins); 422 lists every
    problem with its element id, name and line, and nothing is stored."""
    if user.role not in defs.DESIGNER_ROLES:
        raise HTTPException(status_code=403, detail={
            "message": "Only a designer or an admin may upload process definitions"})
    filename = _clean_filename(file.filename if file else "")
    if file is None or not filename:
        raise HTTPException(status_code=422, detail={
            "message": "Send the BPMN file as the multipart field 'file', with its file name",
            "errors": {"file": "Send a .bpmn file"}})
    limit = request.app.state.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise _upload_refused(413, f"The file is larger than {limit} bytes, the limit for one "
                                   "BPMN file; nothing was stored")
    result = defs.upload_file(session, data, filename=filename, actor=user.username,
                              now=utcnow(), max_bytes=limit)
    if not result.stored:
        count = len(result.problems)
        raise _upload_refused(422, f"{filename} was not stored: {count} problem"
                                   f"{'s' if count != 1 else ''} to fix (see problems)",
                              result.problems, result.warnings)
    counts = defs.case_counts(session)
    return {"versions": [definition_json(v, counts) for v in result.versions],
            "new": result.new, "warnings": [w.as_dict() for w in result.warnings]}
