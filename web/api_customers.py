"""The JSON API of customers: search, get, create, and their cases (for a CRM's own screens).

For the people who work cases, as the customer pages are (agents, supervisors, admins). Same
authentication and refusal shape as web/api.py.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException

from cases import customers
from cases.customers import Customer
from engine.clock import utcnow

from .api import REFUSALS, Caller, _case_json, _iso, _run, _worker
from .api_models import CaseOut
from .api_resources import CustomerOut, NewCustomerBody
from .inputs import PathId, Text
from .pagination import DEFAULT_LIMIT, Limit, Offset, Paged, page
from .security import SessionDep

router = APIRouter()
# A case in a list: without its work items and approvals (GET /api/cases/{id} has them).
LIST_OPTIONS = {"response_model_exclude_unset": True, "responses": REFUSALS}


def customer_json(customer: Customer) -> dict:
    """A customer as the API shows it."""
    return {"id": customer.id, "name": customer.name, "account_number": customer.account_number,
            "email": customer.email, "phone": customer.phone,
            "created_at": _iso(customer.created_at)}


@router.get("/customers", response_model=Paged[CustomerOut], responses=REFUSALS)
def api_customers(user: Caller, session: SessionDep, q: Text(255) | None = None,
                  limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> dict:
    """Customers by name; `q` keeps those whose name or account number contains it."""
    _worker(user)
    rows, total = customers.find_customers(session, q, limit=limit, offset=offset)
    return page([customer_json(c) for c in rows], total, limit=limit, offset=offset)


@router.post("/customers", status_code=201, response_model=CustomerOut, responses=REFUSALS)
def api_add_customer(body: NewCustomerBody, user: Caller, session: SessionDep) -> dict:
    """Add a customer (409 when the account number belongs to another customer)."""
    _worker(user)
    blank = {name: "Give a value that is not only spaces" for name in ("name", "account_number")
             if not getattr(body, name).strip()}
    if blank:
        raise HTTPException(status_code=422, detail={"message": "Check the fields: "
                                                     + ", ".join(blank), "errors": blank})
    customer = _run(customers.create_customer, session, actor=user.username, now=utcnow(),
                    name=body.name, account_number=body.account_number,
                    email=(body.email or "").strip() or None,
                    phone=(body.phone or "").strip() or None)
    return customer_json(customer)


@router.get("/customers/{customer_id}", response_model=CustomerOut, responses=REFUSALS)
def api_customer(customer_id: PathId, user: Caller, session: SessionDep) -> dict:
    """One customer."""
    _worker(user)
    return customer_json(_run(customers.get_customer, session, customer_id))


@router.get("/customers/{customer_id}/cases", response_model=Paged[CaseOut], **LIST_OPTIONS)
def api_customer_cases(customer_id: PathId, user: Caller, session: SessionDep,
                       limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> dict:
    """Every case of the customer across processes, oldest first contact first."""
    _worker(user)
    rows, total = _run(customers.customer_cases, session, customer_id, limit=limit, offset=offset)
    return page([_case_json(session, c, with_items=False) for c in rows], total, limit=limit,
                offset=offset)
