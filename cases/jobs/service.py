"""Schedule, claim, finish and fail jobs. SQL only: the loop lives in executor.py.

Claiming is one statement on both databases, `UPDATE job SET lease ... WHERE id IN (SELECT ...
LIMIT n) RETURNING id`: on PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so workers
never wait on each other's rows; on SQLite the statement runs under the database write lock, so
two workers never take the same row. A lease that expires (its worker died) makes the job due again.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Mapping

import sqlalchemy as sa
from sqlmodel import Session, select

from .models import Job

LEASE = timedelta(seconds=60)
BACKOFF_FIRST = timedelta(seconds=10)
BACKOFF_MAX = timedelta(hours=1)
DEFAULT_MAX_ATTEMPTS = 3


class LeaseLost(Exception):
    """Another worker took the job (this worker's lease expired): its work must not be stored."""


def timer_key(case_id: int) -> str:
    return f"timer:{case_id}"


def schedule(session: Session, *, kind: str, key: str, due_at: datetime, now: datetime,
             case_id: int | None = None, payload: Mapping[str, Any] | None = None,
             max_attempts: int = DEFAULT_MAX_ATTEMPTS, revive_failed: bool = True) -> Job:
    """Create the job named `key`, or move it to `due_at` and clear its lease (session.add only).

    A failed job is left failed when `revive_failed` is false (its incident is still open).
    """
    job = session.exec(select(Job).where(Job.key == key)).first()
    if job is None:
        job = Job(kind=kind, key=key, case_id=case_id, due_at=due_at, max_attempts=max_attempts,
                  payload=json.dumps(dict(payload or {})), created_at=now, updated_at=now)
    elif job.state == "failed" and not revive_failed:
        return job
    else:
        if job.state == "failed":
            job.attempts = 0
        job.due_at, job.state, job.updated_at = due_at, "pending", now
        job.lease_owner = job.lease_expires_at = None
        if payload is not None:
            job.payload = json.dumps(dict(payload))
    session.add(job)
    return job


def unschedule(session: Session, key: str) -> None:
    """Drop the pending job named `key`, if any (a failed one stays for its incident)."""
    session.execute(sa.delete(Job).where(Job.key == key, Job.state == "pending")
                    .execution_options(synchronize_session=False))


def sync_timer(session: Session, case_id: int, due_at: datetime | None, *, now: datetime) -> None:
    """Keep a case's timer job at its workflow's earliest waiting timer (or drop it)."""
    if due_at is None:
        unschedule(session, timer_key(case_id))
    else:
        schedule(session, kind="timer", key=timer_key(case_id), due_at=due_at, now=now,
                 case_id=case_id, revive_failed=False)


def claim(session: Session, *, owner: str, now: datetime, limit: int = 20,
          lease: timedelta = LEASE, kinds: tuple[str, ...] | None = None) -> list[int]:
    """Lease up to `limit` due jobs (of `kinds`, default all) to `owner`; return their ids.

    The caller commits."""
    pick = (select(Job.id)
            .where(Job.state == "pending", Job.due_at <= now,
                   sa.or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now),
                   *([Job.kind.in_(kinds)] if kinds else []))
            .order_by(Job.due_at, Job.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    result = session.execute(
        sa.update(Job).where(Job.id.in_(pick.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=now + lease)
        .returning(Job.id).execution_options(synchronize_session=False))
    return sorted(result.scalars().all())


def held(session: Session, job_id: int, owner: str) -> Job | None:
    """Return the job if `owner` still holds its lease (read afresh), else None."""
    job = session.get(Job, job_id, populate_existing=True)
    return job if job is not None and job.lease_owner == owner else None


def done(session: Session, job: Job, owner: str) -> None:
    """Delete a finished one-shot job inside the handler's transaction; raise LeaseLost if taken."""
    result = session.execute(sa.delete(Job).where(Job.id == job.id, Job.lease_owner == owner)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise LeaseLost(f"job {job.id} was taken over by another worker")


def reschedule(session: Session, job: Job, owner: str, *, due_at: datetime, now: datetime,
               payload: Mapping[str, Any] | None = None) -> None:
    """Move a finished periodic job to its next due time inside the handler's transaction."""
    values: dict[str, Any] = {"due_at": due_at, "lease_owner": None, "lease_expires_at": None,
                              "attempts": 0, "last_error": None, "updated_at": now}
    if payload is not None:
        values["payload"] = json.dumps(dict(payload))
    result = session.execute(sa.update(Job).where(Job.id == job.id, Job.lease_owner == owner)
                             .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise LeaseLost(f"job {job.id} was taken over by another worker")


def release(session: Session, job_id: int, owner: str, *, due_at: datetime, now: datetime) -> None:
    """Give a job back without counting a failure (the case was busy); the caller commits."""
    session.execute(sa.update(Job).where(Job.id == job_id, Job.lease_owner == owner)
                    .values(due_at=due_at, lease_owner=None, lease_expires_at=None, updated_at=now)
                    .execution_options(synchronize_session=False))


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 10 s, 20 s, 40 s, ... at most an hour."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def fail(session: Session, job_id: int, owner: str, *, error: str, now: datetime) -> Job | None:
    """Count a failed attempt: retry later with backoff, or mark the job failed at its limit.

    Returns the job as stored (None when another worker holds it now); the caller commits.
    """
    job = held(session, job_id, owner)
    if job is None:
        return None
    job.attempts += 1
    job.last_error = error[:4000]
    job.lease_owner = job.lease_expires_at = None
    job.updated_at = now
    if job.attempts >= job.max_attempts:
        job.state = "failed"
    else:
        job.due_at = now + backoff(job.attempts)
    session.add(job)
    return job


def retry_failed(session: Session, job_id: int, *, now: datetime) -> bool:
    """Make a failed job due now with its attempts reset; return whether there was one."""
    result = session.execute(sa.update(Job).where(Job.id == job_id, Job.state == "failed")
                             .values(state="pending", attempts=0, due_at=now, lease_owner=None,
                                     lease_expires_at=None, updated_at=now)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def ensure(session: Session, *, kind: str, key: str, due_at: datetime, now: datetime,
           payload: Mapping[str, Any] | None = None,
           max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> bool:
    """Create a job unless one with the key exists; return whether it was created (caller commits)."""
    if session.exec(select(Job.id).where(Job.key == key)).first() is not None:
        return False
    session.add(Job(kind=kind, key=key, due_at=due_at, payload=json.dumps(dict(payload or {})),
                    max_attempts=max_attempts, created_at=now, updated_at=now))
    return True


def payload_of(job: Job) -> dict:
    """Return a job's payload as a dict."""
    return json.loads(job.payload or "{}")



def queue_health(conn: sa.Connection, *, now: datetime) -> tuple[int, float, int]:
    """(pending jobs due now, seconds the oldest of them has been due, jobs failed for good):
    what an operator watches to see whether the executors keep up (web/ops/metrics.py)."""
    due, oldest = conn.execute(sa.select(sa.func.count(), sa.func.min(Job.due_at))
                               .where(Job.state == "pending", Job.due_at <= now)).one()
    failed = conn.execute(sa.select(sa.func.count()).where(Job.state == "failed")).scalar()
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return due, age, failed
