"""The JSON API for finding and taking work: case search, get next work, bulk changes."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from cases.bulk.service import KINDS as BULK_KINDS
from cases.bulk.service import MAX_TARGETS, bulk
from cases.case_models import Case
from cases.case_view import urgency
from cases.next_work import next_work
from cases.notes import MAX_NOTE
from cases.search.query import MAX_QUERY
from cases.search.service import search
from engine.clock import utcnow

from .api import Caller, _case_json, _item_json, _run, _worker
from .api_models import (DEVIATION_REASON_CODE_LEN, REFUSALS, WORK_ITEM_TEAM_LEN, CaseOut,
                         WorklistEntry)
from .inputs import DbId, Offset, Text, When
from .security import SessionDep

router = APIRouter()
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class FoundCase(CaseOut):
    customer_name: str
    account_number: str


class CaseSearchList(BaseModel):
    data: list[FoundCase]
    count: int  # all matches the caller may see, not only this page
    limit: int
    offset: int


class NextWork(BaseModel):
    item: WorklistEntry | None  # None: nothing waits for the caller's teams
    message: str


class BulkRequest(BaseModel):
    """One reason for all: steps for reassign and extend_deadline; steps or cases for hold."""

    model_config = _STRICT
    reason_code: Text(DEVIATION_REASON_CODE_LEN)
    note: Text(MAX_NOTE)
    work_item_ids: list[DbId] = Field(default=[], max_length=MAX_TARGETS)
    case_ids: list[DbId] = Field(default=[], max_length=MAX_TARGETS)
    team: Text(WORK_ITEM_TEAM_LEN) | None = None
    assignee_id: DbId | None = None
    due_at: When | None = None


class BulkOutcome(BaseModel):
    case_id: int | None
    work_item_id: int | None
    done: bool
    message: str  # what was done, or why it could not be


class BulkResult(BaseModel):
    kind: str
    done: list[BulkOutcome]
    failed: list[BulkOutcome]


@router.get("/cases/search", response_model=CaseSearchList, response_model_exclude_unset=True,
            responses=REFUSALS)
def api_search(user: Caller, session: SessionDep, q: Text(MAX_QUERY),
               status: Text(16) | None = None,
               limit: Annotated[int, Query(ge=1, le=100)] = 25, offset: Offset = 0) -> dict:
    """Cases by number, customer name or account, notes and case data; best match first.

    Words, "phrases", -excluded words and `or`, as in a web search. Agents find the cases of
    their teams (a step of theirs, or one they opened)."""
    _worker(user)
    found = _run(search, session, actor=user, text=q, limit=limit, offset=offset,
                 status=status or None)
    data = [{**_case_json(session, h.case, with_items=False), "customer_name": h.customer.name,
             "account_number": h.customer.account_number} for h in found.hits]
    return {"data": data, "count": found.count, "limit": limit, "offset": offset}


@router.post("/work/next", response_model=NextWork, responses=REFUSALS)
def api_next_work(request: Request, user: Caller, session: SessionDep) -> dict:
    """Claim the most urgent unclaimed step of the caller's teams (the worklist's order)."""
    _worker(user)
    at, share = utcnow(), request.app.state.settings.sla_at_risk
    item = _run(next_work, session, actor=user, now=at, share=share)
    if item is None:
        return {"item": None, "message": "Nothing waits for your teams: every open step is taken."}
    case = session.get(Case, item.case_id)
    state = urgency(item.created_at, item.due_at, at, share).state
    entry = {**_item_json(item, {}), "case_id": case.id, "overdue": state == "breached",
             "at_risk": state == "at_risk", "priority": case.priority}
    return {"item": entry, "message": f"“{item.name}” on case {case.id} is yours now."}


@router.post("/bulk/{kind}", response_model=BulkResult, responses=REFUSALS)
def api_bulk(kind: str, body: BulkRequest, user: Caller, session: SessionDep) -> dict:
    """Supervisors: reassign, extend_deadline or hold many at once with one reason.

    Each case's change is its own logged deviation in its own transaction; `failed` says per
    step or case why it could not be done."""
    if kind not in BULK_KINDS:
        raise HTTPException(status_code=404, detail={
            "message": f"No bulk '{kind}'; choose one of {', '.join(BULK_KINDS)}"})
    given = body.model_dump(exclude_unset=True)
    result = _run(bulk, session, actor=user, now=utcnow(), kind=kind, **given)
    return {"kind": result.kind, "done": [_outcome(o) for o in result.done],
            "failed": [_outcome(o) for o in result.failed]}


def _outcome(o) -> dict:
    return {"case_id": o.case_id, "work_item_id": o.work_item_id, "done": o.done,
            "message": o.message}
