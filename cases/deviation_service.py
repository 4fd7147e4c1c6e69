"""Deviations: leave the happy path of a case with a reason; each is an event and a deviation row.

Every service checks the reason against the catalog, calls the engine inside `engine_action`
(lock -> load -> act -> save -> project -> events -> commit once) and records a typed event
plus a `Deviation` row in the same transaction.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from sqlmodel import Session, select

from engine import deviations as engine_deviations
from engine.errors import FormInvalid, StepNotFound, TaskNotReady

from . import approvals, duties, events, policy
from .approvals import Approval
from .case_models import Case, WorkItem
from .case_service import EngineAction, engine_action, get_case
from .deviations import Deviation
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .preview.needs import check_skip, skip_data
from .reason_codes import ReasonCode, require_reason
from .rework import keep_worker
from .sla import moved_by_pause
from .users import User

LIVE = ("open",)
CUSTOMER_CAUSED = ("customer_driven",)  # hold categories that stop the internal SLA clock
NOT_CLOSED = ("open", "on_hold")


def _reason(session: Session, action: EngineAction, kind: str, reason_code: str | None,
            note: str | None) -> ReasonCode:
    return require_reason(session, kind, reason_code, note, action.case.process_id)


def _gate(session: Session, kind: str, *, actor: User, now: datetime, case_id: int,
          expected_version: int, reason_code: str | None, note: str | None,
          approval: Approval | None, params: Mapping[str, Any],
          check: Callable[[], None] | None = None) -> Case | None:
    """Consult the policy for what this deviation touches; store a request when it must wait.

    Returns None when the actor may go ahead (or carries out a request a supervisor approved)
    and the case when the deviation now waits for approval; raises Forbidden when the table
    refuses it. What it touches is read from the case and the model (cases/duties.py), so the
    same step gets the same answer by every route.
    """
    case = get_case(session, case_id)
    step = duties.action_step(session, case, kind, params)
    decision = policy.decide(actor, kind, step, approval=approval)
    if check is not None:  # refuse bad input before a request for it is stored
        check()
    if decision == "allowed":
        return None
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, statuses=NOT_CLOSED, load=False) as action:
        reason = require_reason(session, kind, reason_code, note, action.case.process_id)
        approvals.open_request(session, case=action.case, kind=kind, actor=actor, now=now,
                               reason_code=reason.code, note=note, params=params)
    return action.case


def _deviate(session: Session, action: EngineAction, reason: ReasonCode, *, kind: str,
             event_type: str, actor: User, now: datetime, note: str, element_id: str | None,
             details: Mapping[str, Any] | None = None, approval: Approval | None = None) -> None:
    """Record the typed event and the deviation row (session.add only).

    A deviation carried out on approval is preceded by a `deviation_approved` event, and both
    its event and its row name the approver.
    """
    case = action.case
    facts = {**(details or {}), "reason_code": reason.code, "reason_category": reason.category,
             "note": note.strip()}
    if approval is not None:
        events.record(session, case, "deviation_approved", actor=approval.approver, at=now,
                      element_id=element_id, details={"request_id": approval.request_id,
                                                      "kind": kind, "requested_by": actor.username,
                                                      "note": approval.note})
        facts.update(approved_by=approval.approver, request_id=approval.request_id)
    events.record(session, case, event_type, actor=actor.username, at=now, element_id=element_id,
                  details=facts)
    session.add(Deviation(case_id=case.id, kind=kind, element_id=element_id,
                          reason_code=reason.code, note=note.strip(), actor=actor.username,
                          approver=approval.approver if approval else None,
                          definition_id=case.definition_id, at=now,
                          details=events.canonical_json(details or {})))


def _open_item(session: Session, case: Case, work_item_id: int, *,
               actor: User | None = None) -> WorkItem:
    """Return the open work item, read afresh; with `actor`, refuse one someone else holds."""
    item = session.get(WorkItem, work_item_id, populate_existing=True)
    if item is None or item.case_id != case.id:
        raise NotFound(f"No work item {work_item_id} on case {case.id}")
    if item.state != "open":
        raise Conflict(f"That step is already {item.state}; reload the case")
    if (actor is not None and item.assignee_id not in (None, actor.id)
            and actor.role not in ("supervisor", "admin")):
        raise Forbidden("Someone else has claimed this step; ask them or a supervisor to release it")
    return item


def _drop_engine_skips(action: EngineAction) -> None:
    """The deviation's own event says what was skipped; the engine's copies would double-count."""
    kept = [e for e in action.live.drain_events() if e.type != "step_skipped"]
    action.live.events.extend(kept)


def skip(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
         reason_code: str, note: str, work_item_id: int, data: Mapping[str, Any] | None = None,
         approval: Approval | None = None) -> Case:
    """Mark a ready step done without doing it; later steps get `data`, else the form's defaults.

    A field a later decision reads must be in `data` (InvalidInput names each one left out), so a
    skip never routes on a default. Commit once.
    """
    params = {"work_item_id": work_item_id, **({"data": dict(data)} if data else {})}
    waiting = _gate(session, "skip", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params=params,
                    check=lambda: check_skip(session, case_id, work_item_id, data))
    if waiting is not None:
        return waiting
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version) as action:
        reason = _reason(session, action, "skip", reason_code, note)
        item = _open_item(session, action.case, work_item_id, actor=actor)
        given = skip_data(action.live.process, item.element_id, data)
        try:
            engine_deviations.skip(action.live, item.task_id, now=now, data=given)
        except TaskNotReady:
            raise Conflict("That step is no longer waiting; reload the case") from None
        _drop_engine_skips(action)
        item.state, item.completed_at = "cancelled", now
        session.add(item)
        _deviate(session, action, reason, kind="skip", event_type="task_skipped", actor=actor,
                  now=now, note=note, element_id=item.element_id,
                  details={"work_item_id": item.id, **({"data": given} if given else {})},
                  approval=approval)
    return action.case


def go_back(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
            reason_code: str, note: str, element_id: str,
            approval: Approval | None = None) -> Case:
    """Reopen the latest completed run of an earlier step (rework). Commit once."""
    waiting = _gate(session, "go_back", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params={"element_id": element_id})
    if waiting is not None:
        return waiting
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version) as action:
        reason = _reason(session, action, "go_back", reason_code, note)
        try:
            step = engine_deviations.go_back(action.live, element_id, now=now)
        except StepNotFound as err:
            raise InvalidInput({"element_id": str(err)}) from None
        keep_worker(session, action, step.task_id)
        _deviate(session, action, reason, kind="go_back", event_type="process_rewound_to_task",
                  actor=actor, now=now, note=note, element_id=element_id,
                  details={"name": step.name}, approval=approval)
    return action.case


def jump_to(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
            reason_code: str, note: str, element_id: str,
            approval: Approval | None = None) -> Case:
    """Move forward to a later step, skipping the ones between with their defaults. Commit once."""
    waiting = _gate(session, "jump_to", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params={"element_id": element_id})
    if waiting is not None:
        return waiting
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version) as action:
        reason = _reason(session, action, "jump_to", reason_code, note)
        try:
            skipped = engine_deviations.jump_to(action.live, element_id, now=now)
        except StepNotFound as err:
            raise InvalidInput({"element_id": str(err)}) from None
        _drop_engine_skips(action)
        _deviate(session, action, reason, kind="jump_to", event_type="process_jumped_to_task",
                  actor=actor, now=now, note=note, element_id=element_id,
                  details={"skipped": skipped}, approval=approval)
    return action.case


def override_decision(session: Session, *, actor: User, now: datetime, case_id: int,
                      expected_version: int, reason_code: str, note: str, gateway_id: str,
                      target_id: str,
                      approval: Approval | None = None) -> Case:
    """Send the case down another branch of a decision (now, or when it is reached). Commit once."""
    waiting = _gate(session, "override_decision", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params={"gateway_id": gateway_id, "target_id": target_id})
    if waiting is not None:
        return waiting
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version) as action:
        reason = _reason(session, action, "override_decision", reason_code, note)
        try:
            rewound = engine_deviations.override_decision(action.live, gateway_id, target_id, now=now)
        except StepNotFound as err:
            raise InvalidInput({"target_id": str(err)}) from None
        _deviate(session, action, reason, kind="override_decision", event_type="decision_overridden",
                  actor=actor, now=now, note=note, element_id=gateway_id,
                  details={"target_id": target_id, "rewound": rewound}, approval=approval)
    return action.case


def add_task(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
             reason_code: str, note: str, title: str, team: str | None = None,
             due_at: datetime | None = None, blocking: bool = True,
             approval: Approval | None = None) -> Case:
    """Add a step the process does not have, for a team, optionally due by a time. Commit once."""
    waiting = _gate(session, "add_task", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval,
                    params={"title": title, "team": team, "due_at": due_at, "blocking": blocking})
    if waiting is not None:
        return waiting
    if not (title or "").strip():
        raise InvalidInput({"title": "Give the new step a title"})
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version) as action:
        reason = _reason(session, action, "add_task", reason_code, note)
        task_id = engine_deviations.add_adhoc_task(action.live, title, lane=team, blocking=blocking,
                                                   now=now)
        if due_at is not None:
            action.due_overrides[task_id] = due_at
        element_id = action.live.ready_task(task_id).element_id
        _deviate(session, action, reason, kind="add_task", event_type="adhoc_task_added",
                  actor=actor, now=now, note=note, element_id=element_id,
                  details={"task_id": task_id, "title": title.strip(), "team": team,
                           "blocking": blocking,
                           "due_at": due_at.isoformat() if due_at else None}, approval=approval)
    return action.case


def reassign(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
             reason_code: str, note: str, work_item_id: int, team: str | None = None,
             assignee_id: int | None = None,
             approval: Approval | None = None) -> Case:
    """Give a work item to another team and/or person. Commit once."""
    waiting = _gate(session, "reassign", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval,
                    params={"work_item_id": work_item_id, "team": team, "assignee_id": assignee_id})
    if waiting is not None:
        return waiting
    if team is None and assignee_id is None:
        raise InvalidInput({"team": "Choose a team or a person to hand the step to"})
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or not assignee.active:
            raise InvalidInput({"assignee_id": f"No active user {assignee_id}"})
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, load=False) as action:
        reason = _reason(session, action, "reassign", reason_code, note)
        item = _open_item(session, action.case, work_item_id)
        before = {"team": item.team, "assignee_id": item.assignee_id}
        if team is not None:
            item.team = team
        if assignee_id is not None:
            item.assignee_id = assignee_id
        session.add(item)
        _deviate(session, action, reason, kind="reassign", event_type="work_item_reassigned",
                  actor=actor, now=now, note=note, element_id=item.element_id,
                  details={"work_item_id": item.id, "from": before,
                           "to": {"team": item.team, "assignee_id": item.assignee_id}},
                  approval=approval)
    return action.case


def extend_deadline(session: Session, *, actor: User, now: datetime, case_id: int,
                    expected_version: int, reason_code: str, note: str, due_at: datetime,
                    work_item_id: int | None = None,
                    approval: Approval | None = None) -> Case:
    """Move a work item's due time, or the case's promise when no item is given, later. Commit once."""
    waiting = _gate(session, "extend_deadline", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params={"due_at": due_at, "work_item_id": work_item_id})
    if waiting is not None:
        return waiting
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, statuses=NOT_CLOSED, load=False) as action:
        reason = _reason(session, action, "extend_deadline", reason_code, note)
        case = action.case
        target = _open_item(session, case, work_item_id) if work_item_id is not None else case
        before = target.due_at if isinstance(target, WorkItem) else target.promised_at
        floor = max(before or now, now)  # extend: later than the current due, and not in the past
        if due_at <= floor:
            raise InvalidInput({"due_at": f"Choose a time later than {floor.isoformat()}"})
        if isinstance(target, WorkItem):
            target.due_at = due_at
        else:
            target.promised_at = due_at
        target.sla_state = "on_time"  # a breach of the old target stays in the log; watch the new one
        session.add(target)
        _deviate(session, action, reason, kind="extend_deadline", event_type="deadline_extended",
                  actor=actor, now=now, note=note,
                  element_id=target.element_id if isinstance(target, WorkItem) else None,
                  details={"work_item_id": work_item_id, "from": before.isoformat() if before else None,
                           "to": due_at.isoformat()}, approval=approval)
    return action.case


def hold(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
         reason_code: str, note: str,
         approval: Approval | None = None) -> Case:
    """Put an open case on hold, remembering since when and why (category). Commit once."""
    waiting = _gate(session, "hold", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params={})
    if waiting is not None:
        return waiting
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, load=False) as action:
        reason = _reason(session, action, "hold", reason_code, note)
        case = action.case
        case.status, case.held_at, case.hold_category = "on_hold", now, reason.category
        session.add(case)
        _deviate(session, action, reason, kind="hold", event_type="case_put_on_hold", actor=actor,
                  now=now, note=note, element_id=None, details={"category": reason.category},
                  approval=approval)
    return action.case


def resume(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
           reason_code: str, note: str,
           approval: Approval | None = None) -> Case:
    """Take a case off hold. Commit once."""
    waiting = _gate(session, "resume", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params={})
    if waiting is not None:
        return waiting
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, statuses=("on_hold",),
                       load=False) as action:
        reason = _reason(session, action, "resume", reason_code, note)
        case = action.case
        held_at, category = case.held_at, case.hold_category
        case.status, case.held_at, case.hold_category = "open", None, None
        session.add(case)
        paused = _pause_internal_clock(session, case, held_at, category, now)
        _deviate(session, action, reason, kind="resume", event_type="case_resumed", actor=actor,
                  now=now, note=note, element_id=None,
                  details={"held_at": held_at.isoformat() if held_at else None,
                           "hold_category": category,
                           "held_seconds": (now - held_at).total_seconds() if held_at else None,
                           "internal_clock_paused": paused},
                  approval=approval)
    return action.case


def _pause_internal_clock(session: Session, case: Case, held_at: datetime | None,
                          category: str | None, now: datetime) -> bool:
    """After a hold the customer caused, move the open steps' targets on by the time held.

    The internal clock stops while we wait on the customer; the customer's clock (the case's
    promise) never stops. Returns whether the targets moved.
    """
    if held_at is None or category not in CUSTOMER_CAUSED:
        return False
    for item in session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                    WorkItem.state == "open",
                                                    WorkItem.due_at.is_not(None))).all():
        item.due_at = moved_by_pause(session, item.team, item.due_at, held_at, now)
        session.add(item)
    return True


def cancel(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
           reason_code: str, note: str,
           approval: Approval | None = None) -> Case:
    """Stop the case's process for good and close the case as cancelled. Commit once."""
    waiting = _gate(session, "cancel", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params={})
    if waiting is not None:
        return waiting
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, statuses=NOT_CLOSED) as action:
        reason = _reason(session, action, "cancel", reason_code, note)
        action.live.cancel(now=now)
        case = action.case
        was = case.status
        case.status, case.closed_at, case.held_at, case.hold_category = "cancelled", now, None, None
        session.add(case)
        _deviate(session, action, reason, kind="cancel", event_type="case_cancelled", actor=actor,
                  now=now, note=note, element_id=None, details={"previous_status": was},
                  approval=approval)
    return action.case


def edit_data(session: Session, *, actor: User, now: datetime, case_id: int, expected_version: int,
              reason_code: str, note: str, element_id: str, changes: Mapping[str, Any],
              approval: Approval | None = None) -> Case:
    """Correct fields of a completed step; the event keeps old and new values. Commit once."""
    waiting = _gate(session, "edit_data", actor=actor, now=now, case_id=case_id,
                    expected_version=expected_version, reason_code=reason_code, note=note,
                    approval=approval, params={"element_id": element_id, "changes": dict(changes)})
    if waiting is not None:
        return waiting
    submitted = dict(changes)
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, statuses=NOT_CLOSED,
                       submitted=submitted) as action:
        reason = _reason(session, action, "edit_data", reason_code, note)
        try:
            changed = engine_deviations.edit_data(action.live, element_id, submitted, now=now)
        except StepNotFound as err:
            raise InvalidInput({"element_id": str(err)}, submitted) from None
        except FormInvalid as err:
            raise InvalidInput(err.errors, submitted) from None
        _deviate(session, action, reason, kind="edit_data", event_type="task_data_corrected",
                 actor=actor, now=now, note=note, element_id=element_id,
                 details={"old": {k: old for k, (old, _) in changed.items()},
                          "new": {k: new for k, (_, new) in changed.items()}},
                 approval=approval)
    return action.case


__all__ = ["edit_data", "skip", "go_back", "jump_to", "override_decision", "add_task", "reassign",
           "extend_deadline", "hold", "resume", "cancel"]
