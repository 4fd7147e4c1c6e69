"""Worklist queries: mine, my teams', unassigned, overdue — most urgent first, all in SQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from .case_models import Case, WorkItem
from .errors import CaseError
from .users import User

VIEWS = ("mine", "team", "unassigned", "overdue")


@dataclass(frozen=True)
class WorklistEntry:
    """One open work item with the case it belongs to."""

    item: WorkItem
    case: Case
    overdue: bool


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


def _case_filters(process_id: str | None, priority: int | None,
                  channel: str | None) -> list[sa.ColumnElement[bool]]:
    """Optional filters on the case of each item (None: no filter)."""
    found = []
    if process_id:
        found.append(Case.process_id == process_id)
    if priority is not None:
        found.append(Case.priority == priority)
    if channel:
        found.append(Case.channel == channel)
    return found


def worklist(session: Session, *, actor: User, now: datetime, view: str = "mine",
             limit: int = 100, offset: int = 0, process_id: str | None = None,
             priority: int | None = None, channel: str | None = None) -> list[WorklistEntry]:
    """Return open work items of a view: overdue first, then case priority, then due time.

    `process_id`, `priority` and `channel` narrow the list to cases that match them.
    """
    overdue = sa.case((_is_overdue(now), 1), else_=0)
    query = (select(WorkItem, Case, overdue)
             .join(Case, Case.id == WorkItem.case_id)
             .where(WorkItem.state == "open", _view_filter(view, actor, now),
                    *_case_filters(process_id, priority, channel))
             .order_by(overdue.desc(), Case.priority.desc(),
                       sa.case((WorkItem.due_at.is_(None), 1), else_=0), WorkItem.due_at,
                       WorkItem.id)
             .limit(limit).offset(offset))
    return [WorklistEntry(item, case, bool(late)) for item, case, late in session.exec(query).all()]


def worklist_count(session: Session, *, actor: User, now: datetime, view: str = "mine",
                   process_id: str | None = None, priority: int | None = None,
                   channel: str | None = None) -> int:
    """Return how many open work items a view holds (with the same optional filters)."""
    filters = _case_filters(process_id, priority, channel)
    query = select(sa.func.count()).select_from(WorkItem)
    if filters:
        query = query.join(Case, Case.id == WorkItem.case_id)
    query = query.where(WorkItem.state == "open", _view_filter(view, actor, now), *filters)
    return int(session.exec(query).one())
