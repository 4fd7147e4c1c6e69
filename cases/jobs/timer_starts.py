"""Timer start events: an active version whose process starts on a date or cycle opens its cases
by itself, one per firing, exactly once across workers.

Each timer start event of an active version has one job (`timer_start:<version>:<element>`) due at
its next firing; the handler opens the case and moves the job to the firing after, in the same
transaction, so two workers can never open the same firing twice. `sync` keeps the jobs in step
with which versions are active (called when versions are deployed, activated or retired, and when
an executor starts).
"""
from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from engine import store
from engine.errors import EngineError
from engine.store import DefinitionVersion
from engine.timer_starts import next_start_time

from ..customers import Customer
from ..timers import SYSTEM
from . import service
from .handlers import Context, register
from .models import Job

log = logging.getLogger("caseflow.jobs")
KIND = "timer_start"
# Cases a timer opens have no customer contact behind them: they belong to this customer row
# and are recorded as opened through the web channel by `system`.
SYSTEM_ACCOUNT = "CASEFLOW-TIMER"
SYSTEM_CHANNEL = "web"


def _key(definition_id: int, element_id: str) -> str:
    return f"{KIND}:{definition_id}:{element_id}"


def sync(session: Session, *, now: datetime) -> int:
    """Give every timer start of every active version its job and drop those of other versions;
    return how many jobs were made (session.add only)."""
    wanted: dict[str, tuple[int, str, datetime]] = {}
    for version in session.exec(select(DefinitionVersion).where(
            DefinitionVersion.status == "active")).all():
        try:
            starts = store.compiled_by_id(session, version.id).timer_starts
        except EngineError:
            continue
        for start in starts:
            try:
                due = next_start_time(start.expression, version.activated_at or now, 0)
            except (EngineError, ValueError) as err:
                log.warning("timer start %s of %s v%s cannot be scheduled: %s", start.element_id,
                            version.process_id, version.version, err)
                continue
            if due is not None:
                wanted[_key(version.id, start.element_id)] = (version.id, start.element_id, due)
    existing = set(session.exec(select(Job.key).where(Job.kind == KIND)).all())
    for key in existing - wanted.keys():
        service.unschedule(session, key)
    for key in wanted.keys() - existing:
        version_id, element_id, due = wanted[key]
        service.ensure(session, kind=KIND, key=key, due_at=due, now=now,
                       payload={"definition_id": version_id, "element_id": element_id, "fired": 0})
    return len(wanted.keys() - existing)


def system_customer(session: Session, *, now: datetime) -> Customer:
    """The customer row of cases that a timer opened (made once)."""
    found = session.exec(select(Customer).where(Customer.account_number == SYSTEM_ACCOUNT)).first()
    if found is None:
        found = Customer(name="No customer (opened by a timer)", account_number=SYSTEM_ACCOUNT,
                         created_at=now)
        session.add(found)
        session.flush()
    return found


def _system_customer_id(session: Session, *, now: datetime) -> int:
    """Make the timer's customer row in a transaction of its own (two workers may race to it)."""
    try:
        customer_id = system_customer(session, now=now).id
        session.commit()
        return customer_id
    except sa.exc.IntegrityError:
        session.rollback()
        return system_customer(session, now=now).id


def fire(session: Session, job: Job, ctx: Context) -> None:
    """Open the case of this firing and schedule the next one, in one transaction."""
    from ..case_service import open_case
    customer_id = _system_customer_id(session, now=ctx.now)
    job = service.held(session, job.id, ctx.owner)
    if job is None:
        raise service.LeaseLost("the timer start job was taken over by another worker")
    data = service.payload_of(job)
    version = session.get(DefinitionVersion, data["definition_id"], populate_existing=True)
    if version is None or version.status != "active":
        service.done(session, job, ctx.owner)
        session.commit()
        return
    start = next(s for s in store.compiled_by_id(session, version.id).timer_starts
                 if s.element_id == data["element_id"])
    fired = data["fired"] + 1
    following = next_start_time(start.expression, version.activated_at or ctx.now, fired)
    if following is None:
        service.done(session, job, ctx.owner)
    else:
        service.reschedule(session, job, ctx.owner, due_at=following, now=ctx.now,
                           payload={**data, "fired": fired})
    open_case(session, actor=SYSTEM, now=ctx.now, customer_id=customer_id,
              process_id=version.process_id, channel=SYSTEM_CHANNEL, time_limit=ctx.time_limit,
              lane_teams=ctx.lane_teams, start_event=start.element_id, definition=version,
              data={"started_by_timer": start.element_id, "firing": fired})


register(KIND, fire)
__all__ = ["sync", "fire", "system_customer", "sa"]
