"""The JSON API of a person's work: claim, release and assign a work item; approvals.

The same services and rules as the pages (cases/work_items.py, cases/approvals.py): an agent
claims a step of their own teams, gives back what they hold, and never claims a supervisor's
approval step; supervisors and admins assign work to someone by name and decide requests, never
their own. Same authentication and refusal shape as web/api.py.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from cases import approvals, work_items
from cases.approvals import APPROVAL_STATUSES, APPROVER_ROLES, ApprovalRequest
from cases.case_models import Case, WorkItem
from engine.clock import utcnow

from .api import REFUSALS, Caller, _case_json, _iso, _item_json, _run, _worker
from .api_resources import ApprovalDecision, ApprovalOut, ApprovalResult, Assignment, WorkItemState
from .inputs import PathId, QueryId
from .pagination import DEFAULT_LIMIT, Limit, Offset, Paged, page
from .security import SessionDep

router = APIRouter()


def item_state(item: WorkItem) -> dict:
    """A work item as the claim, release and assign answers show it."""
    return {**_item_json(item, {}), "case_id": item.case_id}


@router.post("/work-items/{item_id}/claim", response_model=WorkItemState, responses=REFUSALS)
def api_claim(item_id: PathId, user: Caller, session: SessionDep) -> dict:
    """Take an unassigned step of one of your teams (409 when someone else holds it)."""
    _worker(user)
    return item_state(_run(work_items.claim, session, actor=user, now=utcnow(),
                           work_item_id=item_id))


@router.post("/work-items/{item_id}/release", response_model=WorkItemState, responses=REFUSALS)
def api_release(item_id: PathId, user: Caller, session: SessionDep) -> dict:
    """Give back a step you hold (supervisors and admins may release anyone's)."""
    _worker(user)
    return item_state(_run(work_items.release, session, actor=user, now=utcnow(),
                           work_item_id=item_id))


@router.post("/work-items/{item_id}/assign", response_model=WorkItemState, responses=REFUSALS)
def api_assign(item_id: PathId, body: Assignment, user: Caller, session: SessionDep) -> dict:
    """Hand a step to a person by user id (supervisors and admins)."""
    _decider(user)
    return item_state(_run(work_items.assign, session, actor=user, now=utcnow(),
                           work_item_id=item_id, assignee_id=body.assignee_id))


# ---- approvals ----------------------------------------------------------------------------------

def _decider(user) -> None:
    if user.role not in APPROVER_ROLES:
        raise HTTPException(status_code=403, detail={
            "message": "Only a supervisor or an admin may do this"})


def approval_json(request: ApprovalRequest, case: Case) -> dict:
    """A request as the API shows it."""
    return {"id": request.id, "case_id": request.case_id, "process_id": case.process_id,
            "kind": request.kind, "params": request.parameters,
            "reason_code": request.reason_code, "note": request.note,
            "requested_by": request.requested_by, "requested_at": _iso(request.requested_at),
            "status": request.status, "decided_by": request.decided_by,
            "decided_at": _iso(request.decided_at), "decision_note": request.decision_note}


ViewParam = Annotated[str | None, Query(
    pattern=f"^({'|'.join(approvals.VIEWS)})$",
    description="decide: requests you may decide (supervisors, admins; the default for them); "
                "mine: requests you made (the default for agents)")]
StatusParam = Annotated[str | None, Query(
    pattern=f"^({'|'.join(APPROVAL_STATUSES)}|any)$",
    description="pending (default), approved, rejected, or any")]


@router.get("/approvals", response_model=Paged[ApprovalOut], responses=REFUSALS)
def api_approvals(user: Caller, session: SessionDep, view: ViewParam = None,
                  status: StatusParam = "pending", case_id: QueryId = None,
                  limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> dict:
    """Approval requests, oldest first: the ones you may decide, or the ones you made."""
    _worker(user)
    view = view or ("decide" if user.role in APPROVER_ROLES else "mine")
    rows, total = _run(approvals.search, session, actor=user, view=view,
                       status=None if status == "any" else status, case_id=case_id,
                       limit=limit, offset=offset)
    return page([approval_json(r, c) for r, c in rows], total, limit=limit, offset=offset)


@router.get("/approvals/{request_id}", response_model=ApprovalOut, responses=REFUSALS)
def api_approval(request_id: PathId, user: Caller, session: SessionDep) -> dict:
    """One approval request (anyone who works cases sees a case's requests)."""
    _worker(user)
    request = _run(approvals.get_request, session, request_id)
    return approval_json(request, session.get(Case, request.case_id))


@router.post("/approvals/{request_id}/approve", response_model=ApprovalResult,
             responses=REFUSALS)
def api_approve(request_id: PathId, body: ApprovalDecision, user: Caller,
                session: SessionDep) -> dict:
    """Carry the deviation out as its requester asked, naming you as approver (never your own
    request; 409 when it can no longer be done: it stays pending, reject it instead)."""
    _decider(user)
    case = _run(approvals.approve, session, actor=user, now=utcnow(), request_id=request_id,
                note=body.note)
    return _decided(session, request_id, case)


@router.post("/approvals/{request_id}/reject", response_model=ApprovalResult,
             responses=REFUSALS)
def api_reject(request_id: PathId, body: ApprovalDecision, user: Caller,
               session: SessionDep) -> dict:
    """Turn the request down; `note` (required) says why, for the agent."""
    _decider(user)
    request = _run(approvals.reject, session, actor=user, now=utcnow(), request_id=request_id,
                   note=body.note)
    return _decided(session, request_id, session.get(Case, request.case_id))


def _decided(session, request_id: int, case: Case) -> dict:
    request = session.get(ApprovalRequest, request_id, populate_existing=True)
    case = session.get(Case, case.id, populate_existing=True)
    return {"request": approval_json(request, case), "case": _case_json(session, case)}
