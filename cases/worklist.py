"""Worklist queries: mine, my teams', unassigned, overdue — most urgent first, all in SQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from .case_models import Case, WorkItem
from .errors import CaseError
from .search.service import match_clause
from .sla import DEFAULT_AT_RISK, at_risk_reached
from .users import User

VIEWS = ("mine", "team", "unassigned", "overdue")


@dataclass(frozen=True)
class WorklistEntry:
    """One open work item with the case it belongs to."""

    item: WorkItem
    case: Case
    overdue: bool
    at_risk: bool = False  # not overdue yet, but most of the step's time is used


def _is_overdue(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(WorkItem.due_at.is_not(None), WorkItem.due_at < now)


def _view_filter(view: str, actor: User, now: datetime) -> sa.ColumnElement[bool]:
    mine = WorkItem.assignee_id == actor.id
    my_teams = WorkItem.team.in_(actor.team_list)
    if view == "mine":
        return mine
    if view == "team":
        return my_teams
    if view == "unassigned":
        return sa.and_(my_teams, WorkItem.assignee_id.is_(None))
    if view == "overdue":
        return sa.and_(sa.or_(mine, my_teams), _is_overdue(now))
    raise CaseError(f"Unknown worklist '{view}'; choose one of {', '.join(VIEWS)}")


def _case_filters(session: Session, process_id: str | None, priority: int | None,
                  channel: str | None, q: str | None = None) -> list[sa.ColumnElement[bool]]:
    """Optional filters on the case of each item (None: no filter); `q` is a case search."""
    found = []
    if q:
        found.append(match_clause(session, q))
    if process_id:
        found.append(Case.process_id == process_id)
    if priority is not None:
        found.append(Case.priority == priority)
    if channel:
        found.append(Case.channel == channel)
    return found


def urgency_order(now: datetime, share: float = DEFAULT_AT_RISK
                  ) -> tuple[sa.ColumnElement[int], list[sa.ColumnElement]]:
    """The urgency rank (2 overdue, 1 at risk, 0 neither) and the worklist's order: most urgent
    first, then case priority, then due time (none last). Needs WorkItem joined with Case."""
    urgency = sa.case((_is_overdue(now), 2),
                      (sa.and_(WorkItem.due_at.is_not(None),
                               at_risk_reached(WorkItem.created_at, WorkItem.due_at, now, share)), 1),
                      else_=0)
    return urgency, [urgency.desc(), Case.priority.desc(),
                     sa.case((WorkItem.due_at.is_(None), 1), else_=0), WorkItem.due_at, WorkItem.id]


def worklist(session: Session, *, actor: User, now: datetime, view: str = "mine",
             limit: int = 100, offset: int = 0, process_id: str | None = None,
             priority: int | None = None, channel: str | None = None,
             share: float = DEFAULT_AT_RISK, q: str | None = None) -> list[WorklistEntry]:
    """Return open work items of a view, most urgent first: overdue, then at risk (`share` of the
    step's time used), then case priority, then due time.

    `process_id`, `priority` and `channel` narrow the list to cases that match them, and `q` to
    cases a search finds (cases/search/; InvalidInput when it has nothing to look for).
    """
    urgency, order = urgency_order(now, share)
    query = (select(WorkItem, Case, urgency)
             .join(Case, Case.id == WorkItem.case_id)
             .where(WorkItem.state == "open", _view_filter(view, actor, now),
                    *_case_filters(session, process_id, priority, channel, q))
             .order_by(*order)
             .limit(limit).offset(offset))
    return [WorklistEntry(item, case, rank == 2, rank == 1)
            for item, case, rank in session.exec(query).all()]


def worklist_count(session: Session, *, actor: User, now: datetime, view: str = "mine",
                   process_id: str | None = None, priority: int | None = None,
                   channel: str | None = None, q: str | None = None) -> int:
    """Return how many open work items a view holds (with the same optional filters)."""
    filters = _case_filters(session, process_id, priority, channel, q)
    query = select(sa.func.count()).select_from(WorkItem)
    if filters:
        query = query.join(Case, Case.id == WorkItem.case_id)
    query = query.where(WorkItem.state == "open", _view_filter(view, actor, now), *filters)
    return int(session.exec(query).one())
