"""The JSON API of linked cases and reopening, for the people who work cases. Same
authentication and refusal shape as web/api.py."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from cases.case_service import get_case
from cases.links.reopen import reopen_case
from cases.links.service import MAX_REASON, link_cases, links_of, unlink_cases
from engine.clock import utcnow

from .api import ONE_CASE, REFUSALS, Caller, _case_json, _iso, _run, _worker
from .api_models import CaseOut
from .inputs import DbId, DbInt, PathId, Text
from .security import SessionDep

router = APIRouter()
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class NewLink(BaseModel):
    """`kind` says what this case is to the other one: related (to), parent (of), duplicate (of)."""

    model_config = _STRICT
    other_case_id: DbId
    kind: Literal["related", "parent", "duplicate"]
    reason: Text(1000, 1)


class LinkOut(BaseModel):
    id: int
    kind: str
    words: str
    other_case_id: int
    other_process_id: str
    other_status: str
    reason: str
    created_by: str
    created_at: str
    outgoing: bool
    removable: bool  # the caller may remove it (people's links; never the ones Caseflow made)


class LinkList(BaseModel):
    data: list[LinkOut]
    count: int


class Reopen(BaseModel):
    model_config = _STRICT
    expected_version: DbInt
    element_id: Text(255, 1)
    reason_code: Text(64, 1)
    note: Text(4000, 1)


def _links(session, case_id: int, user) -> dict:
    rows = links_of(session, case_id, actor=user)
    return {"data": [{"id": l.id, "kind": l.kind, "words": l.words,
                      "other_case_id": l.other_case_id, "other_process_id": l.other_process_id,
                      "other_status": l.other_status, "reason": l.reason,
                      "created_by": l.created_by, "created_at": _iso(l.created_at),
                      "outgoing": l.outgoing, "removable": l.removable} for l in rows],
            "count": len(rows)}


@router.get("/cases/{case_id}/links", response_model=LinkList, responses=REFUSALS)
def api_case_links(case_id: PathId, user: Caller, session: SessionDep) -> dict:
    """The case's links from both ends (`outgoing`: this case is the link's subject)."""
    _worker(user)
    _run(get_case, session, case_id)
    return _links(session, case_id, user)


@router.post("/cases/{case_id}/links", status_code=201, response_model=LinkList,
             responses=REFUSALS)
def api_case_link(case_id: PathId, body: NewLink, user: Caller, session: SessionDep) -> dict:
    """Link the case to another one with a reason; answers the case's links."""
    _worker(user)
    _run(link_cases, session, actor=user, now=utcnow(), case_id=case_id,
         other_case_id=body.other_case_id, kind=body.kind, reason=body.reason)
    return _links(session, case_id, user)


@router.delete("/cases/{case_id}/links/{link_id}", response_model=LinkList, responses=REFUSALS)
def api_case_unlink(case_id: PathId, link_id: PathId, user: Caller, session: SessionDep,
                    reason: Annotated[Text(MAX_REASON), Query(
                        description="Why the link goes (kept on both cases)")] = "") -> dict:
    """Remove a link a person made, with a reason; answers the case's links that remain.

    The link's maker, an agent of a team that works either case, or a supervisor may; the links
    Caseflow made (repeat contact, the case a message opened) are refused with 409."""
    _worker(user)
    _run(unlink_cases, session, actor=user, now=utcnow(), case_id=case_id, link_id=link_id,
         reason=reason)
    return _links(session, case_id, user)


@router.post("/cases/{case_id}/reopen", response_model=CaseOut, **ONE_CASE)
def api_case_reopen(case_id: PathId, body: Reopen, user: Caller, session: SessionDep) -> dict:
    """Reopen a resolved case at a step it went through (a go_back deviation with a reason)."""
    _worker(user)
    case = _run(reopen_case, session, actor=user, now=utcnow(), case_id=case_id,
                expected_version=body.expected_version, element_id=body.element_id,
                reason_code=body.reason_code, note=body.note)
    return _case_json(session, case)
