"""The JSON API of saved worklist filters: list, save, read, delete and run a person's own
filters, with the same service and rules as the worklist page (cases/search/filters.py).

A filter holds the worklist's query string (view, process, priority, channel, q); running it
answers the worklist it stands for, most urgent first. Each caller sees only their own filters:
someone else's filter id is not found. Same authentication and refusal shape as web/api.py.
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from cases.search import filters as saved
from cases.search.models import MAX_FILTER_NAME, MAX_FILTER_QUERY, SavedFilter
from cases.worklist import worklist, worklist_count
from engine.clock import utcnow

from .api import Caller, _item_json, _iso, _run, _worker
from .api_models import REFUSALS, WorklistEntry
from .inputs import PathId, Text
from .pagination import DEFAULT_LIMIT, Limit, Offset, Paged, page
from .security import SessionDep

router = APIRouter()


def _examples(*examples: dict) -> dict:
    return {"examples": list(examples)}


class NewSavedFilter(BaseModel):
    """A worklist query to keep under a name; saving a name again replaces its query."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=_examples(
        {"name": "Urgent phone cases", "query": "view=team&priority=2&channel=phone"},
        {"name": "Ada's outage", "query": "view=mine&q=outage+Byrne"}))
    name: Text(MAX_FILTER_NAME)
    query: Text(MAX_FILTER_QUERY) = Field(
        default="", description="The worklist's query string: view (mine, team, unassigned, "
                                "overdue), process, priority, channel and q (a case search)")


class FilterValues(BaseModel):
    view: str
    process: str | None
    priority: str | None
    channel: str | None
    q: str | None


class SavedFilterOut(BaseModel):
    """One of the caller's saved worklist filters."""

    model_config = ConfigDict(json_schema_extra=_examples({
        "id": 3, "name": "Urgent phone cases", "query": "view=team&priority=2&channel=phone",
        "filters": {"view": "team", "process": None, "priority": "2", "channel": "phone",
                    "q": None},
        "created_at": "2026-03-02T09:00:00+00:00"}))
    id: int
    name: str
    query: str
    filters: FilterValues
    created_at: str


def filter_json(row: SavedFilter) -> dict:
    """A saved filter as the API shows it."""
    from urllib.parse import parse_qsl

    given = dict(parse_qsl(row.query or ""))
    return {"id": row.id, "name": row.name, "query": row.query, "created_at": _iso(row.created_at),
            "filters": {"view": given.get("view") or "mine",
                        **{k: given.get(k) for k in ("process", "priority", "channel", "q")}}}


@router.get("/saved-filters", response_model=Paged[SavedFilterOut], responses=REFUSALS)
def api_filters(user: Caller, session: SessionDep, limit: Limit = DEFAULT_LIMIT,
                offset: Offset = 0) -> dict:
    """Your saved worklist filters by name (only yours)."""
    _worker(user)
    rows, total = saved.page_filters(session, actor=user, limit=limit, offset=offset)
    return page([filter_json(r) for r in rows], total, limit=limit, offset=offset)


@router.post("/saved-filters", status_code=201, response_model=SavedFilterOut,
             responses={**REFUSALS, 200: {"description": "A filter of that name got the new "
                                                         "query", "model": SavedFilterOut}})
def api_save_filter(body: NewSavedFilter, response: Response, user: Caller,
                    session: SessionDep) -> dict:
    """Save a worklist query under a name: 201 for a new name, 200 when it replaces the query
    of a filter you already had by that name (at most 50 filters a person)."""
    _worker(user)
    had = {r.name for r in saved.list_filters(session, actor=user)}
    row = _run(saved.save_filter, session, actor=user, now=utcnow(), name=body.name,
               query=body.query)
    if row.name in had:
        response.status_code = 200
    return filter_json(row)


@router.get("/saved-filters/{filter_id}", response_model=SavedFilterOut, responses=REFUSALS)
def api_filter(filter_id: PathId, user: Caller, session: SessionDep) -> dict:
    """One of your saved filters."""
    _worker(user)
    return filter_json(_run(saved.get_filter, session, actor=user, filter_id=filter_id))


@router.delete("/saved-filters/{filter_id}", response_model=SavedFilterOut, responses=REFUSALS)
def api_delete_filter(filter_id: PathId, user: Caller, session: SessionDep) -> dict:
    """Delete one of your saved filters; answers what it was."""
    _worker(user)
    row = _run(saved.get_filter, session, actor=user, filter_id=filter_id)
    gone = filter_json(row)
    _run(saved.delete_filter, session, actor=user, filter_id=filter_id)
    return gone


@router.get("/saved-filters/{filter_id}/work-items", response_model=Paged[WorklistEntry],
            responses=REFUSALS)
def api_run_filter(request: Request, filter_id: PathId, user: Caller, session: SessionDep,
                   limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> dict:
    """The worklist your saved filter stands for, most urgent first (as the worklist page
    shows it with that filter); 422 naming `query` when part of it no longer makes sense."""
    _worker(user)
    row = _run(saved.get_filter, session, actor=user, filter_id=filter_id)
    args = _run(saved.worklist_args, row)
    at, share = utcnow(), request.app.state.settings.sla_at_risk
    entries = _run(worklist, session, actor=user, now=at, limit=limit, offset=offset,
                   share=share, **args)
    total = _run(worklist_count, session, actor=user, now=at, **args)
    return page([{**_item_json(e.item), "case_id": e.case.id, "overdue": e.overdue,
                  "at_risk": e.at_risk, "priority": e.case.priority} for e in entries],
                total, limit=limit, offset=offset)
