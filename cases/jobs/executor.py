"""The job executor loop: claim due jobs, run each in its own transaction, count failures.

It runs as a daemon thread inside `caseflow serve` (setting `CASEFLOW_RUN_JOBS`, on by default)
and in the foreground as `caseflow worker`; any number of them may run against one database.
Nothing a job does can stop the loop: a failing job is retried with backoff and becomes an
incident on its case at its attempt limit, and the loop goes on with the next job.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from sqlmodel import Session

from engine.clock import utcnow
from engine.errors import ScriptFailed

from . import service
from .handlers import HANDLERS, Context, Retry, load_all

log = logging.getLogger("caseflow.jobs")
BUSY_RETRY = timedelta(seconds=2)
# key -> kind of the jobs every executor makes sure exist
PERIODIC = {"sla_sweep": "sla_sweep", "webhook_dispatch": "webhook_dispatch"}


@dataclass
class RunResult:
    claimed: int = 0
    done: int = 0
    retried_later: int = 0
    failed: int = 0
    incidents: list[int] = field(default_factory=list)


def new_owner() -> str:
    """A name for this worker, unique across hosts, processes and threads."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Executor:
    """Claims and runs due jobs against one database; `run_once` is one round, `start` a thread."""

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], datetime] = utcnow,
                 time_limit: float = 2.0, lane_teams=None, sla_share: float = 0.8,
                 sla_every: float = 60, batch: int = 20, owner: str | None = None,
                 kinds: tuple[str, ...] | None = None):
        self.engine, self.clock, self.batch, self.kinds = engine, clock, batch, kinds
        self.owner = owner or new_owner()
        self.settings = dict(time_limit=time_limit, lane_teams=lane_teams, sla_share=sla_share,
                             sla_every=timedelta(seconds=sla_every))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        load_all()

    def ensure_periodic(self) -> None:
        """Create the periodic jobs (the SLA sweep) and the timer-start jobs if no worker has yet."""
        from .timer_starts import sync

        with Session(self.engine) as session:
            try:
                if sync(session, now=self.clock()):
                    session.commit()
            except sa.exc.IntegrityError:
                session.rollback()  # another worker made them at the same moment
            for key, kind in PERIODIC.items():
                try:
                    if service.ensure(session, kind=kind, key=key, due_at=self.clock(),
                                      now=self.clock()):
                        session.commit()
                except sa.exc.IntegrityError:
                    session.rollback()  # another worker made it at the same moment

    def run_once(self) -> RunResult:
        """Claim the jobs due now and run each; return what happened."""
        result = RunResult()
        with Session(self.engine, expire_on_commit=False) as session:
            ids = service.claim(session, owner=self.owner, now=self.clock(), limit=self.batch,
                                kinds=self.kinds)
            session.commit()
        result.claimed = len(ids)
        for job_id in ids:
            self._run(job_id, result)
        return result

    def run_until_idle(self, max_rounds: int = 100) -> RunResult:
        """Run rounds until nothing is due (tests and one-shot commands)."""
        total = RunResult()
        for _ in range(max_rounds):
            r = self.run_once()
            if not r.claimed:
                break
            total.claimed += r.claimed
            total.done += r.done
            total.retried_later += r.retried_later
            total.failed += r.failed
            total.incidents += r.incidents
        return total

    def _run(self, job_id: int, result: RunResult) -> None:
        now = self.clock()
        ctx = Context(owner=self.owner, now=now, **self.settings)
        with Session(self.engine, expire_on_commit=False) as session:
            job = service.held(session, job_id, self.owner)
            if job is None:
                return
            handler = HANDLERS.get(job.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler for jobs of kind {job.kind!r}")
                handler(session, job, ctx)
                result.done += 1
            except (Retry, service.LeaseLost) as err:
                session.rollback()
                log.info("job %s (%s) later: %s", job_id, job.kind, err)
                service.release(session, job_id, self.owner, due_at=now + BUSY_RETRY, now=now)
                session.commit()
                result.retried_later += 1
            except (Exception, SystemExit, GeneratorExit) as err:  # noqa: BLE001 - one job never stops the rest
                session.rollback()
                self._failed(session, job_id, err, now, result)

    def _failed(self, session: Session, job_id: int, err: BaseException, now: datetime,
                result: RunResult) -> None:
        error = _describe(err)
        element = getattr(err, "element_id", None)
        job = service.fail(session, job_id, self.owner, error=error, now=now)
        session.commit()
        result.failed += 1
        if job is None:
            return
        log.warning("job %s (%s, case %s) failed, attempt %s of %s: %s", job.id, job.kind,
                    job.case_id, job.attempts, job.max_attempts, error)
        if job.state == "failed" and job.case_id is not None:
            from ..incidents.service import record_failure

            try:
                incident = record_failure(session, case_id=job.case_id, element_id=element,
                                          source=job.kind, error=error, now=now, job_id=job.id,
                                          attempts=job.attempts)
                result.incidents.append(incident.id)
                log.warning("incident %s open on case %s at %s after job %s failed for good",
                            incident.id, job.case_id, element or job.kind, job.id)
            except Exception:  # noqa: BLE001 - the job stays failed and visible either way
                session.rollback()
                log.exception("could not record the incident of job %s", job.id)

    # ---- the background loop ------------------------------------------------------------
    def loop(self, poll: float = 1.0) -> None:
        """Run rounds until stopped; sleep `poll` seconds when nothing was due."""
        self.ensure_periodic()
        while not self._stop.is_set():
            try:
                busy = self.run_once().claimed
            except Exception:  # noqa: BLE001 - the database may be away for a moment
                log.exception("job executor round failed; trying again")
                busy = 0
            if not busy:
                self._stop.wait(poll)

    def start(self, poll: float = 1.0) -> None:
        """Run the loop in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.loop, args=(poll,), name="caseflow-jobs",
                                        daemon=True)
        self._thread.start()
        log.info("job executor %s started, polling every %s s", self.owner, poll)

    @property
    def running(self) -> bool:
        """Whether the background loop's thread is alive (for /api/ready)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10) -> None:
        """Ask the loop to stop after the job at hand and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def _describe(err: BaseException) -> str:
    """The failure in plain words (no traceback), for the job row and the incident."""
    if isinstance(err, ScriptFailed):
        return str(err)
    if isinstance(err, SystemExit):
        return "the model's code tried to stop the server (SystemExit); it was refused"
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def from_settings(engine: sa.Engine, settings) -> Executor:
    """An executor configured by the product's Settings."""
    return Executor(engine, time_limit=settings.script_time_limit, lane_teams=settings.lane_teams,
                    sla_share=settings.sla_at_risk, sla_every=settings.sla_sweep_every)
