"""Finding work: case search, get next work, and saved worklist filters (pages, not the API)."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request

from cases.bulk.service import KINDS as BULK_KINDS
from cases.errors import CaseError
from cases.next_work import next_work
from cases.reason_codes import codes_for
from cases.search import filters as saved
from cases.search.query import MAX_QUERY
from cases.search.service import search
from cases.users import list_users

from .inputs import MAX_PAGE, PathId, clean_query
from .security import SessionDep, require_csrf
from .work_common import WorkUser, fail, flash, is_htmx, now, redirect, render, settings

router = APIRouter(dependencies=[Depends(clean_query)], include_in_schema=False)
PAGE_SIZE = 25
DECIDERS = ("supervisor", "admin")


def worklist_extras(session, user, query: dict) -> dict:
    """What the worklist shows beside its rows: saved filters, and the bulk form for supervisors."""
    extras = {"saved": saved.list_filters(session, actor=user),
              "saved_query": urlencode(query), "q_max": MAX_QUERY}
    if user.role in DECIDERS:
        people = [u for u in list_users(session) if u.active and u.role in ("agent", "supervisor")]
        extras["bulk"] = {
            "kinds": BULK_KINDS,
            "reasons": {k: codes_for(session, k) for k in BULK_KINDS},
            "teams": sorted({t for u in people for t in u.team_list}),
            "people": people,
        }
    return extras


@router.get("/work/search")
def search_page(request: Request, session: SessionDep, user: WorkUser, q: str = "",
                page: int = 1):
    """Cases found by number, customer, notes or case data (agents: their teams' cases)."""
    if not 1 <= page <= MAX_PAGE:
        raise HTTPException(400, f"Page numbers run from 1 to {MAX_PAGE}")
    found, error = None, None
    if q.strip():
        try:
            found = search(session, actor=user, text=q, limit=PAGE_SIZE + 1,
                           offset=(page - 1) * PAGE_SIZE)
        except CaseError as err:
            error = str(err)
    hits = found.hits[:PAGE_SIZE] if found else []
    context = {"user": user, "q": q, "hits": hits, "count": found.count if found else 0,
               "searched": found is not None, "error": error, "page": page,
               "has_next": bool(found and len(found.hits) > PAGE_SIZE),
               "qs": lambda p: "?" + urlencode({"q": q, "page": p}), "q_max": MAX_QUERY,
               "can_hold": user.role in DECIDERS, "hold_reasons": codes_for(session, "hold"),
               "back": "/work/search?" + urlencode({"q": q, "page": page})}
    return render(request, "work/search.html", context, status_code=400 if error else 200)


@router.post("/work/next", dependencies=[Depends(require_csrf)])
def take_next(request: Request, session: SessionDep, user: WorkUser):
    """Claim the most urgent step the person may take and open it; say so when none waits."""
    item = next_work(session, actor=user, now=now(), share=settings(request).sla_at_risk)
    if item is None:
        flash(request, "Nothing waits for your teams right now: every open step is taken.", "info")
        return redirect("/work?view=mine")
    flash(request, f"“{item.name}” is yours now: it was the most urgent step for your teams.")
    return redirect(f"/cases/{item.case_id}#item-form-{item.id}")


@router.post("/work/filters", dependencies=[Depends(require_csrf)])
def save(request: Request, session: SessionDep, user: WorkUser,
         name: Annotated[str, Form()] = "", query: Annotated[str, Form()] = ""):
    """Save the worklist's current filters under a name."""
    try:
        row = saved.save_filter(session, actor=user, now=now(), name=name, query=query)
    except CaseError as err:
        raise fail(err) from None
    flash(request, f"Saved the filter “{row.name}”.")
    return redirect("/work?" + row.query if row.query else "/work")


@router.post("/work/filters/{filter_id}/delete", dependencies=[Depends(require_csrf)])
def delete(request: Request, session: SessionDep, user: WorkUser, filter_id: PathId):
    """Delete one of the person's saved filters."""
    try:
        saved.delete_filter(session, actor=user, filter_id=filter_id)
    except CaseError as err:
        raise fail(err) from None
    flash(request, "Filter deleted.")
    return redirect("/work")


__all__ = ["router", "worklist_extras", "is_htmx"]
