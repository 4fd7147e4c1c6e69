"""The SLA sweep: mark steps and promises at risk or breached, once each, and escalate breaches.

A step's target is its work item's `due_at` (internal clock, paused by a customer-caused hold);
a case's promise is `promised_at`, measured from the customer's first contact and never paused.
A target is at risk once `share` (default 0.8) of the time between start and target is used, and
breached when the target passes. The sweep records `sla_at_risk` / `sla_breached` the first time
only, raises the case's priority on a breach and opens an escalation item for the supervisors.

Each case is its own transaction under the case lock (`engine_action`), and each flag moves with a
conditional UPDATE, so any number of sweeps may run at once: a case another sweep or a person is
changing is left for the next round, and no event is recorded twice.

With business calendars (cases/calendars) a step's share is of working time, so which steps
are at risk is decided in Python on the team's clock; without any calendar it stays one SQL query.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from . import duties, events, policy
from .case_models import CASE_STATUSES, Case, WorkItem, minutes_between
from .calendars.clock import WorkingClock
from .calendars.service import any_calendar, clocks_by_team
from .case_service import engine_action
from .errors import Conflict, InvalidInput, NotFound
from .sla import DEFAULT_AT_RISK, at_risk_reached, sla_status  # noqa: F401  (sla_status re-exported)
from .timers import SYSTEM
from .users import User

log = logging.getLogger("caseflow.sla")
ESCALATION_TEAM = "Supervisors"
ESCALATION_KIND = "escalation"
MAX_PRIORITY = 3
CUSTOMER_CAUSED = ("customer_driven",)  # a hold of this category stops the internal clock


@dataclass
class SweepResult:
    at_risk: int = 0
    breached: int = 0
    escalated: int = 0
    skipped_cases: int = 0


@dataclass
class Clocks:
    """The working clocks of the teams with a calendar, and the default one (None: plain time)."""

    teams: dict[str, WorkingClock]
    default: WorkingClock | None

    def of(self, team: str | None) -> WorkingClock | None:
        return self.teams.get(team or "", self.default)


def _timed_items(*columns):
    internal_clock_stopped = sa.and_(Case.status == "on_hold", Case.hold_category.in_(CUSTOMER_CAUSED))
    return (select(*columns).join(Case, Case.id == WorkItem.case_id)
            .where(WorkItem.state == "open", WorkItem.kind != ESCALATION_KIND,
                   WorkItem.due_at.is_not(None), WorkItem.sla_state != "breached",
                   sa.not_(internal_clock_stopped)))


def _due_items(now: datetime, share: float):
    return _timed_items(WorkItem.case_id).where(sa.or_(
        WorkItem.due_at <= now,
        sa.and_(WorkItem.sla_state == "on_time",
                at_risk_reached(WorkItem.created_at, WorkItem.due_at, now, share))))


def _due_item_cases_on_calendars(session: Session, now: datetime, share: float, clocks: Clocks,
                                 limit: int) -> set[int]:
    """Cases with a step past due or newly at risk in working time (decided per team clock)."""
    rows = session.exec(_timed_items(WorkItem.case_id, WorkItem.team, WorkItem.created_at,
                                     WorkItem.due_at, WorkItem.sla_state)
                        .where(sa.or_(WorkItem.due_at <= now, WorkItem.sla_state == "on_time"))
                        .order_by(WorkItem.due_at)).all()
    found: set[int] = set()
    for case_id, team, start, due, state in rows:
        if len(found) >= limit:
            break
        if case_id not in found and _item_state(clocks.of(team), start, due, now, share) != state:
            found.add(case_id)
    return found


def _item_state(clock: WorkingClock | None, start: datetime, due: datetime, now: datetime,
                share: float) -> str:
    return clock.state_at(start, due, now, share) if clock else _state_at(start, due, now, share)


def _due_cases(now: datetime, share: float):
    return (select(Case.id)
            .where(Case.status.in_(("open", "on_hold")), Case.promised_at.is_not(None),
                   Case.sla_state != "breached",
                   sa.or_(Case.promised_at <= now,
                          sa.and_(Case.sla_state == "on_time",
                                  at_risk_reached(Case.contacted_at, Case.promised_at, now, share)))))


def sweep(session: Session, *, now: datetime, share: float = DEFAULT_AT_RISK,
          limit: int = 500) -> SweepResult:
    """Record what became at risk or breached by `now`; one transaction per case."""
    clocks = Clocks(*clocks_by_team(session)) if any_calendar(session) else None
    item_cases = (set(session.exec(_due_items(now, share).limit(limit)).all()) if clocks is None
                  else _due_item_cases_on_calendars(session, now, share, clocks, limit))
    case_ids = sorted(item_cases | set(session.exec(_due_cases(now, share).limit(limit)).all()))
    session.rollback()
    clocks = clocks or Clocks({}, None)
    result = SweepResult()
    for case_id in case_ids:
        case = session.get(Case, case_id, populate_existing=True)
        try:
            with engine_action(session, actor=SYSTEM, now=now, case_id=case_id,
                               expected_version=case.row_version, statuses=("open", "on_hold"),
                               load=False) as action:
                _sweep_case(session, action.case, now=now, share=share, result=result,
                            clocks=clocks)
        except Conflict:
            result.skipped_cases += 1  # someone else is changing it: the next round sees it
        except Exception:  # noqa: BLE001 - one broken case must not stop the sweep of the others
            log.exception("SLA sweep of case %s failed; the next round tries again", case_id)
            result.skipped_cases += 1
    return result


def _state_at(start: datetime, target: datetime, now: datetime, share: float) -> str:
    if target <= now:
        return "breached"
    if start + (target - start) * share <= now:
        return "at_risk"
    return "on_time"


_RANK = {"on_time": 0, "at_risk": 1, "breached": 2}


def _move_flag(session: Session, model, row_id: int, old: str, new: str) -> bool:
    """Move a flag forward in one conditional UPDATE; False when another sweep already did."""
    moved = session.execute(sa.update(model).where(model.id == row_id, model.sla_state == old)
                            .values(sla_state=new).execution_options(synchronize_session=False))
    return moved.rowcount == 1


def _sweep_case(session: Session, case: Case, *, now: datetime, share: float,
                result: SweepResult, clocks: Clocks) -> None:
    paused = case.status == "on_hold" and case.hold_category in CUSTOMER_CAUSED
    items = [] if paused else session.exec(
        select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.state == "open",
                               WorkItem.kind != ESCALATION_KIND, WorkItem.due_at.is_not(None))
        .execution_options(populate_existing=True)).all()
    for item in items:
        new = _item_state(clocks.of(item.team), item.created_at, item.due_at, now, share)
        if _RANK[new] <= _RANK[item.sla_state] or not _move_flag(session, WorkItem, item.id,
                                                                  item.sla_state, new):
            continue
        details = {"scope": "task", "work_item_id": item.id, "team": item.team, "name": item.name,
                   "due_at": item.due_at.isoformat()}
        _flagged(session, case, new, element_id=item.element_id, details=details, now=now,
                 result=result, subject=item.name)
    if case.promised_at is not None:
        new = _state_at(case.contacted_at, case.promised_at, now, share)
        if _RANK[new] > _RANK[case.sla_state] and _move_flag(session, Case, case.id,
                                                               case.sla_state, new):
            case.sla_state = new
            _flagged(session, case, new, element_id=None, now=now, result=result,
                     subject="the promise to the customer",
                     details={"scope": "case", "promised_at": case.promised_at.isoformat()})


def _flagged(session: Session, case: Case, state: str, *, element_id: str | None, details: dict,
             now: datetime, result: SweepResult, subject: str) -> None:
    if state == "at_risk":
        result.at_risk += 1
        events.record(session, case, "sla_at_risk", actor=SYSTEM.username, at=now,
                      element_id=element_id, details=details)
        return
    result.breached += 1
    target = details.get("work_item_id") or "case"
    escalation = WorkItem(case_id=case.id, definition_id=case.definition_id,
                          task_id=f"{ESCALATION_KIND}:{target}",
                          element_id=element_id or "case", name=f"Breached: {subject}"[:255],
                          kind=ESCALATION_KIND, team=ESCALATION_TEAM, created_at=now)
    session.add(escalation)
    session.flush()
    result.escalated += 1
    previous = case.priority
    case.priority = max(previous, min(previous + 1, MAX_PRIORITY))
    session.add(case)
    events.record(session, case, "sla_breached", actor=SYSTEM.username, at=now, element_id=element_id,
                  details={**details, "escalation_item_id": escalation.id,
                           "priority": {"from": previous, "to": case.priority}})


def resolve_escalation(session: Session, *, actor: User, now: datetime, work_item_id: int,
                       note: str) -> WorkItem:
    """A supervisor closes an escalation item, saying what was done. Commit once."""
    item = session.get(WorkItem, work_item_id)
    if item is None or item.kind != ESCALATION_KIND:
        raise NotFound(f"No escalation {work_item_id}")
    case = session.get(Case, item.case_id)
    policy.decide(actor, "complete", duties.item_step(session, case, item))  # a supervisors' step
    if not (note or "").strip():
        raise InvalidInput({"note": "Say what was done about the breach"})
    with engine_action(session, actor=actor, now=now, case_id=case.id,
                       expected_version=case.row_version, statuses=CASE_STATUSES, load=False):
        done = session.execute(sa.update(WorkItem).where(WorkItem.id == item.id,
                                                         WorkItem.state == "open")
                               .values(state="done", completed_at=now, assignee_id=actor.id,
                                       minutes_spent=minutes_between(item.created_at, now))
                               .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise Conflict("This escalation is already closed")
        events.record(session, case, "escalation_resolved", actor=actor.username, at=now,
                      element_id=item.element_id, details={"work_item_id": item.id,
                                                           "note": note.strip()})
    session.refresh(item)
    return item
