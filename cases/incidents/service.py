"""Open, retry, resolve and list incidents. Each change is one transaction with its case event."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from .. import events
from ..case_models import Case
from ..case_service import engine_action, get_case
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..jobs import service as jobs
from ..timers import SYSTEM
from ..users import User
from .models import Incident

DECIDERS = ("supervisor", "admin")
EXTERNAL_SOURCE = "external_task"  # a worker's failure: a retry makes the task fetchable again
ANY_STATUS = ("open", "on_hold", "resolved", "cancelled")


def record_failure(session: Session, *, case_id: int, element_id: str | None, source: str,
                   error: str, now: datetime, job_id: int | None = None,
                   attempts: int = 1) -> Incident:
    """Open an incident for a failure (or count it on the open one for the same step); commit.

    Runs after the failed action was rolled back, as its own transaction under the case lock,
    so the incident and its `incident_opened` event are stored together or not at all.
    """
    for _ in range(3):  # a person may change the case meanwhile: take the lock again
        case = session.get(Case, case_id, populate_existing=True)
        try:
            with engine_action(session, actor=SYSTEM, now=now, case_id=case_id,
                               expected_version=case.row_version, statuses=ANY_STATUS,
                               load=False) as action:
                return _add_failure(session, action.case, element_id=element_id, source=source,
                                    error=error, now=now, job_id=job_id, attempts=attempts)
        except Conflict:
            continue
    raise Conflict(f"Case {case_id} kept changing; the failure at {element_id} was not recorded")


def add_failure(session: Session, case: Case, *, element_id: str | None, source: str, error: str,
                now: datetime, attempts: int = 1) -> Incident:
    """Open an incident inside the caller's transaction, which holds the case lock (session.add only)."""
    return _add_failure(session, case, element_id=element_id, source=source, error=error, now=now,
                        job_id=None, attempts=attempts)


def _add_failure(session: Session, case: Case, *, element_id, source, error, now, job_id,
                 attempts) -> Incident:
    incident = session.exec(select(Incident).where(
        Incident.case_id == case.id, Incident.state == "open", Incident.source == source,
        Incident.element_id == element_id if element_id else Incident.element_id.is_(None))).first()
    if incident is not None:
        incident.attempts += attempts
        incident.error, incident.last_failed_at = error, now
        incident.job_id = job_id or incident.job_id
        session.add(incident)
        return incident
    incident = Incident(case_id=case.id, definition_id=case.definition_id, process_id=case.process_id,
                        element_id=element_id, source=source, job_id=job_id, error=error,
                        attempts=attempts, opened_at=now, last_failed_at=now)
    session.add(incident)
    session.flush()
    events.record(session, case, "incident_opened", actor="engine", at=now, element_id=element_id,
                  details={"incident_id": incident.id, "source": source, "error": error,
                           "attempts": attempts})
    return incident


def get_incident(session: Session, incident_id: int) -> Incident:
    """Return an incident or raise NotFound."""
    incident = session.get(Incident, incident_id, populate_existing=True)
    if incident is None:
        raise NotFound(f"No incident {incident_id}")
    return incident


def _decide(session: Session, *, actor: User, now: datetime, incident_id: int, resolution: str,
            note: str | None) -> Incident:
    if actor.role not in DECIDERS:
        raise Forbidden("Only a supervisor or an admin may retry or resolve an incident")
    incident = get_incident(session, incident_id)
    if incident.state != "open":
        raise Conflict(f"Incident {incident_id} is already resolved")
    get_case(session, incident.case_id)
    case = session.get(Case, incident.case_id, populate_existing=True)  # its latest row version
    with engine_action(session, actor=actor, now=now, case_id=case.id,
                       expected_version=case.row_version, statuses=ANY_STATUS,
                       load=False) as action:
        claimed = session.execute(
            sa.update(Incident).where(Incident.id == incident.id, Incident.state == "open")
            .values(state="resolved", resolved_at=now, resolved_by=actor.username,
                    resolution=resolution, note=note)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            raise Conflict(f"Incident {incident_id} is already resolved")
        if resolution == "retried" and incident.job_id is not None:
            jobs.retry_failed(session, incident.job_id, now=now)
        if resolution == "retried" and incident.source == EXTERNAL_SOURCE:
            from ..external_tasks.service import reopen_after_incident

            reopen_after_incident(session, incident.id, now=now)
        events.record(session, action.case, f"incident_{resolution}", actor=actor.username,
                      at=now, element_id=incident.element_id,
                      details={"incident_id": incident.id, "note": note})
    return get_incident(session, incident_id)


def retry(session: Session, *, actor: User, now: datetime, incident_id: int,
          note: str | None = None) -> Incident:
    """Run the failed job again now, or make a failed external task fetchable again (after the data,
    the model or the outside system was fixed). Commit once."""
    incident = get_incident(session, incident_id)
    if incident.job_id is None and incident.source != EXTERNAL_SOURCE:
        raise Conflict("This failure came from a person's action: once the cause is fixed, "
                       "they do the step again; resolve the incident with a note")
    return _decide(session, actor=actor, now=now, incident_id=incident_id, resolution="retried",
                   note=(note or "").strip() or None)


def resolve(session: Session, *, actor: User, now: datetime, incident_id: int, note: str) -> Incident:
    """Close an incident with a note saying what was done about it. Commit once."""
    if not (note or "").strip():
        raise InvalidInput({"note": "Say what was done about the failure"}, {"note": note})
    return _decide(session, actor=actor, now=now, incident_id=incident_id, resolution="resolved",
                   note=note.strip())


def for_case(session: Session, case_id: int) -> list[Incident]:
    """Return a case's incidents, open ones first, newest first."""
    return list(session.exec(select(Incident).where(Incident.case_id == case_id).order_by(
        Incident.state, Incident.opened_at.desc(), Incident.id.desc())).all())  # "open" first


def search(session: Session, *, state: str | None = "open", process_id: str | None = None,
           element_id: str | None = None, error: str | None = None, limit: int = 50,
           offset: int = 0) -> tuple[list[Incident], int]:
    """Return incidents matching the filters (newest first) and how many match in all."""
    conditions = []
    if state:
        conditions.append(Incident.state == state)
    if process_id:
        conditions.append(Incident.process_id == process_id)
    if element_id:
        conditions.append(Incident.element_id == element_id)
    if error:
        conditions.append(Incident.error.contains(error))
    query = select(Incident).where(*conditions)
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Incident.last_failed_at.desc(), Incident.id.desc())
                        .limit(limit).offset(offset)).all()
    return list(rows), total



def open_count(conn: sa.Connection) -> int:
    """How many incidents are open (web/ops/metrics.py reads it at each scrape)."""
    return conn.execute(sa.select(sa.func.count()).select_from(Incident)
                        .where(Incident.state == "open")).scalar()
