"""What each kind of job does. A handler runs inside its own transaction and must finish its job
in that same transaction (`service.done` or `service.reschedule`, or for timers the case's own
timer sync), so a job's effect and its removal are committed together: exactly once.

Handlers raise `Retry` when the case was busy (not a failure) and anything else when they fail;
the executor counts the attempt, backs off and opens an incident at the limit.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterator, Mapping

from sqlmodel import Session

from ..case_models import Case
from ..case_service import EngineAction, engine_action
from ..errors import Conflict
from ..timers import SYSTEM
from . import service
from .models import Job

OPEN_OR_HELD = ("open", "on_hold")


class Retry(Exception):
    """The job could not run now for a reason that is not its fault (the case was busy)."""


@dataclass(frozen=True)
class Context:
    """What handlers need besides the session: who runs them and the product's settings."""

    owner: str
    now: datetime
    time_limit: float = 2.0
    lane_teams: Mapping[str, str] | None = None
    sla_share: float = 0.8
    sla_every: timedelta = timedelta(seconds=60)


@contextmanager
def case_action(session: Session, job: Job, ctx: Context) -> Iterator[EngineAction | None]:
    """The case transaction a case's job runs in: yields None (and drops the job) when the case
    is closed or gone; a case someone else is changing makes the job `Retry` later."""
    case = session.get(Case, job.case_id, populate_existing=True)
    if case is None or case.status not in OPEN_OR_HELD:
        service.done(session, job, ctx.owner)
        session.commit()
        yield None
        return
    try:
        with engine_action(session, actor=SYSTEM, now=ctx.now, case_id=case.id,
                           expected_version=case.row_version, statuses=OPEN_OR_HELD,
                           time_limit=ctx.time_limit, lane_teams=ctx.lane_teams,
                           incidents=False) as action:
            yield action
    except Conflict as err:
        raise Retry(str(err)) from None


def fire_timer(session: Session, job: Job, ctx: Context) -> None:
    """Fire the case's due timers (and whatever runs after them) in one case transaction."""
    with case_action(session, job, ctx) as action:
        if action is None:
            return
        if service.held(session, job.id, ctx.owner) is None:
            raise service.LeaseLost(f"job {job.id} was taken over by another worker")
        action.live.advance(now=ctx.now)
        action.sync_timer = True  # moves (or drops) this very job, clearing the lease


def sweep_sla(session: Session, job: Job, ctx: Context) -> None:
    """Mark steps and promises at risk or breached (one transaction per case), then come back."""
    from ..sla_sweep import sweep

    session.rollback()
    sweep(session, now=ctx.now, share=ctx.sla_share)
    service.reschedule(session, job, ctx.owner, due_at=ctx.now + ctx.sla_every, now=ctx.now)
    session.commit()


HANDLERS: dict[str, Callable[[Session, Job, Context], None]] = {
    "timer": fire_timer,
    "sla_sweep": sweep_sla,
}


def register(kind: str, handler: Callable[[Session, Job, Context], None]) -> None:
    """Add the handler of a job kind (signals, timer starts, webhooks, notifications...)."""
    HANDLERS[kind] = handler


# Modules whose job kinds register themselves (imported lazily: they depend on this one).
HANDLER_MODULES = ("cases.subscriptions.signals", "cases.jobs.timer_starts",
                   "cases.relay.delivery", "cases.relay.broadcast",
                   "cases.webhooks.dispatch", "cases.notifications.mail",
                   "cases.calendars.retime")


def load_all() -> None:
    """Import every module that registers a job kind."""
    import importlib

    for name in HANDLER_MODULES:
        importlib.import_module(name)
