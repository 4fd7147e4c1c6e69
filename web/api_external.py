"""The JSON API for external-task workers: fetch-and-lock, complete, fail, BPMN error, extend lock.

Workers are programs holding an API token of an agent, supervisor or admin user (designers do not
work cases); the token's user is the actor in the case events, and `worker_id` names the worker
process that holds a lock. Same authentication and refusal shape as web/api.py: a stale worker (its
lock expired or another worker took the task) gets 409 and its result is not stored.
"""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from cases.external_tasks import service as ext
from cases.external_tasks.models import STATES, ExternalTask
from engine.clock import utcnow

from .api import REFUSALS, Caller, _iso, _run, _worker
from .inputs import JsonObject, Offset, PathId, Text
from .security import SessionDep

router = APIRouter()
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
WEEK_MS = 7 * 24 * 3600 * 1000
LONG_POLL_CAP_MS = 30_000  # a request holds a server thread at most this long
POLL_EVERY = 0.25  # seconds between looks at the table while long polling

Millis = Annotated[int, Field(ge=1, le=WEEK_MS)]
WorkerId = Text(255, 1)


class TopicRequest(BaseModel):
    model_config = _STRICT
    name: Text(255, 1)
    lock_duration_ms: Millis


class FetchAndLock(BaseModel):
    model_config = _STRICT
    worker_id: WorkerId
    topics: list[TopicRequest] = Field(min_length=1, max_length=50)
    max_tasks: int = Field(default=1, ge=1, le=ext.MAX_TASKS)
    async_response_timeout_ms: int = Field(default=0, ge=0, le=LONG_POLL_CAP_MS)


class CompleteBody(BaseModel):
    model_config = _STRICT
    worker_id: WorkerId
    variables: JsonObject = {}


class FailureBody(BaseModel):
    model_config = _STRICT
    worker_id: WorkerId
    error_message: Text(2000, 1)
    error_details: Text(20_000) | None = None
    retries: int = Field(default=0, ge=0, le=1000)
    retry_timeout_ms: int = Field(default=0, ge=0, le=WEEK_MS)


class BpmnErrorBody(BaseModel):
    model_config = _STRICT
    worker_id: WorkerId
    error_code: Text(255, 1)
    error_message: Text(2000) | None = None
    variables: JsonObject = {}


class ExtendLockBody(BaseModel):
    model_config = _STRICT
    worker_id: WorkerId
    new_duration_ms: Millis


def task_json(row: ExternalTask, variables: dict | None = None) -> dict:
    """An external task as the API shows it (with variables when a worker has just locked it)."""
    body = {"id": row.id, "case_id": row.case_id, "process_id": row.process_id,
            "element_id": row.element_id, "name": row.name, "topic": row.topic, "state": row.state,
            "worker_id": row.worker_id, "lock_expires_at": _iso(row.lock_expires_at),
            "retries": row.retries, "attempts": row.attempts, "retry_at": _iso(row.retry_at),
            "error_message": row.error_message, "error_details": row.error_details,
            "incident_id": row.incident_id, "created_at": _iso(row.created_at)}
    if variables is not None:
        body["variables"] = variables
    return body


def _fetch_once(session, user, body: FetchAndLock) -> list[dict]:
    topics = {t.name: timedelta(milliseconds=t.lock_duration_ms) for t in body.topics}
    locked = _run(ext.fetch_and_lock, session, actor=user, now=utcnow(), worker_id=body.worker_id,
                  topics=topics, max_tasks=body.max_tasks)
    return [task_json(t.task, t.variables) for t in locked]


@router.post("/external-tasks/fetch-and-lock", responses=REFUSALS)
async def api_fetch_and_lock(body: FetchAndLock, user: Caller, session: SessionDep) -> list[dict]:
    """Lock up to max_tasks tasks of the topics for worker_id and return them with their variables;
    with async_response_timeout_ms (at most 30 s), wait for one while none is there."""
    _worker(user)
    deadline = time.monotonic() + body.async_response_timeout_ms / 1000
    while True:
        found = await run_in_threadpool(_fetch_once, session, user, body)
        if found or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(min(POLL_EVERY, max(deadline - time.monotonic(), 0)))


@router.post("/external-tasks/{task_id}/complete", responses=REFUSALS)
def api_complete(task_id: PathId, body: CompleteBody, user: Caller, session: SessionDep) -> dict:
    """Complete a task this worker holds, with variables for the process."""
    _worker(user)
    return task_json(_run(ext.complete, session, actor=user, now=utcnow(), external_task_id=task_id,
                          worker_id=body.worker_id, variables=body.variables))


@router.post("/external-tasks/{task_id}/failure", responses=REFUSALS)
def api_failure(task_id: PathId, body: FailureBody, user: Caller, session: SessionDep) -> dict:
    """Report a failure: fetchable again after retry_timeout_ms while retries > 0, else incident."""
    _worker(user)
    return task_json(_run(ext.report_failure, session, actor=user, now=utcnow(),
                          external_task_id=task_id, worker_id=body.worker_id,
                          error_message=body.error_message, error_details=body.error_details,
                          retries=body.retries,
                          retry_timeout=timedelta(milliseconds=body.retry_timeout_ms)))


@router.post("/external-tasks/{task_id}/bpmn-error", responses=REFUSALS)
def api_bpmn_error(task_id: PathId, body: BpmnErrorBody, user: Caller, session: SessionDep) -> dict:
    """Throw a BPMN error: the task's error boundary event takes over (none: an incident)."""
    _worker(user)
    return task_json(_run(ext.throw_error, session, actor=user, now=utcnow(),
                          external_task_id=task_id, worker_id=body.worker_id,
                          error_code=body.error_code, error_message=body.error_message,
                          variables=body.variables))


@router.post("/external-tasks/{task_id}/extend-lock", responses=REFUSALS)
def api_extend_lock(task_id: PathId, body: ExtendLockBody, user: Caller,
                    session: SessionDep) -> dict:
    """Keep a task this worker holds for new_duration_ms from now."""
    _worker(user)
    return task_json(_run(ext.extend_lock, session, actor=user, now=utcnow(),
                          external_task_id=task_id, worker_id=body.worker_id,
                          new_duration=timedelta(milliseconds=body.new_duration_ms)))


@router.get("/external-tasks", responses=REFUSALS)
def api_list(user: Caller, session: SessionDep, topic: Text(255) | None = None,
             state: Annotated[str | None, Query(pattern=f"^({'|'.join(STATES)})$")] = "open",
             case_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
             limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0) -> dict:
    """External tasks, oldest first, by topic, state (default open) and case."""
    _worker(user)
    rows, total = ext.search(session, topic=topic, state=state, case_id=case_id, limit=limit,
                             offset=offset)
    return {"data": [task_json(r) for r in rows], "count": total}
