"""The agent's workspace: worklist, cases, customers, deviations and the approval queue (issue 5).

This module holds the worklist; the case page and deviations live in work_cases.py, new cases and
customers in work_customers.py, the supervisors' approval queue in work_approvals.py.
"""
from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlmodel import select

from cases.case_models import CHANNELS, WorkItem
from cases.case_view import PRIORITIES, urgency
from cases.errors import CaseError
from cases.work_items import claim as claim_item
from cases.work_items import release as release_item
from cases.worklist import VIEWS, worklist, worklist_count
from engine.store import DefinitionVersion

from .inputs import MAX_PAGE, PathId, clean_query
from .security import SessionDep, require_csrf
from .work_search import worklist_extras
from .work_common import (
    WorkUser,
    fail,
    is_htmx,
    now,
    pop_flash,
    redirect,
    register_filters,
    render,
    safe_back,
    settings,
)


def _filters(request: Request) -> None:
    register_filters(request.app.state.templates)


# Pages, not the integrators' API: kept out of /api/openapi.json.
router = APIRouter(dependencies=[Depends(_filters), Depends(clean_query)], include_in_schema=False)

PAGE_SIZE = 25
VIEW_LABELS = {"mine": "My items", "team": "My teams", "unassigned": "Unassigned",
               "overdue": "Overdue"}


def _filter_values(process: str | None, priority: str | None, channel: str | None,
                   q: str | None = None):
    """Read the filter query parameters; a bad value is a 400 with a clear message."""
    prio = None
    if priority not in (None, ""):
        try:
            prio = int(priority)
        except ValueError:
            raise HTTPException(400, f"Priority must be one of {', '.join(map(str, PRIORITIES))}") from None
    if channel and channel not in CHANNELS:
        raise HTTPException(400, f"Channel must be one of {', '.join(CHANNELS)}")
    return {"process_id": process or None, "priority": prio, "channel": channel or None,
            "q": (q or "").strip() or None}


def _counts(session, user, at, filters) -> dict[str, int]:
    return {v: worklist_count(session, actor=user, now=at, view=v, **filters) for v in VIEWS}


def _row(entry_item, entry_case, at, at_risk, user, late=False):
    return {"item": entry_item, "case": entry_case,
            "urgency": urgency(entry_item.created_at, entry_item.due_at, at, at_risk),
            "mine": entry_item.assignee_id == user.id}


@router.get("/work")
def work(request: Request, session: SessionDep, user: WorkUser, view: str = "mine",
         process: str | None = None, priority: str | None = None, channel: str | None = None,
         q: str | None = None, page: int = 1):
    """The worklist: tabs, filters, urgency at a glance, claim in one click, paging."""
    if view not in VIEWS:
        raise HTTPException(400, f"Unknown worklist '{view}'; choose one of {', '.join(VIEWS)}")
    if not 1 <= page <= MAX_PAGE:
        raise HTTPException(400, f"Page numbers run from 1 to {MAX_PAGE}")
    filters = _filter_values(process, priority, channel, q)
    at, at_risk = now(), settings(request).sla_at_risk
    entries = worklist(session, actor=user, now=at, view=view, limit=PAGE_SIZE + 1,
                       offset=(page - 1) * PAGE_SIZE, share=at_risk, **filters)
    has_next = len(entries) > PAGE_SIZE
    rows = [_row(e.item, e.case, at, at_risk, user) for e in entries[:PAGE_SIZE]]
    names = _assignee_names(session, [r["item"] for r in rows])
    query = {k: v for k, v in (("process", process), ("priority", priority),
                               ("channel", channel), ("q", filters["q"])) if v not in (None, "")}
    processes = sorted({(d.process_id, d.name or d.process_id) for d in session.exec(
        select(DefinitionVersion).where(DefinitionVersion.status == "active")).all()})
    context = {
        "user": user, "view": view, "views": VIEWS, "view_labels": VIEW_LABELS,
        "counts": _counts(session, user, at, filters), "rows": rows, "names": names,
        "page": page, "has_next": has_next, "query": query,
        "qs": lambda **kw: "?" + urlencode({**query, "view": view, **kw}),
        "tab_qs": lambda v: "?" + urlencode({**query, "view": v}),
        "processes": processes, "channels": CHANNELS, "priorities": PRIORITIES,
        "sel": {"process": process or "", "priority": priority or "", "channel": channel or "",
                "q": filters["q"] or ""},
        "back": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        "flash": None if is_htmx(request) else pop_flash(request),
        **worklist_extras(session, user, {"view": view, **query}),
    }
    if is_htmx(request):
        return render(request, "work/_worklist.html", context)
    return render(request, "work/worklist.html", context)


def _assignee_names(session, items) -> dict[int, str]:
    from cases.users import User

    ids = {i.assignee_id for i in items if i.assignee_id}
    if not ids:
        return {}
    return {u.id: u.display_name for u in session.exec(select(User).where(User.id.in_(ids))).all()}


def _filters_of(back: str | None) -> dict:
    """The worklist filters of the page a claim came from (so its tab counts stay comparable)."""
    query = parse_qs(urlparse(back or "").query)
    try:
        return _filter_values(*(query.get(k, [None])[0]
                                for k in ("process", "priority", "channel", "q")))
    except HTTPException:
        return {}


def _item_action(request, session, user, item_id, back, action):
    """Claim or release from the worklist: htmx gets the row and new counts, a form post a redirect."""
    at = now()
    try:
        action(session, actor=user, now=at, work_item_id=item_id)
    except CaseError as err:
        if not is_htmx(request):
            raise fail(err) from None
        error = str(err)
    else:
        error = None
    if not is_htmx(request):
        return redirect(safe_back(back, "/work"))
    item = session.get(WorkItem, item_id, populate_existing=True)
    if item is None:
        raise HTTPException(404, f"No work item {item_id}")
    from cases.case_models import Case

    case = session.get(Case, item.case_id)
    row = _row(item, case, at, settings(request).sla_at_risk, user)
    context = {"user": user, "r": row, "names": _assignee_names(session, [item]),
               "counts": _counts(session, user, at, _filters_of(back)), "views": VIEWS, "oob": True,
               "error": error, "back": safe_back(back, "/work")}
    return render(request, "work/_row.html", context, status_code=409 if error else 200)


@router.post("/work/items/{item_id}/claim", dependencies=[Depends(require_csrf)])
def claim(request: Request, session: SessionDep, user: WorkUser, item_id: PathId,
          back: Annotated[str, Form()] = "/work"):
    """Take an unassigned item (one click)."""
    return _item_action(request, session, user, item_id, back, claim_item)


@router.post("/work/items/{item_id}/release", dependencies=[Depends(require_csrf)])
def release(request: Request, session: SessionDep, user: WorkUser, item_id: PathId,
            back: Annotated[str, Form()] = "/work"):
    """Give an item back to the team."""
    return _item_action(request, session, user, item_id, back, release_item)


from . import work_cases, work_customers, work_links

router.include_router(work_customers.router)  # first: /cases/new before /cases/{case_id}
router.include_router(work_cases.router)
router.include_router(work_links.router)
try:  # the approval queue needs cases/approvals.py
    from . import work_approvals
except ImportError:  # pragma: no cover - until cases/approvals.py lands
    work_approvals = None
else:
    router.include_router(work_approvals.router)
