"""The JSON API of the engine's own events: signals across cases, correlated messages, incidents.

Same authentication and refusal shape as web/api.py (bearer token or signed-in browser with its
CSRF token). Broadcasting a signal and deciding incidents are for supervisors and admins.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from cases.incidents import service as incidents
from cases.incidents.models import Incident
from cases.messages import correlate_message
from cases.subscriptions.signals import broadcast
from engine.clock import utcnow

from .api import REFUSALS, Caller, _case_json, _iso, _run, _worker
from .inputs import JsonObject, JsonValue, Offset, PathId, Text
from .security import SessionDep

router = APIRouter()
DECIDERS = ("supervisor", "admin")
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class SignalBody(BaseModel):
    model_config = _STRICT
    name: Text(255, 1)
    payload: JsonValue = None


class CorrelatedMessage(BaseModel):
    model_config = _STRICT
    name: Text(255, 1)
    payload: JsonValue = None
    business_key: Text(12) | None = None
    correlation: JsonObject = {}


class IncidentDecision(BaseModel):
    model_config = _STRICT
    note: Text(2000) | None = None


def _decider(user) -> None:
    if user.role not in DECIDERS:
        raise HTTPException(status_code=403, detail={
            "message": "Only a supervisor or an admin may do this", "errors": {}, "submitted": {}})


def incident_json(i: Incident) -> dict:
    """An incident as the API shows it."""
    return {"id": i.id, "case_id": i.case_id, "process_id": i.process_id,
            "element_id": i.element_id, "source": i.source, "error": i.error,
            "attempts": i.attempts, "state": i.state, "opened_at": _iso(i.opened_at),
            "last_failed_at": _iso(i.last_failed_at), "resolved_at": _iso(i.resolved_at),
            "resolved_by": i.resolved_by, "resolution": i.resolution, "note": i.note,
            "retryable": i.job_id is not None or i.source == incidents.EXTERNAL_SOURCE}


@router.post("/signals", status_code=202, responses=REFUSALS)
def api_signal(body: SignalBody, user: Caller, session: SessionDep) -> dict:
    """Broadcast a signal to every open case waiting for it; each case receives it in its own job."""
    _decider(user)
    cases = _run(broadcast, session, actor=user, now=utcnow(), name=body.name, payload=body.payload)
    return {"signal": body.name, "cases": cases, "count": len(cases)}


@router.post("/messages", responses=REFUSALS)
def api_correlated_message(body: CorrelatedMessage, user: Caller, session: SessionDep) -> dict:
    """Send a message to the one case it is for: by business key (case number) or correlation
    values; 404 when no case waits for it, 409 when several do."""
    _worker(user)
    case, caught = _run(correlate_message, session, actor=user, now=utcnow(), name=body.name,
                        payload=body.payload, business_key=body.business_key,
                        correlation=body.correlation)
    return {"caught": caught, "case": _case_json(session, case)}


@router.get("/incidents", responses=REFUSALS)
def api_incidents(user: Caller, session: SessionDep,
                  state: Annotated[str | None, Query(pattern="^(open|resolved)$")] = "open",
                  process_id: Text(255) | None = None, element_id: Text(255) | None = None,
                  error: Text(200) | None = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0) -> dict:
    """Incidents, newest failure first, filtered by state, process, element and error text."""
    _decider(user)
    rows, total = incidents.search(session, state=state, process_id=process_id,
                                   element_id=element_id, error=error, limit=limit, offset=offset)
    return {"data": [incident_json(i) for i in rows], "count": total}


@router.get("/incidents/{incident_id}", responses=REFUSALS)
def api_incident(incident_id: PathId, user: Caller, session: SessionDep) -> dict:
    """One incident."""
    _decider(user)
    return incident_json(_run(incidents.get_incident, session, incident_id))


@router.post("/incidents/{incident_id}/retry", responses=REFUSALS)
def api_incident_retry(incident_id: PathId, body: IncidentDecision, user: Caller,
                       session: SessionDep) -> dict:
    """Run the failed job again now (after the data or the model was fixed)."""
    _decider(user)
    return incident_json(_run(incidents.retry, session, actor=user, now=utcnow(),
                              incident_id=incident_id, note=body.note))


@router.post("/incidents/{incident_id}/resolve", responses=REFUSALS)
def api_incident_resolve(incident_id: PathId, body: IncidentDecision, user: Caller,
                         session: SessionDep) -> dict:
    """Close an incident with a note saying what was done."""
    _decider(user)
    return incident_json(_run(incidents.resolve, session, actor=user, now=utcnow(),
                              incident_id=incident_id, note=body.note or ""))


__all__ = ["router", "incident_json", "JSONResponse"]
