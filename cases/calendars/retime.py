"""Re-time open steps after a business calendar changed: the job `calendar_retime`.

A step's due time is the time it opened plus its caseflow.sla, counted on its team's calendar
(cases/sla.py), then moved on by every hold the customer caused while it was open. When an admin
changes, adds or removes a calendar, or moves a team to another one, the calendar service
schedules this job in the same transaction; the job executor runs it, never the admin's request.

It counts each open step's due time again on the calendars as they are now and, where it moved,
writes the new time and a `task_due_recomputed` event on the case (who changed what, from when to
when). It leaves alone:
- a due time a person set (a `deadline_extended` on the step, one by one or in bulk, and an
  ad-hoc step's own due time: the model gives it no caseflow.sla);
- a step already past its target (`sla_state` breached: the breach and its escalation are on
  record);
- a step of a called process defined in another file (its caseflow.sla is not in the case's own
  model), and escalation items.

Cases are taken in id order, `BATCH` a run, each in its own transaction under the case lock. A case
someone is changing at that moment is tried again in a later run. A calendar change while a run
is under way starts the job again from the first case; running it twice moves nothing twice.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from .. import events
from ..case_models import Case, WorkItem
from ..case_service import engine_action
from ..errors import Conflict
from ..events import CaseEvent
from ..jobs import service as jobs
from ..jobs.handlers import Context, register
from ..jobs.models import Job
from ..sla import task_sla
from ..timers import SYSTEM
from .clock import WorkingClock
from .service import RETIME_KIND, calendar_for_team, clock_of

log = logging.getLogger("caseflow.calendars")
BATCH = 200  # cases a run
BUSY_AGAIN = timedelta(seconds=10)
MAX_ROUNDS = 10  # passes over cases that were busy, then they keep their due times
SAME = timedelta(seconds=1)  # closer than this is the same due time
_RANK = {"on_time": 0, "at_risk": 1, "breached": 2}


@dataclass(frozen=True)
class History:
    """What a case's log says about its steps' due times: set by hand, and holds paused."""

    by_hand: frozenset[int]                     # work item ids whose due a person set
    pauses: tuple[tuple[datetime, datetime], ...]  # (held at, resumed at), internal clock stopped


def _history(session: Session, case_ids: list[int]) -> dict[int, History]:
    rows = session.exec(select(CaseEvent.case_id, CaseEvent.type, CaseEvent.at, CaseEvent.details)
                        .where(CaseEvent.case_id.in_(case_ids),
                               CaseEvent.type.in_(("deadline_extended", "case_resumed")))
                        .order_by(CaseEvent.case_id, CaseEvent.seq)).all()
    hand: dict[int, set[int]] = {c: set() for c in case_ids}
    pauses: dict[int, list] = {c: [] for c in case_ids}
    for case_id, type, at, text in rows:
        details = json.loads(text or "{}")
        if type == "deadline_extended" and details.get("work_item_id"):
            hand[case_id].add(int(details["work_item_id"]))
        elif type == "case_resumed" and details.get("internal_clock_paused") and details.get(
                "held_at"):
            pauses[case_id].append((datetime.fromisoformat(details["held_at"]), at))
    return {c: History(frozenset(hand[c]), tuple(pauses[c])) for c in case_ids}


class Clocks:
    """Each team's clock and calendar name as the calendars are now (read once per team)."""

    def __init__(self, session: Session):
        self.session, self.found = session, {}

    def of(self, team: str | None) -> tuple[WorkingClock | None, str | None]:
        if team not in self.found:
            calendar = calendar_for_team(self.session, team)
            self.found[team] = ((clock_of(calendar), calendar.name) if calendar is not None
                                else (None, None))
        return self.found[team]


def due_now(session: Session, item: WorkItem, case: Case, history: History,
            clocks: Clocks) -> datetime | None:
    """The step's due time counted on today's calendars, or None when it is left alone."""
    if item.id in history.by_hand or item.sla_state == "breached" or item.kind == "escalation":
        return None
    sla = task_sla(session, item.definition_id, case.process_id, item.element_id)
    if not sla:
        return None
    clock, _ = clocks.of(item.team)
    due = clock.add(item.created_at, sla) if clock else item.created_at + sla
    for held_at, resumed_at in history.pauses:
        if item.created_at <= resumed_at:  # open when the case resumed: its target moved on
            held = clock.working_between(held_at, resumed_at) if clock else resumed_at - held_at
            due = (clock.add_hours(due, held) if clock else due + held) if held else due
    return due


def _timed(case_ids) -> sa.Select:
    return (select(WorkItem).where(WorkItem.case_id.in_(case_ids), WorkItem.state == "open",
                                   WorkItem.kind != "escalation", WorkItem.due_at.is_not(None),
                                   WorkItem.sla_state != "breached")
            .order_by(WorkItem.case_id, WorkItem.id))


def _moves(session: Session, cases: list[Case], clocks: Clocks) -> dict[int, list]:
    """Per case, the (item, new due) of its open steps whose due time moves."""
    if not cases:
        return {}
    by_id = {c.id: c for c in cases}
    history = _history(session, list(by_id))
    found: dict[int, list] = {}
    for item in session.exec(_timed(list(by_id)).execution_options(populate_existing=True)):
        due = due_now(session, item, by_id[item.case_id], history[item.case_id], clocks)
        if due is not None and abs(due - item.due_at) >= SAME:
            found.setdefault(item.case_id, []).append((item, due))
    return found


def retime_case(session: Session, case_id: int, *, now: datetime, why: str, share: float,
                clocks: Clocks) -> int:
    """Re-time one case's open steps in one transaction under the case lock; return how many
    moved (Conflict when someone is changing the case)."""
    case = session.get(Case, case_id, populate_existing=True)
    if case is None or not _moves(session, [case], clocks):
        session.rollback()
        return 0
    with engine_action(session, actor=SYSTEM, now=now, case_id=case.id,
                       expected_version=case.row_version, statuses=("open", "on_hold"),
                       load=False) as action:
        moved = _moves(session, [action.case], clocks).get(case.id, [])
        for item, due in moved:
            before, item.due_at = item.due_at, due
            clock, calendar = clocks.of(item.team)
            state = (clock.state_at(item.created_at, due, now, share) if clock else
                     _plain_state(item.created_at, due, now, share))
            if _RANK[state] < _RANK[item.sla_state]:  # no longer at risk: watch it again
                item.sla_state = state
            session.add(item)
            events.record(session, action.case, "task_due_recomputed", actor=SYSTEM.username,
                          at=now, element_id=item.element_id,
                          details={"work_item_id": item.id, "name": item.name, "team": item.team,
                                   "from": before.isoformat(), "to": due.isoformat(),
                                   "calendar": calendar, "why": why})
    return len(moved)


def _plain_state(start: datetime, target: datetime, now: datetime, share: float) -> str:
    if target <= now:
        return "breached"
    return "at_risk" if start + (target - start) * share <= now else "on_time"


def _next_cases(session: Session, data: dict) -> list[int]:
    if "only" in data:
        return [int(c) for c in data["only"][:BATCH]]
    return list(session.exec(
        select(WorkItem.case_id).join(Case, Case.id == WorkItem.case_id)
        .where(WorkItem.state == "open", WorkItem.kind != "escalation",
               WorkItem.due_at.is_not(None), WorkItem.case_id > int(data.get("after", 0)),
               Case.status.in_(("open", "on_hold")))
        .distinct().order_by(WorkItem.case_id).limit(BATCH)).all())


def run_retime(session: Session, job: Job, ctx: Context) -> None:
    """One run of the job: up to BATCH cases, then come back for the rest (or the busy ones)."""
    data = jobs.payload_of(job)
    why = f"{data.get('why', 'a calendar changed')} (by {data.get('by', 'an admin')})"
    case_ids = _next_cases(session, data)
    clocks, busy, moved = Clocks(session), [], int(data.get("moved", 0))
    # One read for the whole batch; only the cases where a due time moves are locked.
    planned = sorted(_moves(session, list(session.exec(select(Case).where(
        Case.id.in_(case_ids), Case.status.in_(("open", "on_hold"))))), clocks))
    session.rollback()
    for case_id in planned:
        try:
            moved += retime_case(session, case_id, now=ctx.now, why=why, share=ctx.sla_share,
                                 clocks=clocks)
        except Conflict:
            busy.append(case_id)  # someone is changing it: a later run tries again
        except Exception:  # noqa: BLE001 - one broken case must not stop the others
            log.exception("re-timing the steps of case %s failed; it keeps its due times", case_id)
    if jobs.held(session, job.id, ctx.owner) is None:
        raise jobs.LeaseLost(f"job {job.id} was taken over by another worker")
    busy = data.get("busy", []) + busy
    rounds = int(data.get("rounds", 0))
    if "only" in data and data["only"][BATCH:]:  # more busy cases of the last pass
        follow = {**data, "only": data["only"][BATCH:], "busy": busy}
    elif "only" not in data and len(case_ids) == BATCH:  # more cases after these
        follow = {**data, "after": case_ids[-1], "busy": busy}
    elif busy and rounds < MAX_ROUNDS:  # a pass over the cases that were busy, a moment later
        follow = {**data, "only": busy, "busy": [], "rounds": rounds + 1}
    else:
        follow = None
    if follow is None:
        jobs.done(session, job, ctx.owner)
        log.info("calendar change re-timed %s open steps: %s", moved, why)
    else:
        later = ctx.now + BUSY_AGAIN if follow.get("rounds", 0) > rounds else ctx.now
        jobs.reschedule(session, job, ctx.owner, due_at=later, now=ctx.now,
                        payload={**follow, "moved": moved})
    session.commit()


register(RETIME_KIND, run_retime)
