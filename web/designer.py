"""The designer's workspace: upload, validate, compare, deploy, retire, migrate (issue 6).

Everyone signed in may look (agents and supervisors read-only); only designers and admins see
the action buttons, and every POST route checks the role and the CSRF token. An upload with
problems is never stored: the page carries the uploaded bytes as a data: URL so the diagram
preview can mark the faulty elements.
"""
from __future__ import annotations

import base64
import json
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from cases import definitions as defs
from cases import version_migration as vm
from cases.definition_files import (file_changes, kind_of, pinned_files, start_form_of, step_forms,
                                   upload_set)
from cases.errors import CaseError, InvalidInput, NotFound
from cases.sla import definition_metadata
from engine.clock import utcnow

from .inputs import PathId, QueryId, clean_query, int_in_range
from .security import CurrentUser, SessionDep, require_csrf, require_role

router = APIRouter(dependencies=[Depends(clean_query)], include_in_schema=False)  # pages, not API
EDITORS = defs.DESIGNER_ROLES
Editor = Annotated[object, Depends(require_role(*EDITORS))]
TYPE_WORDS = {"userTask": "User task", "manualTask": "Manual task", "task": "Task",
              "scriptTask": "Script task", "serviceTask": "Service task", "sendTask": "Send task",
              "receiveTask": "Receive task", "businessRuleTask": "Business rule task",
              "callActivity": "Call activity", "subProcess": "Subprocess",
              "startEvent": "Start event", "endEvent": "End event",
              "intermediateCatchEvent": "Catch event", "intermediateThrowEvent": "Throw event",
              "boundaryEvent": "Boundary event", "exclusiveGateway": "Exclusive gateway",
              "parallelGateway": "Parallel gateway", "inclusiveGateway": "Inclusive gateway",
              "eventBasedGateway": "Event-based gateway", "sequenceFlow": "Sequence flow",
              "process": "Process"}
MAX_SET_FILES = 20  # one upload: a process with its decision tables and forms
PREVIEW_LIMIT = 2 * 1024 * 1024  # larger files are reported without a preview (it rides in the page)
STEP_TYPES = {"userTask", "manualTask", "task", "callActivity", "subProcess", "scriptTask",
              "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
              "intermediateCatchEvent", "boundaryEvent"}


def _render(request: Request, name: str, context: dict, status_code: int = 200):
    return request.app.state.templates.TemplateResponse(request, name, context,
                                                        status_code=status_code)


def _can_edit(user) -> bool:
    return user.role in EDITORS


def _flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session["designer_flash"] = {"message": message, "kind": kind}


def _pop_flash(request: Request) -> dict | None:
    return request.session.pop("designer_flash", None)


def _version_or_404(session, definition_id: int):
    try:
        return defs.get_version(session, definition_id)
    except NotFound:
        raise HTTPException(404, f"There is no definition version {definition_id}.") from None


def _type_word(type_name: str | None) -> str:
    return TYPE_WORDS.get(type_name or "", type_name or "")


def _processes(session) -> list[dict]:
    """Versions grouped by process (newest first), with case counts."""
    counts = defs.case_counts(session)
    grouped: OrderedDict[str, dict] = OrderedDict()
    for v in defs.list_definitions(session):
        entry = grouped.setdefault(v.process_id, {"id": v.process_id, "name": v.name,
                                                  "versions": [], "active": None})
        total, running = counts.get(v.id, (0, 0))
        entry["versions"].append({"v": v, "cases": total, "open": running})
        if v.status == "active":
            entry["active"] = v
        entry["name"] = v.name or entry["name"]
    for entry in grouped.values():
        entry["versions"].reverse()
    return list(grouped.values())


def _index_context(request: Request, session, user, **extra) -> dict:
    return {"user": user, "processes": _processes(session), "can_edit": _can_edit(user),
            "flash": _pop_flash(request),
            "max_size": _size(request.app.state.settings.max_upload_bytes), **extra}


@router.get("/designer")
def index(request: Request, user: CurrentUser, session: SessionDep):
    """Every process with its versions, case counts and the upload form."""
    return _render(request, "designer/index.html", _index_context(request, session, user))


# ---- upload -------------------------------------------------------------------------------------
def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{max(1, round(n / 1024))} KB"


def _too_big(request: Request) -> str:
    limit = request.app.state.settings.max_upload_bytes
    return (f"The file is larger than {_size(limit)}, the limit for one BPMN file. Nothing was "
            "read or stored. Split the model into several files linked by call activities.")


@router.post("/designer/upload", dependencies=[Depends(require_csrf)])
def upload(request: Request, user: CurrentUser, session: SessionDep, _editor: Editor,
           file: Annotated[list[UploadFile] | None, File()] = None):
    """Validate uploaded files (a BPMN file, or a set with its .dmn and .form files); store them
    as draft versions or show what is wrong."""
    limit = request.app.state.settings.max_upload_bytes
    uploads = [f for f in (file or []) if _clean_filename(f.filename)]
    if not uploads:
        return _refused(request, session, user, "", [
            _msg("Choose a .bpmn file to upload (with its .dmn and .form files, if it has "
                 "any).")], status_code=400)
    files = []
    for item in uploads[:MAX_SET_FILES]:
        data = item.file.read(limit + 1)  # a sync route: validation runs in the threadpool
        if len(data) > limit:
            return _refused(request, session, user, _clean_filename(item.filename),
                            [_msg(_too_big(request))], status_code=413)
        files.append((_clean_filename(item.filename), data))
    if len(uploads) > MAX_SET_FILES:
        return _refused(request, session, user, files[0][0], [_msg(
            f"At most {MAX_SET_FILES} files can be uploaded together.")], status_code=400)
    if len(files) == 1 and kind_of(files[0][0]) in ("bpmn", None):
        return _upload_one(request, session, user, *files[0])
    return _upload_set(request, session, user, files)


def _upload_one(request, session, user, filename: str, data: bytes):
    limit = request.app.state.settings.max_upload_bytes
    result = defs.upload_file(session, data, filename=filename, actor=user.username,
                              now=utcnow(), max_bytes=limit)
    if not result.stored:
        return _refused(request, session, user, filename, result.problems, data=data,
                        warnings=result.warnings)
    _flash(request, f"{filename}: " + "; ".join(_stored_words(result)) + ".")
    return RedirectResponse(f"/designer/versions/{result.versions[0].id}", status_code=303)


def _stored_words(result) -> list[str]:
    parts = []
    for version, new in zip(result.versions, result.new):
        label = f"{version.process_id} v{version.version}"
        parts.append(f"uploaded as draft {label}" if new else
                     f"already uploaded as {label} ({version.status}); nothing new was stored")
    return parts


def _upload_set(request, session, user, files: list[tuple[str, bytes]]):
    names = ", ".join(name for name, _ in files)
    result = upload_set(session, files, actor=user.username, now=utcnow(),
                        max_bytes=request.app.state.settings.max_upload_bytes)
    if not result.stored:
        bpmn = next((data for name, data in files if kind_of(name) == "bpmn"), None)
        return _refused(request, session, user, names, result.problems or [_msg(
            "Nothing to store: the files hold no process, decision or form.")], data=bpmn,
            warnings=result.warnings)
    parts = _stored_words(result) + [
        f"{'decision' if f.kind == 'dmn' else 'form'} {f.key} v{f.version}" for f in result.files]
    _flash(request, f"{names}: " + "; ".join(parts) + ".")
    if result.versions:
        return RedirectResponse(f"/designer/versions/{result.versions[0].id}", status_code=303)
    return RedirectResponse("/designer", status_code=303)


def _clean_filename(name: str | None) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in name if ch.isprintable())[:255]


def _msg(text: str):
    return defs.refusal(text)


def _data_url(data: bytes | None) -> str | None:
    if not data:
        return None
    return "data:text/xml;base64," + base64.b64encode(data).decode("ascii")


def _refused(request, session, user, filename: str, problems, *, data: bytes | None = None,
             warnings=(), status_code: int = 422):
    """The upload form again, with every problem and the diagram preview marking faults."""
    fault_ids = sorted({p.element_id for p in problems if p.element_id})
    small = data is not None and len(data) <= PREVIEW_LIMIT
    readable, drawable = defs.preview_facts(data) if small else (False, False)
    preview = _data_url(data) if drawable else None
    return _render(request, "designer/upload_result.html", {
        **_index_context(request, session, user), "filename": filename, "problems": problems,
        "warnings": list(warnings), "preview_url": preview,
        "has_data": readable,
        "markers": json.dumps({eid: ["fault"] for eid in fault_ids}),
        "fault_ids": fault_ids}, status_code=status_code)


# ---- one version ----------------------------------------------------------------------------
@router.get("/designer/versions/{definition_id}")
def version_page(request: Request, definition_id: PathId, user: CurrentUser, session: SessionDep):
    """A version's diagram, its steps with SLA and form, and what can be done with it."""
    version = _version_or_404(session, definition_id)
    metadata = definition_metadata(session, version.id)
    process = next((p for p in metadata.processes if p.id == version.process_id), None)
    steps = [n for n in (process.nodes if process else ()) if n.type in STEP_TYPES]
    siblings = [v for v in defs.list_definitions(session) if v.process_id == version.process_id]
    counts = defs.case_counts(session)
    active = next((v for v in siblings if v.status == "active"), None)
    running_elsewhere = [{"v": v, "open": counts.get(v.id, (0, 0))[1]} for v in siblings
                         if v.id != version.id and counts.get(v.id, (0, 0))[1]]
    return _render(request, "designer/version.html", {
        "user": user, "version": version, "process": process, "steps": steps,
        "type_word": _type_word, "siblings": siblings, "active": active,
        "cases": counts.get(version.id, (0, 0)), "running_elsewhere": running_elsewhere,
        "can_edit": _can_edit(user), "flash": _pop_flash(request),
        "files": pinned_files(session, version.id), "forms": step_forms(version),
        "start_form": start_form_of(version)})


@router.get("/designer/versions/{definition_id}/bpmn")
def download(definition_id: PathId, user: CurrentUser, session: SessionDep):
    """The BPMN file of a version, as uploaded (also what the diagram viewer draws)."""
    version = _version_or_404(session, definition_id)
    stem = version.filename.rsplit(".", 1)[0] or version.process_id
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)
    return Response(version.bpmn_xml.encode("utf-8"), media_type="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{name}-v{version.version}.bpmn"',
        "Cache-Control": "private, max-age=3600"})


@router.post("/designer/versions/{definition_id}/activate", dependencies=[Depends(require_csrf)])
def activate(request: Request, definition_id: PathId, user: CurrentUser, session: SessionDep,
             _editor: Editor):
    """Make a version the active one; running cases stay where they are."""
    version = _version_or_404(session, definition_id)
    if version.status == "active":
        _flash(request, f"{version.process_id} v{version.version} is already the active version.")
    else:
        defs.activate(session, actor=user.username, now=utcnow(), definition_id=version.id)
        _flash(request, f"{version.process_id} v{version.version} is now active: new cases start "
                        "on it. Running cases stay on their version until you migrate them.")
    return RedirectResponse(f"/designer/versions/{definition_id}", status_code=303)


@router.post("/designer/versions/{definition_id}/retire", dependencies=[Depends(require_csrf)])
def retire(request: Request, definition_id: PathId, user: CurrentUser, session: SessionDep,
           _editor: Editor):
    """Retire a version: no new case starts on it; running cases go on."""
    version = _version_or_404(session, definition_id)
    was_active = version.status == "active"
    defs.retire(session, actor=user.username, now=utcnow(), definition_id=version.id)
    note = (" No version of this process is active now, so no new case can start until you "
            "deploy one." if was_active else "")
    _flash(request, f"{version.process_id} v{version.version} is retired. Running cases on it "
                    f"go on.{note}", "warn" if was_active else "ok")
    return RedirectResponse(f"/designer/versions/{definition_id}", status_code=303)


# ---- compare --------------------------------------------------------------------------------
@router.get("/designer/compare")
def compare(request: Request, user: CurrentUser, session: SessionDep, left: QueryId = None,
            right: QueryId = None):
    """Elements added, removed and changed between two versions, on both diagrams."""
    if left is None or right is None:
        raise HTTPException(400, "Choose two versions to compare (left and right).")
    _version_or_404(session, left), _version_or_404(session, right)
    a, b, result = defs.compare_versions(session, left_id=left, right_id=right)
    versions = [v for v in defs.list_definitions(session) if v.process_id in (a.process_id, b.process_id)]
    return _render(request, "designer/compare.html", {
        "user": user, "left": a, "right": b, "result": result, "type_word": _type_word,
        "left_markers": json.dumps(result.left_markers()),
        "right_markers": json.dumps(result.right_markers()), "versions": versions,
        "can_edit": _can_edit(user), "file_changes": file_changes(session, a.id, b.id)})


# ---- migrate --------------------------------------------------------------------------------
def _ids(value: str | None, field: str) -> int:
    try:
        number = int(value or "")
    except ValueError:
        number = 0
    if number < 1 or not int_in_range(number):
        raise HTTPException(400, f"Choose the version to move cases {field}.")
    return number


@router.get("/designer/migrate")
def migrate_plan(request: Request, user: CurrentUser, session: SessionDep,
                 from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None):
    """The dry run: which running cases can move and which cannot, and why."""
    from_id = _ids(from_, "from")
    to_id = _ids(to, "to")
    source = _version_or_404(session, from_id)
    _version_or_404(session, to_id)
    try:
        plan = vm.dry_run(session, from_id=from_id, to_id=to_id, now=utcnow())
    except InvalidInput as err:
        raise HTTPException(400, " ".join(err.errors.values())) from None
    targets = [v for v in defs.list_definitions(session)
               if v.process_id == source.process_id and v.id != source.id and v.status != "retired"]
    return _render(request, "designer/migrate.html", {
        "user": user, "plan": plan, "targets": targets, "can_edit": _can_edit(user)})


@router.post("/designer/migrate", dependencies=[Depends(require_csrf)])
def migrate_run(request: Request, user: CurrentUser, session: SessionDep, _editor: Editor,
                from_: Annotated[str, Form(alias="from")] = "", to: Annotated[str, Form()] = "",
                case_id: Annotated[list[str] | None, Form()] = None,
                all_: Annotated[str, Form(alias="all")] = ""):
    """Move the chosen cases; each in its own transaction, failures reported."""
    from_id, to_id = _ids(from_, "from"), _ids(to, "to")
    try:
        case_ids = [int(c) for c in case_id] if case_id else None
        if not all(int_in_range(c) for c in case_ids or ()):
            raise ValueError
    except ValueError:
        raise HTTPException(400, "The list of cases to move is not valid; reload the dry run.") from None
    if case_ids is None and all_ != "1":
        raise HTTPException(400, "Choose at least one case to move (or reload the dry run).")
    try:
        results = vm.migrate(session, actor=user, now=utcnow(), from_id=from_id, to_id=to_id,
                             case_ids=case_ids,
                             lane_teams=request.app.state.settings.lane_teams or None)
    except InvalidInput as err:
        raise HTTPException(400, " ".join(err.errors.values())) from None
    except NotFound as err:
        raise HTTPException(404, str(err)) from None
    except CaseError as err:
        raise HTTPException(403, str(err)) from None
    source, target = _version_or_404(session, from_id), _version_or_404(session, to_id)
    return _render(request, "designer/migrate_result.html", {
        "user": user, "results": results, "source": source, "target": target,
        "moved": sum(r.moved for r in results)})
