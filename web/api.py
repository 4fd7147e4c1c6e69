"""The JSON API for integrators (kept apart from the hypermedia routes).

Callers authenticate with a bearer API token (`caseflow tokens create USER --name SYSTEM`) and act
as that user, with its role and teams; a signed-in browser may call it too, sending its CSRF token
in X-CSRF-Token for changes. Refusals come back as {"detail": {"message", "errors", "submitted"}}
with 400/403/404/409/422, the same rules as the pages.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Callable, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic_core import to_json
from sqlmodel import select

from cases import approvals, deviation_service
from cases.case_models import CHANNELS, Case, WorkItem
from cases.case_service import complete_step_answer, get_case, open_case
from cases.case_snapshot import CaseSnapshot, load_snapshot, snapshot
from cases.customers import create_customer
from cases.definitions import list_definitions
from cases.errors import CaseError, Conflict, Forbidden, InvalidInput, NotFound
from cases.events import CaseEvent
from cases.messages import deliver_message
from cases.preview.service import PREVIEW_KINDS, preview
from cases.reason_codes import DEVIATION_KINDS
from cases.start_forms import check_start_data
from cases.users import User
from cases.worklist import VIEWS, worklist
from engine import store
from engine.clock import utcnow

from .api_models import (
    REFUSALS,
    CaseList,
    CaseOut,
    Completion,
    DefinitionList,
    DeviationPending,
    DeviationPreviewOut,
    DeviationPreviewRequest,
    DeviationRequest,
    EventList,
    Health,
    Message,
    MessageResult,
    NewCase,
    Worklist,
    form_json,
)
from .inputs import Offset, PathId, QueryId, Text
from .security import ApiUser, SessionDep, api_call

bearer = HTTPBearer(auto_error=False, scheme_name="ApiToken",
                    description="An API token from `caseflow tokens create USER --name SYSTEM`.")


def _caller(user: ApiUser,
            _token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None
            ) -> User:
    """The API's caller (declares the bearer scheme in the OpenAPI; ApiUser does the checking)."""
    return user


Caller = Annotated[User, Depends(_caller)]
# For async routes that authenticate inside `api_call`: declares the scheme, checks nothing.
Token = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
router = APIRouter()
# A case answers with the fields it has (a list leaves out work items and approvals).
ONE_CASE = {"response_model_exclude_unset": True, "responses": REFUSALS}
CASE_ROLES = ("agent", "supervisor", "admin")
T = TypeVar("T")


@router.get("/health", response_model=Health)
def health() -> dict:
    """Answer that the service is up."""
    return {"status": "ok"}


@router.get("/definitions", response_model=DefinitionList, responses=REFUSALS)
def definitions(user: Caller, session: SessionDep) -> dict:
    """List definition versions."""
    rows = list_definitions(session)
    data = [{"process_id": v.process_id, "version": v.version, "name": v.name, "status": v.status,
             "content_hash": v.content_hash, "created_at": v.created_at.isoformat()} for v in rows]
    return {"data": data, "count": len(data)}


# ---- bodies (web/api_models.py) --------------------------------------------------------------

# Which fields each kind takes (required ones first in the error message when missing).
KIND_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "skip": (("work_item_id",), ("data",)),
    "go_back": (("element_id",), ()),
    "jump_to": (("element_id",), ()),
    "override_decision": (("gateway_id", "target_id"), ()),
    "add_task": (("title",), ("team", "due_at", "blocking")),
    "reassign": (("work_item_id",), ("team", "assignee_id")),
    "extend_deadline": (("due_at",), ("work_item_id",)),
    "hold": ((), ()), "resume": ((), ()), "cancel": ((), ()),
    "edit_data": (("element_id", "changes"), ()),
}


# ---- helpers ------------------------------------------------------------------------------------

def _refused(err: CaseError) -> HTTPException:
    status = next((code for cls, code in ((NotFound, 404), (Forbidden, 403), (Conflict, 409),
                                          (InvalidInput, 422)) if isinstance(err, cls)), 400)
    detail: dict[str, Any] = {"message": str(err)}
    if getattr(err, "element_id", None):  # ProcessFailed: where the model failed
        detail["element_id"] = err.element_id
    if isinstance(err, InvalidInput):
        detail["errors"] = err.errors
    if isinstance(err, (InvalidInput, Conflict)):
        detail["submitted"] = err.submitted
    return HTTPException(status_code=status, detail=detail)


def _run(fn: Callable[..., T], *args, **kwargs) -> T:
    try:
        return fn(*args, **kwargs)
    except CaseError as err:
        raise _refused(err) from None


def _worker(user: User) -> User:
    if user.role not in CASE_ROLES:
        raise HTTPException(status_code=403, detail={"message": f"A {user.role} does not work cases."})
    return user


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _item_json(item: WorkItem, form=None) -> dict:
    return {
        "id": item.id, "element_id": item.element_id, "name": item.name, "kind": item.kind,
        "team": item.team, "assignee_id": item.assignee_id, "state": item.state,
        "due_at": _iso(item.due_at), "sla_state": item.sla_state, "created_at": _iso(item.created_at),
        "form": form_json(form),
    }


def _case_json(session, case: Case | CaseSnapshot, *, with_items: bool = True) -> dict:
    seen = case if isinstance(case, CaseSnapshot) else snapshot(session, case,
                                                                 with_items=with_items)
    case = seen.case
    body = {
        "id": case.id, "process_id": case.process_id, "version": seen.version,
        "status": case.status, "channel": case.channel, "priority": case.priority,
        "customer_id": case.customer_id, "contacted_at": _iso(case.contacted_at),
        "opened_at": _iso(case.opened_at), "promised_at": _iso(case.promised_at),
        "closed_at": _iso(case.closed_at), "sla_state": case.sla_state,
        "row_version": case.row_version,
    }
    if with_items:
        body["work_items"] = [_item_json(i, seen.forms.get(i.id)) for i in seen.items]
        body["pending_approvals"] = [
            {"id": r.id, "kind": r.kind, "requested_by": r.requested_by,
             "requested_at": _iso(r.requested_at)} for r in seen.approvals]
    return body


# ---- cases --------------------------------------------------------------------------------------

@router.post("/cases", status_code=201, response_model=CaseOut, **ONE_CASE)
def api_open_case(body: NewCase, user: Caller, session: SessionDep) -> dict:
    """Open a case for an existing customer (customer_id) or a new one (customer); `data` must
    satisfy the process's start form, if it has one (422 naming each bad field)."""
    _worker(user)
    now = utcnow()
    if (body.customer_id is None) == (body.customer is None):
        raise HTTPException(status_code=422, detail={
            "message": "Give either customer_id or customer", "errors": {
                "customer_id": "Give either the id of a known customer or a new customer"}})
    if body.channel not in CHANNELS:  # checked before a new customer is stored
        raise HTTPException(status_code=422, detail={"message": "Unknown channel", "errors": {
            "channel": f"Choose one of {', '.join(CHANNELS)}"}})
    if store.active_version(session, body.process_id) is None:
        raise HTTPException(status_code=404, detail={
            "message": f"No active definition for process '{body.process_id}'"})
    _run(check_start_data, session, body.process_id, body.data)  # before a new customer is stored
    customer_id = body.customer_id
    if body.customer is not None:
        customer_id = _run(create_customer, session, actor=user.username, now=now,
                           **body.customer.model_dump()).id
    case = _run(open_case, session, actor=user, now=now, customer_id=customer_id,
                process_id=body.process_id, channel=body.channel, priority=body.priority,
                contacted_at=body.contacted_at, data=body.data)
    return _case_json(session, case)


@router.get("/cases", response_model=CaseList, **ONE_CASE)
def api_list_cases(user: Caller, session: SessionDep, status: Text(16) | None = None,
                   process_id: Text(255) | None = None, customer_id: QueryId = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0) -> dict:
    """List cases, newest first, optionally by status, process or customer."""
    _worker(user)
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    if process_id:
        query = query.where(Case.process_id == process_id)
    if customer_id is not None:
        query = query.where(Case.customer_id == customer_id)
    rows = session.exec(query.order_by(Case.opened_at.desc(), Case.id.desc())
                        .limit(limit).offset(offset)).all()
    return {"data": [_case_json(session, c, with_items=False) for c in rows], "count": len(rows),
            "limit": limit, "offset": offset}


@router.get("/cases/{case_id}", response_model=CaseOut, **ONE_CASE)
async def api_get_case(case_id: PathId, request: Request, _token: Token = None) -> Response:
    """A case with its open work items (and their form fields) and pending approvals."""
    return await api_call(request, case_answer_of, case_id)


def case_answer_of(user: User, session, case_id: int) -> Response:
    """The work of GET /api/cases/{case_id} (in api_call's worker thread; web/hot_routes.py)."""
    _worker(user)
    return case_answer(_case_json(session, _run(load_snapshot, session, case_id)))


def case_answer(body: dict) -> Response:
    """The JSON of a case, serialized here (in the worker thread) rather than checked against
    CaseOut and serialized again by FastAPI: the two hot routes (GET a case, complete a step)
    answer through this. `body` is built field by field in CaseOut's order and types, so the
    bytes are those FastAPI would send (tests/web/test_api_hot_path.py compares them)."""
    return Response(to_json(body), media_type="application/json")


@router.get("/cases/{case_id}/events", response_model=EventList, responses=REFUSALS)
def api_case_events(case_id: PathId, user: Caller, session: SessionDep) -> dict:
    """The case's audit events, oldest first."""
    import json

    from cases.case_view import case_timeline

    _worker(user)
    case = _run(get_case, session, case_id)
    rows = session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                        .order_by(CaseEvent.seq)).all()
    # The timeline's words, in the names of the version each event happened in (newest first).
    texts = [entry.text for entry in reversed(case_timeline(session, case))]
    return {"data": [{"seq": e.seq, "type": e.type, "actor": e.actor, "at": _iso(e.at),
                      "element_id": e.element_id, "details": json.loads(e.details), "text": text}
                     for e, text in zip(rows, texts)]}


@router.post("/cases/{case_id}/work-items/{item_id}/complete", response_model=CaseOut,
             **ONE_CASE)
async def api_complete(case_id: PathId, item_id: PathId, body: Completion, request: Request,
                       _token: Token = None) -> Response:
    """Complete a step with its form data (422 lists every bad field; 409 when the case moved on)."""
    return await api_call(request, completion_answer, case_id, item_id, body)


def completion_answer(user: User, session, case_id: int, item_id: int,
                      body: Completion) -> Response:
    """The work of completing a step (in api_call's worker thread; web/hot_routes.py)."""
    _worker(user)
    seen = _run(complete_step_answer, session, actor=user, now=utcnow(), case_id=case_id,
                work_item_id=item_id, data=body.data, expected_version=body.expected_version)
    return case_answer(_case_json(session, seen))


@router.post("/cases/{case_id}/messages", response_model=MessageResult,
             response_model_exclude_unset=True, responses=REFUSALS)
def api_message(case_id: PathId, body: Message, user: Caller, session: SessionDep) -> dict:
    """Send a message the process waits for (or will wait for) to a case."""
    _worker(user)
    case, caught = _run(deliver_message, session, actor=user, now=utcnow(), case_id=case_id,
                        name=body.name, payload=body.payload)
    return {"caught": caught, "case": _case_json(session, case)}


@router.post("/cases/{case_id}/deviations/{kind}", response_model=CaseOut,
             response_model_exclude_unset=True, responses={
                 **REFUSALS, 202: {"model": DeviationPending,
                                   "description": "Waits for a supervisor's approval"}})
def api_deviate(case_id: PathId, kind: str, body: DeviationRequest, user: Caller,
                session: SessionDep):
    """Leave the happy path with a reason; 202 when the deviation waits for a supervisor."""
    _worker(user)
    if kind not in KIND_FIELDS:
        raise HTTPException(status_code=404, detail={
            "message": f"Unknown deviation '{kind}'; choose one of {', '.join(DEVIATION_KINDS)}"})
    required, optional = KIND_FIELDS[kind]
    given = body.model_dump(exclude_unset=True)
    missing = {f: f"'{kind}' needs {f}" for f in required if given.get(f) is None}
    extra = {f: f"'{kind}' does not take {f}" for f in given
             if f not in (*required, *optional, "expected_version", "reason_code", "note")}
    if missing or extra:
        raise HTTPException(status_code=422, detail={"message": "Check the fields of this deviation",
                                                     "errors": {**missing, **extra}})
    params = {f: given[f] for f in (*required, *optional) if f in given}
    before = {r.id for r in approvals.for_case(session, case_id)}
    case = _run(getattr(deviation_service, kind), session, actor=user, now=utcnow(),
                case_id=case_id, expected_version=body.expected_version,
                reason_code=body.reason_code, note=body.note, **params)
    waiting = [r for r in approvals.for_case(session, case_id) if r.id not in before]
    if waiting:
        return JSONResponse(status_code=202, content={
            "status": "pending_approval", "request_id": waiting[0].id,
            "message": "A supervisor must approve this before it happens.",
            "case": _case_json(session, case)})
    return _case_json(session, case)


@router.post("/cases/{case_id}/deviations/{kind}/preview", response_model=DeviationPreviewOut,
             responses=REFUSALS)
def api_deviation_preview(case_id: PathId, kind: str, body: DeviationPreviewRequest, user: Caller,
                          session: SessionDep) -> dict:
    """Where a skip, go back, jump or override would lead, without doing it (a dry run)."""
    _worker(user)
    if kind not in PREVIEW_KINDS:
        raise HTTPException(status_code=404, detail={
            "message": f"No preview for '{kind}'; choose one of {', '.join(PREVIEW_KINDS)}"})
    required, optional = KIND_FIELDS[kind]
    given = body.model_dump(exclude_unset=True)
    missing = {f: f"'{kind}' needs {f}" for f in required if given.get(f) is None}
    extra = {f: f"'{kind}' does not take {f}" for f in given if f not in (*required, *optional)}
    if missing or extra:
        raise HTTPException(status_code=422, detail={"message": "Check the fields of this preview",
                                                     "errors": {**missing, **extra}})
    result = _run(preview, session, actor=user, now=utcnow(), case_id=case_id, kind=kind,
                  params=given)
    return result.as_dict()


@router.get("/work-items", response_model=Worklist, responses=REFUSALS)
def api_worklist(user: Caller, session: SessionDep, view: Text(16) = "mine",
                 limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0) -> dict:
    """The caller's worklist (mine, team, unassigned, overdue), most urgent first."""
    _worker(user)
    if view not in VIEWS:
        raise HTTPException(status_code=422, detail={
            "message": f"Unknown worklist '{view}'", "errors": {"view": f"Choose one of {', '.join(VIEWS)}"}})
    entries = worklist(session, actor=user, now=utcnow(), view=view, limit=limit, offset=offset)
    return {"data": [{**_item_json(e.item), "case_id": e.case.id, "overdue": e.overdue,
                      "at_risk": e.at_risk, "priority": e.case.priority} for e in entries]}
