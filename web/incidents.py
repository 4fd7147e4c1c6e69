"""Incidents for supervisors and admins: the list with filters, retry and resolve with a note."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from cases.errors import CaseError, InvalidInput
from cases.incidents import service as incidents
from cases.users import User

from .inputs import Page, PathId
from .security import SessionDep, require_csrf
from .work_cases import FormData
from .work_common import SupervisorUser, flash, is_htmx, now, pop_flash, redirect, render, safe_back, status_for

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
STATES = {"open": "Open", "resolved": "Resolved", "": "All"}


def _page(request: Request, session, user: User, *, filters: dict, page: int = 1,
          status_code: int = 200, errors: dict | None = None, typed: dict | None = None,
          message: str | None = None):
    rows, total = incidents.search(session, state=filters["state"] or None,
                                   process_id=filters["process"] or None,
                                   element_id=filters["element"] or None,
                                   error=filters["error"] or None,
                                   limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    context = {"user": user, "rows": rows, "total": total, "filters": filters,
               "states": STATES, "page": page, "has_next": page * PAGE_SIZE < total,
               "errors": errors or {}, "typed": typed or {}, "message": message,
               "flash": pop_flash(request)}
    name = "work/_incidents.html" if is_htmx(request) else "work/incidents.html"
    return render(request, name, context, status_code=status_code)


def _filters(state: str, process: str, element: str, error: str) -> dict:
    return {"state": state if state in STATES else "open", "process": process.strip()[:255],
            "element": element.strip()[:255], "error": error.strip()[:200]}


@router.get("/incidents")
def incident_list(request: Request, session: SessionDep, user: SupervisorUser, state: str = "open",
                  process: str = "", element: str = "", error: str = "", page: Page = 1):
    """Incidents, newest failure first, filtered by state, process, element and error text."""
    return _page(request, session, user, filters=_filters(state, process, element, error),
                 page=min(max(page, 1), 10_000))


def _decide(request: Request, session, user: User, incident_id: int, form: dict, retry: bool):
    note = str(form.get("note", ""))[:2000]
    back = safe_back(form.get("back"), "/incidents")
    try:
        if retry:
            incidents.retry(session, actor=user, now=now(), incident_id=incident_id, note=note)
        else:
            incidents.resolve(session, actor=user, now=now(), incident_id=incident_id, note=note)
    except CaseError as err:
        text = err.errors.get("note", str(err)) if isinstance(err, InvalidInput) else str(err)
        return _page(request, session, user, filters=_filters("open", "", "", ""),
                     status_code=status_for(err), errors={incident_id: text},
                     typed={incident_id: note}, message=str(err))
    flash(request, f"Incident {incident_id} " + ("will run again now." if retry else "resolved."))
    return redirect(back)


@router.post("/incidents/{incident_id}/retry", dependencies=[Depends(require_csrf)])
def incident_retry(request: Request, session: SessionDep, user: SupervisorUser, incident_id: PathId,
                   form: dict = FormData):
    """Run the failed job again now."""
    return _decide(request, session, user, incident_id, form, retry=True)


@router.post("/incidents/{incident_id}/resolve", dependencies=[Depends(require_csrf)])
def incident_resolve(request: Request, session: SessionDep, user: SupervisorUser, incident_id: PathId,
                     form: dict = FormData):
    """Close the incident with a note saying what was done."""
    return _decide(request, session, user, incident_id, form, retry=False)
