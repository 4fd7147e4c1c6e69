"""The case page: header and clock, diagram, current steps' forms, timeline, notes and deviations."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import select

from cases import approvals, deviation_service, policy
from cases.attachments import service as attachments
from cases.case_service import complete_step, get_case
from cases.case_view import case_timeline, case_view
from cases.errors import CaseError, Conflict, Forbidden, InvalidInput
from cases.external_tasks import service as external_tasks
from cases.incidents import service as incidents
from cases.links.service import links_of
from cases.notes import add_note
from cases.preview.needs import needs_for_items
from cases.preview.service import waiting_now
from cases.reason_codes import DEVIATION_KINDS, ReasonCode
from cases.users import User
from cases.work_items import claim as claim_item
from cases.work_items import release as release_item
from engine.store import DefinitionVersion

from .inputs import PathId, field_problem, fields_problems, refuse_fields
from .security import CurrentUser, SessionDep, require_csrf
from .work_common import (
    SupervisorUser,
    WorkUser,
    fail,
    flash,
    int_or_none,
    is_htmx,
    now,
    parse_local_datetime,
    pop_flash,
    redirect,
    render,
    settings,
    status_for,
)
from .work_preview import dialog_preview, preview_markers, skip_data, skip_errors

router = APIRouter()

KIND_TITLES = {
    "skip": "Skip a step", "go_back": "Go back to an earlier step",
    "jump_to": "Jump to a later step", "override_decision": "Take another branch at a decision",
    "add_task": "Add a task", "reassign": "Reassign a step", "extend_deadline": "Extend a deadline",
    "hold": "Put the case on hold", "resume": "Resume the case", "cancel": "Cancel the case",
    "edit_data": "Correct case data",
}
REQUEST_TITLES = {
    "cancel": "Request cancellation", "override_decision": "Request another branch",
    "skip": "Request a skip", "go_back": "Request going back", "jump_to": "Request a jump",
    "add_task": "Request a new task", "reassign": "Request a reassignment",
    "extend_deadline": "Request a later deadline", "hold": "Request a hold",
    "resume": "Request to resume", "edit_data": "Request a data correction",
}
OPEN_KINDS = ("skip", "go_back", "jump_to", "override_decision", "add_task", "reassign",
              "extend_deadline", "edit_data", "hold", "cancel")
HELD_KINDS = ("resume", "extend_deadline", "cancel")


async def form_data(request: Request) -> dict[str, str]:
    """The posted form as a plain dict (parsed once; starlette caches it for require_csrf)."""
    form = await request.form()
    refuse_fields(fields_problems(form), "body")  # NUL cannot be stored, whatever the field
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormData = Depends(form_data)


def _available(kind: str) -> bool:
    return kind != "edit_data" or hasattr(deviation_service, "edit_data")


def _modes(user: User, kinds) -> dict[str, str]:
    """kind -> 'allowed' | 'needs_approval' for the kinds this user may use at all."""
    modes = {}
    for kind in kinds:
        if not _available(kind):
            continue
        try:
            modes[kind] = policy.check(user, kind)
        except Forbidden:
            continue
    return modes


def _reasons(session, process_id: str) -> dict[str, list[ReasonCode]]:
    rows = session.exec(select(ReasonCode).where(ReasonCode.active.is_(True))
                        .order_by(ReasonCode.label)).all()
    out: dict[str, list[ReasonCode]] = {k: [] for k in DEVIATION_KINDS}
    for row in rows:
        if row.process_list and process_id not in row.process_list:
            continue
        for kind in row.kind_list:
            out.setdefault(kind, []).append(row)
    return out


def _teams(session, view) -> list[str]:
    teams = set()
    for u in session.exec(select(User).where(User.active.is_(True))).all():
        teams.update(u.team_list)
    teams.update(s.item.team for s in view.steps if s.item.team)
    return sorted(teams)


def _pending(session, case_id: int) -> list:
    return [r for r in approvals.for_case(session, case_id) if r.status == "pending"]


def _page(request: Request, session, user: User, case_id: int, *, status_code: int = 200,
          submitted: dict | None = None, errors: dict | None = None, message: str | None = None,
          dialog: dict | None = None, note: dict | None = None, preview=None,
          attach: dict | None = None,
          extra: dict | None = None):
    """Render the case page; `submitted`/`errors` refill a step form, `dialog` a deviation dialog
    (with `preview`, where its change would lead), `attach` the attachment form."""
    cfg = settings(request)
    view = case_view(session, case_id, now=now(), at_risk=cfg.sla_at_risk,
                     time_limit=cfg.script_time_limit, submitted=submitted, errors=errors)
    kinds = OPEN_KINDS if view.case.status == "open" else HELD_KINDS if view.case.status == "on_hold" else ()
    modes = _modes(user, kinds)
    people = session.exec(select(User).where(User.active.is_(True), User.role.in_(
        ("agent", "supervisor", "admin"))).order_by(User.display_name)).all()
    context = {
        "user": user, "v": view, "case": view.case, "modes": modes, "kinds": kinds,
        "kind_titles": KIND_TITLES, "request_titles": REQUEST_TITLES,
        "reasons": _reasons(session, view.case.process_id), "teams": _teams(session, view),
        "people": people, "pending": _pending(session, case_id),
        "incidents": [i for i in incidents.for_case(session, case_id) if i.state == "open"],
        "external": external_tasks.for_case(session, case_id), "now": now(),
        "names": {u.username: u.display_name for u in session.exec(select(User)).all()},
        "markers_json": json.dumps(preview_markers(view.markers, preview)),
        "flash": pop_flash(request), "message": message, "dialog": dialog or {},
        "note": note or {}, "preview": preview,
        "skip_needs": needs_for_items(session, view.case, [s.item for s in view.steps]),
        "attachments": attachments.list_for_case(session, case_id), "attach": attach or {},
        "links": links_of(session, case_id, actor=user), "link_form": {}, "unlink_form": {},
        "reopen_form": {},
        **(extra or {}),  # web/work_links.py: a refused link or reopen form, refilled
    }
    return render(request, "work/case.html", context, status_code=status_code)


@router.get("/cases/{case_id}")
def case_page(request: Request, session: SessionDep, user: WorkUser, case_id: PathId):
    """Everything about one case and what can be done next."""
    try:
        return _page(request, session, user, case_id)
    except CaseError as err:
        raise fail(err) from None


@router.get("/cases/{case_id}/diagram.bpmn")
def case_diagram(session: SessionDep, user: CurrentUser, case_id: PathId):
    """The BPMN XML of the definition version the case runs on (for the diagram)."""
    try:
        case = get_case(session, case_id)
    except CaseError as err:
        raise fail(err) from None
    version = session.get(DefinitionVersion, case.definition_id)
    return Response(version.bpmn_xml, media_type="application/xml",
                    headers={"Cache-Control": "private, max-age=3600"})


def _case_item_action(request, session, user, case_id, item_id, action, done: str):
    from cases.case_models import WorkItem

    item = session.get(WorkItem, item_id)
    if item is None or item.case_id != case_id:
        raise HTTPException(404, f"No work item {item_id} on case {case_id}")
    try:
        action(session, actor=user, now=now(), work_item_id=item_id)
    except CaseError as err:
        return _page(request, session, user, case_id, status_code=409 if isinstance(err, Conflict)
                     else 403 if isinstance(err, Forbidden) else 400, message=str(err))
    flash(request, done)
    return redirect(f"/cases/{case_id}#item-form-{item_id}")


@router.post("/cases/{case_id}/items/{item_id}/claim", dependencies=[Depends(require_csrf)])
def case_claim(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
               item_id: PathId):
    """Take a step of this case."""
    return _case_item_action(request, session, user, case_id, item_id, claim_item,
                             "The step is yours.")


@router.post("/cases/{case_id}/items/{item_id}/release", dependencies=[Depends(require_csrf)])
def case_release(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
                 item_id: PathId):
    """Give a step back to its team."""
    return _case_item_action(request, session, user, case_id, item_id, release_item,
                             "The step is back with its team.")


@router.post("/cases/{case_id}/escalations/{item_id}/resolve", dependencies=[Depends(require_csrf)])
def resolve(request: Request, session: SessionDep, user: SupervisorUser, case_id: PathId,
            item_id: PathId, form: dict = FormData):
    """A supervisor closes a breached deadline's escalation, saying what was done."""
    from cases.case_models import WorkItem
    from cases.sla_sweep import resolve_escalation

    item = session.get(WorkItem, item_id)
    if item is None or item.case_id != case_id:
        raise HTTPException(404, f"No escalation {item_id} on case {case_id}")
    try:
        resolve_escalation(session, actor=user, now=now(), work_item_id=item_id,
                           note=form.get("note", ""))
    except CaseError as err:
        return _page(request, session, user, case_id, status_code=status_for(err),
                     message=str(err), submitted={item_id: {"note": form.get("note", "")}},
                     errors={item_id: getattr(err, "errors", {})})
    flash(request, "Escalation closed.")
    return redirect(f"/cases/{case_id}")


SKIP_FIELDS = ("csrf_token", "expected_version")


@router.post("/cases/{case_id}/items/{item_id}/complete", dependencies=[Depends(require_csrf)])
def complete(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
             item_id: PathId, form: dict = FormData):
    """Submit a step's form; refused input comes back with per-field errors and the typed values."""
    data = {k: v for k, v in form.items() if k not in SKIP_FIELDS}
    version = int_or_none(form.get("expected_version"))
    if version is None:
        raise HTTPException(400, "The form lacks the case version; reload the case and submit again")
    cfg = settings(request)
    try:
        complete_step(session, actor=user, now=now(), case_id=case_id, work_item_id=item_id,
                      data=data, expected_version=version, time_limit=cfg.script_time_limit,
                      lane_teams=cfg.lane_teams)
    except InvalidInput as err:
        return _page(request, session, user, case_id, status_code=400,
                     submitted={item_id: data}, errors={item_id: err.errors},
                     message="Some fields need attention; nothing was saved.")
    except (Conflict, Forbidden) as err:
        return _page(request, session, user, case_id, status_code=status_for(err),
                     submitted={item_id: data}, message=str(err))
    except CaseError as err:
        raise fail(err) from None
    flash(request, "Step completed.")
    return redirect(f"/cases/{case_id}")


@router.post("/cases/{case_id}/notes", dependencies=[Depends(require_csrf)])
def note(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
         form: dict = FormData):
    """Add a note to the case's timeline; htmx gets the timeline back, a plain post a redirect."""
    text = form.get("text", "")
    status, state = 200, {}
    try:
        add_note(session, actor=user, now=now(), case_id=case_id, text=text)
    except (InvalidInput, Conflict) as err:
        status = status_for(err)
        state = {"text": text, "error": getattr(err, "errors", {}).get("text", str(err))}
    except CaseError as err:
        raise fail(err) from None
    if is_htmx(request):
        try:
            case = get_case(session, case_id)
        except CaseError as err:
            raise fail(err) from None
        context = {"user": user, "case": case, "note": state,
                   "v": {"timeline": case_timeline(session, case)}}
        return render(request, "work/_timeline.html", context, status_code=status)
    if status != 200:
        return _page(request, session, user, case_id, status_code=status, note=state)
    flash(request, "Note added.")
    return redirect(f"/cases/{case_id}#timeline")


def _deviation_args(session, kind: str, form: dict, case_id: int) -> dict:
    """The kind-specific arguments of a deviation service, read from the dialog's form."""
    errors: dict[str, str] = {}
    args: dict[str, Any] = {}

    def need_int(name: str, message: str) -> int | None:
        value = int_or_none(form.get(name))
        if value is None:
            errors[name] = message
        return value

    if kind == "skip":
        args["work_item_id"] = need_int("work_item_id", "Choose the step to skip")
        args["data"] = skip_data(form, args["work_item_id"])
    elif kind in ("go_back", "jump_to"):
        if not form.get("element_id"):
            errors["element_id"] = "Choose the step"
        args["element_id"] = form.get("element_id", "")
    elif kind == "override_decision":
        gateway, _, target = (form.get("branch") or "").partition("|")
        if not gateway or not target:
            errors["branch"] = "Choose the decision and the branch to take"
        args.update(gateway_id=gateway, target_id=target)
    elif kind == "add_task":
        if not (form.get("title") or "").strip():
            errors["title"] = "Give the new step a title"
        args.update(title=form.get("title", ""), team=form.get("team") or None,
                    due_at=parse_local_datetime(form.get("due_at"), "due_at", submitted=form),
                    blocking=form.get("blocking") in ("true", "on", "1"))
    elif kind == "reassign":
        args["work_item_id"] = need_int("work_item_id", "Choose the step to hand over")
        args["team"] = form.get("team") or None
        args["assignee_id"] = int_or_none(form.get("assignee_id"))
        if args["team"] is None and args["assignee_id"] is None:
            errors["team"] = "Choose a team or a person to hand the step to"
    elif kind == "extend_deadline":
        args["work_item_id"] = int_or_none(form.get("work_item_id"))
        args["due_at"] = parse_local_datetime(form.get("due_at"), "due_at", required=True,
                                              submitted=form)
    elif kind == "edit_data":
        element, _, key = (form.get("field") or "").partition("|")
        if not element or not key:
            errors["field"] = "Choose the value to correct"
        args.update(element_id=element, changes={key: form.get("value", "")})
    for name in ("title", "team", "reason_code", "note"):  # each lands in a column of its own
        if problem := field_problem(name, form.get(name) or ""):
            errors[name] = problem
    if not (form.get("reason_code") or "").strip():
        errors["reason_code"] = "Choose a reason for this change"
    if not (form.get("note") or "").strip():
        errors["note"] = "Say in a few words why (the note is kept with the case)"
    if errors:
        raise InvalidInput(errors, form)
    return args


@router.post("/cases/{case_id}/deviations/{kind}", dependencies=[Depends(require_csrf)])
def deviate(request: Request, session: SessionDep, user: WorkUser, case_id: PathId, kind: str,
            form: dict = FormData):
    """Leave the happy path with a reason: one dialog per kind, all posting here."""
    if kind not in KIND_TITLES or not _available(kind):
        raise HTTPException(404, f"There is no change called '{kind}'")
    try:
        mode = policy.check(user, kind)
    except Forbidden as err:
        raise HTTPException(403, str(err)) from None
    version = int_or_none(form.get("expected_version"))
    if version is None:
        raise HTTPException(400, "The form lacks the case version; reload the case and try again")
    dialog = {"kind": kind, "typed": form, "errors": {}}
    if form.get("preview"):
        return _preview_page(request, session, user, case_id, kind, form, dialog)
    before = {r.id for r in approvals.for_case(session, case_id)}
    try:
        args = _deviation_args(session, kind, form, case_id)
        service = getattr(deviation_service, kind)
        service(session, actor=user, now=now(), case_id=case_id, expected_version=version,
                       reason_code=form.get("reason_code", ""), note=form.get("note", ""), **args)
    except InvalidInput as err:
        known = {"reason_code", "note", "field", "value", "element_id", "work_item_id", "branch",
                 "target_id", "title", "team", "assignee_id", "due_at"}
        if kind == "skip":
            dialog["errors"] = skip_errors(err.errors, int_or_none(form.get("work_item_id")))
        else:
            dialog["errors"] = {(k if k in known else "value"): v for k, v in err.errors.items()}
        return _page(request, session, user, case_id, status_code=400, dialog=dialog,
                     message="The change was not made: " + "; ".join(err.errors.values()))
    except (Conflict, Forbidden) as err:
        dialog["errors"] = {"_": str(err)}
        return _page(request, session, user, case_id,
                     status_code=409 if isinstance(err, Conflict) else 403,
                     dialog=dialog, message=str(err))
    except CaseError as err:
        raise fail(err) from None
    # The policy may also ask for approval because of what is touched (a Supervisors' step, a
    # large credit), so look at what the service stored rather than at the kind alone.
    if mode == "needs_approval" or {r.id for r in approvals.for_case(session, case_id)} - before:
        flash(request, "Your request is waiting for a supervisor's approval.")
    else:
        flash(request, f"Done: {KIND_TITLES[kind][0].lower()}{KIND_TITLES[kind][1:]}. "
                       + waiting_now(session, case_id))
    return redirect(f"/cases/{case_id}")


def _preview_page(request, session, user, case_id: int, kind: str, form: dict, dialog: dict):
    """The case page with the dialog open and where its change would lead; nothing changes."""
    try:
        result = dialog_preview(request, session, user, case_id, kind, form)
    except InvalidInput as err:
        dialog["errors"] = skip_errors(err.errors, int_or_none(form.get("work_item_id")))
        return _page(request, session, user, case_id, status_code=400, dialog=dialog,
                     message="Nothing to show yet: " + "; ".join(err.errors.values()))
    except CaseError as err:
        dialog["errors"] = {"_": str(err)}
        return _page(request, session, user, case_id, status_code=status_for(err), dialog=dialog,
                     message=str(err))
    return _page(request, session, user, case_id, dialog=dialog, preview=result)
