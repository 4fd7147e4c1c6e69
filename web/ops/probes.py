"""Probes for load balancers and orchestrators: /api/health (alive) and /api/ready (can serve).

/api/health answers 200 as long as the process answers at all; it touches nothing (web/api.py).
/api/ready answers 200 only when the database answers, its schema is at this Caseflow's Alembic
head, and the job executor runs in this process when the settings say it should
(`CASEFLOW_RUN_JOBS`); otherwise 503, naming each failed check. Both are public: they say
nothing a caller could use beyond "up" or "which part is not".
"""
from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cases.db import current_revisions, schema_heads

router = APIRouter()


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    failed: list[str]
    checks: dict[str, Check]


def _database(engine: sa.Engine) -> tuple[Check, Check]:
    """Whether the database answers, and whether its schema is at head."""
    try:
        with engine.connect() as conn:
            current = current_revisions(conn)
    except sa.exc.DBAPIError as err:
        reason = str(err.orig).strip().splitlines()[0][:200] if str(err.orig).strip() else "no answer"
        return (Check(ok=False, detail=f"cannot reach the database: {reason}"),
                Check(ok=False, detail="unknown: the database does not answer"))
    head = schema_heads()
    at = ", ".join(sorted(current)) or "no Caseflow tables"
    if current == head:
        return Check(ok=True, detail="answers"), Check(ok=True, detail=f"at head {at}")
    return (Check(ok=True, detail="answers"),
            Check(ok=False, detail=f"at {at}, needs {', '.join(sorted(head))}: run `caseflow "
                                   "migrate`"))


def _jobs(request: Request) -> Check:
    """Whether the job executor this process should run is running."""
    if not request.app.state.settings.run_jobs:
        return Check(ok=True, detail="runs in `caseflow worker` processes (CASEFLOW_RUN_JOBS=false)")
    state = request.app.state
    if not hasattr(state, "executor"):  # the app was built but never started by a server
        return Check(ok=True, detail="not started: the app runs without a server's lifespan")
    if state.executor is None or not state.executor.running:
        return Check(ok=False, detail="the job executor of this process is not running")
    return Check(ok=True, detail="running")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready(request: Request) -> JSONResponse:
    """Answer 200 when this process can serve: database, schema at head, job executor."""
    database, schema = _database(request.app.state.engine)
    checks = {"database": database, "schema": schema, "jobs": _jobs(request)}
    failed = [name for name, check in checks.items() if not check.ok]
    body = Readiness(status="not ready" if failed else "ready", failed=failed, checks=checks)
    return JSONResponse(body.model_dump(), status_code=503 if failed else 200,
                        headers={"Cache-Control": "no-store"})
