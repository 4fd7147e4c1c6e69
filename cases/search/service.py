"""Search cases by number, customer, notes and case data, within what the person may see."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from ..case_models import Case, WorkItem
from ..customers import Customer
from ..users import User
from . import query as q
from .models import CaseSearch

SEES_ALL = ("supervisor", "admin")


@dataclass(frozen=True)
class Hit:
    """One case found, with its customer."""

    case: Case
    customer: Customer


@dataclass(frozen=True)
class Found:
    hits: list[Hit]
    count: int


def visible(actor: User) -> sa.ColumnElement[bool] | None:
    """The cases an agent may find: a step of their teams or handed to them, or opened by them.

    Supervisors and admins find every case (None: no restriction)."""
    if actor.role in SEES_ALL:
        return None
    theirs = select(WorkItem.case_id).where(sa.or_(WorkItem.team.in_(actor.team_list),
                                                   WorkItem.assignee_id == actor.id))
    return sa.or_(Case.id.in_(theirs), Case.opened_by == actor.username)


def matching_ids(session: Session, text: str) -> sa.Select:
    """A query of the ids of cases whose document matches the search, with a rank column
    (higher is better). InvalidInput when the search has nothing to look for."""
    parsed = q.parse(text)
    if session.get_bind().dialect.name == "postgresql":
        tsquery = sa.func.websearch_to_tsquery(sa.literal_column("'english'"), q.websearch(parsed))
        vector = sa.func.to_tsvector(sa.literal_column("'english'"), CaseSearch.body)
        found = (select(CaseSearch.case_id.label("case_id"),
                        sa.func.ts_rank(vector, tsquery).label("rank"))
                 .where(vector.op("@@")(tsquery)))
    else:
        fts = sa.table("case_search_fts", sa.column("rowid", sa.Integer),
                       sa.column("rank", sa.Float))
        found = (select(fts.c.rowid.label("case_id"), (-fts.c.rank).label("rank"))
                 .where(sa.text("case_search_fts MATCH :match").bindparams(match=q.fts5(parsed))))
    number = q.case_number(text)
    if number is not None:  # the case with that number first, then the text's matches
        found = sa.union_all(select(sa.literal(number).label("case_id"),
                                    sa.literal(1e9).label("rank")), found)
    return found


def search(session: Session, *, actor: User, text: str, limit: int = 25,
           offset: int = 0, status: str | None = None) -> Found:
    """Cases matching the search that the actor may see, best match first."""
    found = matching_ids(session, text).subquery()
    best = (select(found.c.case_id, sa.func.max(found.c.rank).label("rank"))
            .group_by(found.c.case_id).subquery())
    conditions = [c for c in (visible(actor),
                              Case.status == status if status else None) if c is not None]
    base = (select(Case, Customer, best.c.rank).join(best, best.c.case_id == Case.id)
            .join(Customer, Customer.id == Case.customer_id).where(*conditions))
    count = session.exec(select(sa.func.count()).select_from(base.subquery())).one()
    rows = session.exec(base.order_by(best.c.rank.desc(), Case.id.desc())
                        .limit(limit).offset(offset)).all()
    return Found([Hit(case, customer) for case, customer, _ in rows], int(count))


def match_clause(session: Session, text: str) -> sa.ColumnElement[bool]:
    """A filter on Case.id for the cases matching the search (for the worklist)."""
    found = matching_ids(session, text).subquery()
    return Case.id.in_(select(found.c.case_id))
