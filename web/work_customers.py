"""New cases and customers: find or create the customer, open a case, see all their cases."""
from __future__ import annotations

from datetime import timedelta
from functools import partial
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlmodel import select

from cases.case_models import CHANNELS, Case, WorkItem
from cases.case_service import open_case
from cases.case_view import PRIORITIES, form_fields, urgency
from cases.customers import create_customer, customer_view, get_customer, search_customers
from cases.errors import CaseError, Conflict, InvalidInput, NotFound, StartFormInvalid
from cases.start_forms import checked_start_data, start_form
from engine.store import DefinitionVersion

from .inputs import PathId, field_problem
from .security import SessionDep, require_csrf
from .work_cases import FormData
from .work_common import (
    WorkUser,
    fail,
    int_or_none,
    is_htmx,
    local_input,
    now,
    parse_local_datetime,
    redirect,
    render,
    safe_back,
    settings,
)

router = APIRouter()


def _active_processes(session) -> list[DefinitionVersion]:
    return list(session.exec(select(DefinitionVersion).where(DefinitionVersion.status == "active")
                             .order_by(DefinitionVersion.name, DefinitionVersion.process_id)).all())


START = "start."  # the start form's inputs are named start.<field id>: no clash with the page's own


def _start_context(session, process_id: str, typed: dict | None = None,
                   errors: dict | None = None) -> dict:
    """The chosen process's start form as fields to draw (none when it has no start form)."""
    form = start_form(session, process_id) if process_id and not field_problem(
        "process_id", process_id) else None
    if form is None:
        return {"start_fields": [], "start_for": "", "start_title": ""}
    name = next((d.name for d in _active_processes(session) if d.process_id == process_id), None)
    return {"start_fields": form_fields(form, {}, typed, errors), "start_for": process_id,
            "start_title": name or process_id}


def _new_case_page(request, session, user, *, customer=None, q: str = "", typed: dict | None = None,
                   errors: dict | None = None, message: str | None = None, status_code: int = 200,
                   new_customer: dict | None = None, start_typed: dict | None = None,
                   start_errors: dict | None = None):
    typed = typed or {"contacted_at": local_input(now()), "priority": "0"}
    context = {"user": user, "customer": customer, "q": q,
               "results": search_customers(session, q) if q and customer is None else [],
               "processes": _active_processes(session), "channels": CHANNELS,
               "priorities": PRIORITIES, "typed": typed,
               "errors": errors or {}, "message": message,
               "new_customer": new_customer or {"typed": {}, "errors": {}},
               **_start_context(session, typed.get("process_id") or "", start_typed,
                                start_errors)}
    return render(request, "work/new_case.html", context, status_code=status_code)


@router.get("/cases/new")
def new_case(request: Request, session: SessionDep, user: WorkUser, q: str = "",
             customer_id: str | None = None, process_id: str = ""):
    """Find or create the customer, then choose process, channel, priority and first contact,
    and fill in the process's start form if it has one."""
    customer = None
    if customer_id:
        cid = int_or_none(customer_id)
        try:
            customer = get_customer(session, cid) if cid is not None else None
        except NotFound:
            customer = None
        if customer is None:
            raise HTTPException(404, f"No customer {customer_id}")
    if is_htmx(request) and customer is None:
        return render(request, "work/_customer_results.html",
                      {"results": search_customers(session, q), "q": q, "pick": True})
    typed = {"contacted_at": local_input(now()), "priority": "0", "process_id": process_id}
    return _new_case_page(request, session, user, customer=customer, q=q, typed=typed)


@router.get("/cases/new/start-form")
def new_case_start_form(request: Request, session: SessionDep, user: WorkUser,
                        process_id: str = "", customer_id: str = ""):
    """The start form of the chosen process, as the fragment the new-case page swaps in."""
    if not is_htmx(request):
        query = urlencode({"customer_id": customer_id, "process_id": process_id})
        return redirect(f"/cases/new?{query}")
    return render(request, "work/_start_form.html", _start_context(session, process_id))


def _header_errors(form: dict, at) -> tuple[dict, dict]:
    """Check the case's own fields; return (errors, typed values by name)."""
    errors, values = {}, {}
    values["process_id"] = form.get("process_id") or ""
    if not values["process_id"]:
        errors["process_id"] = "Choose the process"
    elif problem := field_problem("process_id", values["process_id"]):
        errors["process_id"] = problem
    values["channel"] = form.get("channel") or ""
    if values["channel"] not in CHANNELS:
        errors["channel"] = "Choose how the customer contacted us"
    values["priority"] = int_or_none(form.get("priority"))
    if values["priority"] not in PRIORITIES:
        errors["priority"] = "Choose a priority"
    try:
        values["contacted_at"] = parse_local_datetime(form.get("contacted_at"), "contacted_at",
                                                      required=True)
    except InvalidInput as err:
        errors.update(err.errors)
        values["contacted_at"] = None
    if values["contacted_at"] is not None and values["contacted_at"] > at + timedelta(minutes=5):
        errors["contacted_at"] = "The first contact cannot be in the future"
    return errors, values


@router.post("/cases/new", dependencies=[Depends(require_csrf)])
def open_new_case(request: Request, session: SessionDep, user: WorkUser, form: dict = FormData):
    """Open the case on the active version of the chosen process and go to its page."""
    typed = {k: v for k, v in form.items() if k != "csrf_token" and not k.startswith(START)}
    start_typed = {k[len(START):]: v for k, v in form.items() if k.startswith(START)}
    customer_id = int_or_none(form.get("customer_id"))
    try:
        customer = get_customer(session, customer_id) if customer_id is not None else None
    except NotFound:
        customer = None
    if customer is None:
        return _new_case_page(request, session, user, typed=typed, status_code=400,
                              message="Choose the customer first.")
    at = now()
    errors, values = _header_errors(form, at)
    start = None if "process_id" in errors else start_form(session, values["process_id"])
    page = partial(_new_case_page, request, session, user, customer=customer, typed=typed,
                   start_typed=start_typed, status_code=400)
    if start is not None and form.get("start_form_of") != values["process_id"]:
        return page(start_typed=None, message=(
            "This process asks for a few facts first: fill in its form below, then open the case."))
    start_errors = {}
    try:
        checked_start_data(start, start_typed)
    except StartFormInvalid as err:
        start_errors = err.errors
    if not errors and not start_errors:
        cfg = settings(request)
        try:
            case = open_case(session, actor=user, now=at, customer_id=customer.id,
                             process_id=values["process_id"], channel=values["channel"],
                             priority=values["priority"], contacted_at=values["contacted_at"],
                             data=start_typed if start is not None else None,
                             time_limit=cfg.script_time_limit, lane_teams=cfg.lane_teams)
        except StartFormInvalid as err:
            start_errors = err.errors
        except InvalidInput as err:
            errors.update(err.errors)
        except NotFound as err:
            errors["process_id"] = str(err)
        except CaseError as err:
            raise fail(err) from None
        else:
            return redirect(f"/cases/{case.id}")
    return page(errors=errors, start_errors=start_errors,
                message="The case was not opened; see below.")


@router.get("/customers")
def customers(request: Request, session: SessionDep, user: WorkUser, q: str = ""):
    """Search customers by name or account number."""
    context = {"user": user, "q": q, "results": search_customers(session, q, limit=50),
               "pick": False, "new_customer": {"typed": {}, "errors": {}}}
    if is_htmx(request):
        return render(request, "work/_customer_results.html", context)
    return render(request, "work/customers.html", context)


@router.post("/customers", dependencies=[Depends(require_csrf)])
def add_customer(request: Request, session: SessionDep, user: WorkUser, form: dict = FormData):
    """Create a customer; from the new-case page go straight on to the case form."""
    typed = {k: form.get(k, "") for k in ("name", "account_number", "email", "phone")}
    nxt = form.get("next") or ""
    errors = {}
    if not typed["name"].strip():
        errors["name"] = "Enter the customer's name"
    if not typed["account_number"].strip():
        errors["account_number"] = "Enter the account number"
    for name, value in typed.items():  # each lands in a column of its own
        if problem := field_problem(name, value.strip()):
            errors[name] = problem
    if not errors:
        try:
            customer = create_customer(session, actor=user.username, now=now(),
                                       name=typed["name"], account_number=typed["account_number"],
                                       email=typed["email"].strip() or None,
                                       phone=typed["phone"].strip() or None)
        except Conflict as err:
            errors["account_number"] = str(err)
        else:
            if nxt == "/cases/new":
                return redirect(f"/cases/new?customer_id={customer.id}")
            return redirect(safe_back(nxt, f"/customers/{customer.id}"))
    new_customer = {"typed": typed, "errors": errors}
    if nxt == "/cases/new":
        return _new_case_page(request, session, user, status_code=400, new_customer=new_customer,
                              message="The customer was not added; see below.")
    return render(request, "work/customers.html",
                  {"user": user, "q": "", "results": [], "pick": False,
                   "new_customer": new_customer}, status_code=400)


@router.get("/customers/{customer_id}")
def customer_page(request: Request, session: SessionDep, user: WorkUser,
                  customer_id: PathId):
    """A customer and every case of theirs, across processes, in time order."""
    try:
        customer = get_customer(session, customer_id)
        cases = customer_view(session, customer_id)
    except CaseError as err:
        raise fail(err) from None
    names = {d.id: (d.name or d.process_id, d.version) for d in session.exec(
        select(DefinitionVersion).where(DefinitionVersion.id.in_({c.definition_id for c in cases} or {0}))).all()}
    waiting = {}
    for item in session.exec(select(WorkItem).where(
            WorkItem.case_id.in_([c.id for c in cases] or [0]), WorkItem.state == "open")).all():
        waiting.setdefault(item.case_id, []).append(item.name)
    at, at_risk = now(), settings(request).sla_at_risk
    rows = [{"case": c, "process": names.get(c.definition_id, (c.process_id, 0)),
             "waiting": waiting.get(c.id, []),
             "clock": urgency(c.contacted_at, c.promised_at, c.closed_at or at, at_risk)}
            for c in cases]
    return render(request, "work/customer.html", {"user": user, "customer": customer, "rows": rows})


__all__ = ["Case", "router"]
