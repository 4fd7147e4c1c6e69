"""The supervisors' approval queue: deviations an agent asked for, approved or rejected with a note."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import select

from cases import approvals
from cases.customers import Customer
from cases.errors import CaseError, InvalidInput
from cases.reason_codes import ReasonCode
from cases.users import User

from .inputs import Page, PathId
from .security import SessionDep, require_csrf
from .work_cases import KIND_TITLES, FormData
from .work_common import (
    SupervisorUser,
    flash,
    int_or_none,
    is_htmx,
    now,
    pop_flash,
    redirect,
    render,
    status_for,
)

router = APIRouter()
PAGE_SIZE = 50


def _page(request: Request, session, user: User, *, page: int = 1, status_code: int = 200,
          errors: dict | None = None, typed: dict | None = None, message: str | None = None):
    rows = approvals.pending(session, actor=user, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    reasons = {r.code: r.label for r in session.exec(select(ReasonCode)).all()}
    customers = {c.id: c for c in session.exec(select(Customer).where(
        Customer.id.in_({case.customer_id for _, case in rows} or {0}))).all()}
    names = {u.username: u.display_name for u in session.exec(select(User)).all()}
    context = {"user": user, "rows": rows[:PAGE_SIZE], "has_next": len(rows) > PAGE_SIZE,
               "page": page, "reasons": reasons, "customers": customers, "names": names,
               "kind_titles": KIND_TITLES, "errors": errors or {}, "typed": typed or {},
               "message": message, "flash": pop_flash(request)}
    name = "work/_approvals.html" if is_htmx(request) else "work/approvals.html"
    return render(request, name, context, status_code=status_code)


@router.get("/approvals")
def queue(request: Request, session: SessionDep, user: SupervisorUser, page: Page = 1):
    """Pending requests, oldest first."""
    return _page(request, session, user, page=page)


def _decide(request: Request, session, user: User, request_id: int, form: dict, action, verb: str):
    note = form.get("note", "")
    try:
        action(session, actor=user, now=now(), request_id=request_id, note=note)
    except InvalidInput as err:
        return _page(request, session, user, status_code=400,
                     errors={request_id: err.errors.get("note") or str(err)},
                     typed={request_id: note}, message=str(err))
    except CaseError as err:
        return _page(request, session, user, status_code=status_for(err),
                     errors={request_id: str(err)}, typed={request_id: note}, message=str(err))
    flash(request, f"Request {request_id} {verb}.")
    return redirect("/approvals")


@router.post("/approvals/{request_id}/approve", dependencies=[Depends(require_csrf)])
def approve(request: Request, session: SessionDep, user: SupervisorUser, request_id: PathId,
            form: dict = FormData):
    """Carry out the request as the agent asked, naming this supervisor as approver."""
    return _decide(request, session, user, request_id, form, approvals.approve, "approved")


@router.post("/approvals/{request_id}/reject", dependencies=[Depends(require_csrf)])
def reject(request: Request, session: SessionDep, user: SupervisorUser, request_id: PathId,
           form: dict = FormData):
    """Turn the request down with a note for the agent."""
    return _decide(request, session, user, request_id, form, approvals.reject, "rejected")


__all__ = ["int_or_none", "router"]
