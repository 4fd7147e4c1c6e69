"""Prometheus metrics (the maintained prometheus-client library), served at /metrics.

Counted in the process as things happen:
- `caseflow_http_request_duration_seconds{method,route}` (histogram) and
  `caseflow_http_requests_total{method,route,status}`, by route template;
- `caseflow_case_events_total{type}` (every case action: task_completed, case_opened, ...) and
  `caseflow_deviations_total{kind}`, counted when the transaction that wrote them commits, by
  this process (web requests and its job executor).
Read from the database at scrape time (the same in every process):
- `caseflow_job_queue_depth` (pending jobs due now), `caseflow_job_oldest_due_age_seconds`,
  `caseflow_jobs_failed`, `caseflow_incidents_open`.
This process's connection pool: `caseflow_db_pool_connections{state="in_use"|"idle"}`,
`caseflow_db_pool_size`, `caseflow_db_pool_overflow`.

With several uvicorn worker processes, point PROMETHEUS_MULTIPROC_DIR at an empty folder before
starting them: the counters of all workers are then added up whichever worker is scraped.
"""
from __future__ import annotations

import hmac
import os

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Histogram, generate_latest)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.orm import Session as OrmSession

from cases.deviations import Deviation
from cases.events import WRITTEN_HOOKS, CaseEvent
from cases.incidents.service import open_count as open_incidents
from cases.jobs import service as jobs
from engine.clock import utcnow

REQUEST_SECONDS = Histogram(
    "caseflow_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
    ["method", "route"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
REQUESTS = Counter("caseflow_http_requests", "HTTP requests answered, by route and status.",
                   ["method", "route", "status"])
CASE_EVENTS = Counter("caseflow_case_events", "Case events committed (case actions), by type.",
                      ["type"])
DEVIATIONS = Counter("caseflow_deviations", "Deviations committed, by kind.", ["kind"])
_PENDING = "caseflow_metrics_pending"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (the middleware calls this once per request)."""
    REQUEST_SECONDS.labels(method, route).observe(seconds)
    REQUESTS.labels(method, route, str(status)).inc()


# ---- case events and deviations: counted when their transaction commits ----------------------
def _events_written(session, written: list[CaseEvent]) -> None:
    session.info.setdefault(_PENDING, []).extend((CASE_EVENTS, e.type) for e in written)


def _after_flush(session, _context) -> None:
    for obj in session.new:
        if isinstance(obj, Deviation):
            session.info.setdefault(_PENDING, []).append((DEVIATIONS, obj.kind))


def _after_commit(session) -> None:
    for counter, label in session.info.pop(_PENDING, ()):
        counter.labels(label).inc()


def _after_transaction_end(session, transaction) -> None:
    # Rolled back or closed without a commit: what it wrote never happened.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def count_committed_events() -> None:
    """Listen to every session of this process (idempotent)."""
    if not sa.event.contains(OrmSession, "after_flush", _after_flush):
        sa.event.listen(OrmSession, "after_flush", _after_flush)
        sa.event.listen(OrmSession, "after_commit", _after_commit)
        sa.event.listen(OrmSession, "after_transaction_end", _after_transaction_end)
    if _events_written not in WRITTEN_HOOKS:
        WRITTEN_HOOKS.append(_events_written)


# ---- read at scrape time --------------------------------------------------------------------
class DatabaseCollector:
    """Gauges read from the database and the connection pool when Prometheus scrapes."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def collect(self):
        with self.engine.connect() as conn:
            due, age, failed = jobs.queue_health(conn, now=utcnow())
            incidents = open_incidents(conn)
        yield GaugeMetricFamily("caseflow_job_queue_depth", "Pending jobs that are due now.", due)
        yield GaugeMetricFamily("caseflow_job_oldest_due_age_seconds",
                                "How long the oldest due pending job has been due.", age)
        yield GaugeMetricFamily("caseflow_jobs_failed", "Jobs that failed for good.", failed)
        yield GaugeMetricFamily("caseflow_incidents_open", "Open incidents.", incidents)
        yield from self._pool()

    def _pool(self):
        pool = self.engine.pool
        if not hasattr(pool, "checkedout"):
            return
        in_use = GaugeMetricFamily("caseflow_db_pool_connections",
                                   "Database connections of this process.", labels=["state"])
        in_use.add_metric(["in_use"], pool.checkedout())
        in_use.add_metric(["idle"], pool.checkedin())
        yield in_use
        yield GaugeMetricFamily("caseflow_db_pool_size", "Connections the pool keeps.",
                                pool.size())
        yield GaugeMetricFamily("caseflow_db_pool_overflow",
                                "Connections open beyond the pool size.", max(0, pool.overflow()))


def exposition(engine: sa.Engine) -> bytes:
    """The metrics of this process (or of all workers, in multiprocess mode) and the database."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(DatabaseCollector(engine))
    return generate_latest(counted) + generate_latest(scraped)


# ---- the route ------------------------------------------------------------------------------
router = APIRouter()


def _allowed(request: Request) -> Response | None:
    """None when the caller may read metrics; else the 401/403 answer.

    Prometheus sends `Authorization: Bearer <CASEFLOW_METRICS_TOKEN>`; an admin may also look,
    with their API token or signed in. Nobody else, and nobody at all by default.
    """
    from sqlmodel import Session

    from web.security import LoginRequired, api_user

    token = request.app.state.settings.metrics_token
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return None
    try:
        with Session(request.app.state.engine) as session:
            user = api_user(request, session)
    except LoginRequired:
        return Response("Send the metrics token (CASEFLOW_METRICS_TOKEN) as a bearer token, or "
                        "sign in as an admin.\n", 401, {"WWW-Authenticate": "Bearer"},
                        media_type="text/plain")
    if user.role != "admin":
        return Response("Only admins and the metrics token may read the metrics.\n", 403,
                        media_type="text/plain")
    return None


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The Prometheus text exposition (metrics token or admins only)."""
    refused = _allowed(request)
    if refused is not None:
        return refused
    return Response(exposition(request.app.state.engine), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
