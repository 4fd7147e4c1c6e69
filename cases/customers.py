"""Customers and the customer's view of their cases."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from engine.store import utc_column

from .errors import Conflict, NotFound


class Customer(SQLModel, table=True):
    """A person or business we serve, known by their account number."""

    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    email: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=64)
    account_number: str = Field(max_length=64, sa_column_kwargs={"unique": True}, index=True)
    created_at: datetime = utc_column()


def create_customer(session: Session, *, actor: str, now: datetime, name: str, account_number: str,
                    email: str | None = None, phone: str | None = None) -> Customer:
    """Add a customer; refuse an account number that is already taken. Commit once."""
    account_number = account_number.strip()
    if session.exec(select(Customer.id).where(Customer.account_number == account_number)).first():
        raise Conflict(f"Account number {account_number} belongs to another customer")
    customer = Customer(name=name.strip(), email=email, phone=phone, account_number=account_number,
                        created_at=now)
    session.add(customer)
    try:
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict(f"Account number {account_number} belongs to another customer") from None
    return customer


def get_customer(session: Session, customer_id: int) -> Customer:
    """Return a customer or raise NotFound."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}")
    return customer


def customer_view(session: Session, customer_id: int) -> list:
    """Return every case of a customer, oldest contact first."""
    from .case_models import Case

    get_customer(session, customer_id)
    return list(session.exec(select(Case).where(Case.customer_id == customer_id)
                             .order_by(Case.contacted_at, Case.id)).all())


def _matching(text: str) -> sa.ColumnElement[bool]:
    """Name or account number contains the text (case-insensitive, LIKE wildcards taken literally)."""
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return sa.or_(sa.func.lower(Customer.name).like(pattern, escape="\\"),
                  sa.func.lower(Customer.account_number).like(pattern, escape="\\"))


def search_customers(session: Session, query: str, *, limit: int = 20) -> list[Customer]:
    """Customers whose name or account number contains the query (case-insensitive), by name."""
    text = (query or "").strip()
    if not text:
        return []
    return list(session.exec(select(Customer).where(_matching(text))
                             .order_by(Customer.name, Customer.id).limit(limit)).all())


def find_customers(session: Session, query: str | None, *, limit: int, offset: int
                   ) -> tuple[list[Customer], int]:
    """A page of customers by name (all, or those matching the query) and how many match."""
    text = (query or "").strip()
    where = [_matching(text)] if text else []
    total = session.exec(select(sa.func.count()).select_from(Customer).where(*where)).one()
    rows = session.exec(select(Customer).where(*where).order_by(Customer.name, Customer.id)
                        .limit(limit).offset(offset)).all()
    return list(rows), int(total)


def customer_cases(session: Session, customer_id: int, *, limit: int, offset: int
                   ) -> tuple[list, int]:
    """A page of a customer's cases, oldest contact first, and how many they have."""
    from .case_models import Case

    get_customer(session, customer_id)
    mine = Case.customer_id == customer_id
    total = session.exec(select(sa.func.count()).select_from(Case).where(mine)).one()
    rows = session.exec(select(Case).where(mine).order_by(Case.contacted_at, Case.id)
                        .limit(limit).offset(offset)).all()
    return list(rows), int(total)
