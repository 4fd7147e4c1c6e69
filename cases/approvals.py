"""Approvals: a deviation the policy reserves for two people waits here until a supervisor decides.

An agent's request is stored with everything needed to carry it out later (kind, parameters,
reason, note) and logged as `deviation_requested`; the case itself does not change. Approving
runs the deviation as the requester, with the approver named on the deviation row, and logs
`deviation_approved` in the same commit; rejecting logs `deviation_rejected`. Who may decide is
the policy table's (cases/policy.py: approve, reject); the database also refuses a decision by the
requester (CHECK constraint). Both decisions lock the request row first and the case row second,
so two people deciding one request at once get one decision and one 409, never a deadlock.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from engine.store import utc_column

from . import events, policy
from .case_models import CASE_STATUSES, Case, _in
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .users import User

APPROVAL_STATUSES = ("pending", "approved", "rejected")
# Who sees the queue: the roles the policy table lets approve requests.
APPROVER_ROLES = tuple(role for role in policy.ROLES
                       if policy.TABLE[(role, "approve", policy.ORDINARY)] == policy.ALLOWED)


class ApprovalRequest(SQLModel, table=True):
    """A deviation waiting for (or decided by) a second person."""

    __tablename__ = "approval_request"
    __table_args__ = (
        sa.CheckConstraint(_in("status", APPROVAL_STATUSES), name="ck_approval_request_status"),
        sa.CheckConstraint("decided_by IS NULL OR decided_by <> requested_by",
                           name="ck_approval_request_not_own"),
        sa.Index("ix_approval_request_status_requested", "status", "requested_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    kind: str = Field(max_length=32)
    params: str = Field(default="{}", sa_type=sa.Text)  # keyword arguments of the deviation service
    reason_code: str = Field(max_length=64)
    note: str = Field(sa_type=sa.Text)
    requested_by: str = Field(max_length=64)
    requested_at: datetime = utc_column()
    status: str = Field(default="pending", max_length=16)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = utc_column(default=None, nullable=True)
    decision_note: str | None = Field(default=None, sa_type=sa.Text)

    @property
    def parameters(self) -> dict[str, Any]:
        """Return the deviation's own arguments (datetimes as ISO strings)."""
        return json.loads(self.params)


def open_request(session: Session, *, case: Case, kind: str, actor: User, now: datetime,
                 reason_code: str, note: str, params: Mapping[str, Any]) -> ApprovalRequest:
    """Store a pending request and log `deviation_requested` (session.add only; caller commits)."""
    waiting = session.exec(select(ApprovalRequest.id).where(
        ApprovalRequest.case_id == case.id, ApprovalRequest.kind == kind,
        ApprovalRequest.status == "pending")).first()
    if waiting is not None:
        raise Conflict(f"A request to {kind.replace('_', ' ')} this case is already waiting "
                       "for a supervisor's approval")
    request = ApprovalRequest(case_id=case.id, kind=kind, params=events.canonical_json(dict(params)),
                              reason_code=reason_code, note=note.strip(), requested_by=actor.username,
                              requested_at=now)
    session.add(request)
    session.flush()
    events.record(session, case, "deviation_requested", actor=actor.username, at=now,
                  details={"request_id": request.id, "kind": kind, "reason_code": reason_code,
                           "note": note.strip(), "params": dict(params)})
    return request


def get_request(session: Session, request_id: int) -> ApprovalRequest:
    """Return a request or raise NotFound."""
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound(f"No approval request {request_id}")
    return request


def _claim(session: Session, request_id: int) -> ApprovalRequest:
    """Lock the request row first (FOR UPDATE; SQLite locks on write), then check it is pending.

    Approve and reject both take this lock before the case's, so deciding one request at once
    from two places queues on it: one wins, the other sees the decision (409), never a deadlock.
    """
    request = session.exec(select(ApprovalRequest).where(ApprovalRequest.id == request_id)
                           .with_for_update()
                           .execution_options(populate_existing=True)).first()
    if request is None:
        session.rollback()
        raise NotFound(f"No approval request {request_id}")
    if request.status != "pending":
        status, by = request.status, request.decided_by
        session.rollback()
        raise Conflict(f"This request was already {status} by {by}")
    return request


def _decide(session: Session, request: ApprovalRequest, *, actor: User, now: datetime, status: str,
            note: str | None) -> None:
    """Record the decision in one conditional UPDATE (the row is locked, this is the belt)."""
    result = session.execute(
        sa.update(ApprovalRequest)
        .where(ApprovalRequest.id == request.id, ApprovalRequest.status == "pending")
        .values(status=status, decided_by=actor.username, decided_at=now,
                decision_note=(note or "").strip() or None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict("This request was decided by someone else meanwhile; reload")
    session.expire(request)


def _policy(session: Session, request: ApprovalRequest, action: str, actor: User) -> Case:
    """Ask the policy table whether the actor may decide this request; return its case."""
    from . import duties

    case = session.get(Case, request.case_id, populate_existing=True)
    step = duties.action_step(session, case, request.kind, request.parameters)
    policy.decide(actor, action, step, requested_by=request.requested_by)
    return case


def approve(session: Session, *, actor: User, now: datetime, request_id: int,
            note: str | None = None) -> Case:
    """Carry out a pending deviation as its requester, naming the approver. Commit once.

    If the deviation can no longer be done (the case moved on, the step is gone), nothing is
    stored and the request stays pending, so the supervisor can reject it instead.
    """
    from . import deviation_service  # the services call back into this module

    try:
        request = _claim(session, request_id)
        case = _policy(session, request, "approve", actor)
        requester = session.exec(select(User).where(User.username == request.requested_by)).first()
        if requester is None:
            raise NotFound(f"The requester {request.requested_by} no longer exists; reject the request")
        _decide(session, request, actor=actor, now=now, status="approved", note=note)
        service = getattr(deviation_service, request.kind)
        params = _revive(request.kind, request.parameters)
        return service(session, actor=requester, now=now, case_id=case.id,
                       expected_version=case.row_version, reason_code=request.reason_code,
                       note=request.note, approval=Approval(request.id, actor.username, note), **params)
    except Exception:
        session.rollback()  # the decision goes back to pending with everything else
        raise


def reject(session: Session, *, actor: User, now: datetime, request_id: int,
           note: str | None = None) -> ApprovalRequest:
    """Turn a pending request down, logging who and why. Commit once."""
    from .case_service import engine_action

    if not (note or "").strip():
        raise InvalidInput({"note": "Say why the request is rejected (the agent will read it)"})
    try:
        request = _claim(session, request_id)
        case = _policy(session, request, "reject", actor)
    except Exception:
        session.rollback()
        raise
    with engine_action(session, actor=actor, now=now, case_id=case.id,
                       expected_version=case.row_version, statuses=CASE_STATUSES, load=False):
        _decide(session, request, actor=actor, now=now, status="rejected", note=note)
        events.record(session, case, "deviation_rejected", actor=actor.username, at=now,
                      details={"request_id": request.id, "kind": request.kind,
                               "requested_by": request.requested_by, "note": note.strip()})
    session.refresh(request)
    return request


class Approval:
    """What a deviation service needs to know about the approval it carries out."""

    def __init__(self, request_id: int, approver: str, note: str | None):
        self.request_id, self.approver, self.note = request_id, approver, (note or "").strip() or None


def _revive(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Turn stored parameters back into the service's argument types."""
    if params.get("due_at"):
        params["due_at"] = datetime.fromisoformat(params["due_at"])
    return params


def pending(session: Session, *, actor: User, limit: int = 50, offset: int = 0
            ) -> list[tuple[ApprovalRequest, Case]]:
    """Return pending requests, oldest first, with their cases (the supervisors' queue)."""
    if actor.role not in APPROVER_ROLES:
        raise Forbidden("Only supervisors see the approval queue")
    query = (select(ApprovalRequest, Case).join(Case, Case.id == ApprovalRequest.case_id)
             .where(ApprovalRequest.status == "pending")
             .order_by(ApprovalRequest.requested_at, ApprovalRequest.id).limit(limit).offset(offset))
    return list(session.exec(query).all())


VIEWS = ("decide", "mine")


def search(session: Session, *, actor: User, view: str, status: str | None = "pending",
           case_id: int | None = None, limit: int = 50, offset: int = 0
           ) -> tuple[list[tuple[ApprovalRequest, Case]], int]:
    """Return a page of requests with their cases, oldest first, and how many match.

    `decide`: the requests the actor may decide (approvers only; never their own), as on the
    queue page; `mine`: the requests the actor made, whatever became of them.
    """
    if view == "decide":
        if actor.role not in APPROVER_ROLES:
            raise Forbidden("Only supervisors decide requests; ask for view=mine")
        where = [ApprovalRequest.requested_by != actor.username]
    elif view == "mine":
        where = [ApprovalRequest.requested_by == actor.username]
    else:
        raise InvalidInput({"view": f"Choose one of {', '.join(VIEWS)}"})
    if status is not None:
        where.append(ApprovalRequest.status == status)
    if case_id is not None:
        where.append(ApprovalRequest.case_id == case_id)
    total = session.exec(select(sa.func.count()).select_from(ApprovalRequest).where(*where)).one()
    query = (select(ApprovalRequest, Case).join(Case, Case.id == ApprovalRequest.case_id)
             .where(*where).order_by(ApprovalRequest.requested_at, ApprovalRequest.id)
             .limit(limit).offset(offset))
    return list(session.exec(query).all()), int(total)


def pending_count(session: Session) -> int:
    """Return how many requests wait for a decision."""
    return int(session.exec(select(sa.func.count()).select_from(ApprovalRequest)
                            .where(ApprovalRequest.status == "pending")).one())


def for_case(session: Session, case_id: int) -> list[ApprovalRequest]:
    """Return every request of a case, newest first."""
    return list(session.exec(select(ApprovalRequest).where(ApprovalRequest.case_id == case_id)
                             .order_by(ApprovalRequest.requested_at.desc(),
                                       ApprovalRequest.id.desc())).all())
