"""Work items: the projection of ready steps, and claiming, releasing and assigning them."""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from engine.runtime import Instance

from . import duties, events, policy
from .case_models import Case, WorkItem
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .sla import task_due, team_for_lane
from .users import User


def project(session: Session, case: Case, live: Instance, *, now: datetime,
            lane_teams: Mapping[str, str] | None = None,
            due_overrides: Mapping[str, datetime] | None = None,
            assignees: Mapping[str, int] | None = None,
            open_items: list[WorkItem] | None = None) -> list[WorkItem]:
    """Open a work item per newly ready step and cancel open items whose step is gone.

    Items completed by the current action are marked done by the caller before this runs.
    Escalation items (cases/sla_sweep.py) are not steps of the process and are left alone.
    `due_overrides` (task id -> due) sets the due of steps that have none in the model (ad-hoc);
    `assignees` (task id -> user id) gives a reopened step back to whoever did it (rework).
    `open_items` are the case's open items if the action already read them (then no query).
    Returns the items opened now.
    """
    if open_items is None:
        # Without a flush first: what the action changed so far goes in with its last flush,
        # all rows of a table in one statement. So the action's own changes are read from memory.
        with session.no_autoflush:
            open_items = list(session.exec(
                select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.state == "open",
                                       WorkItem.kind != "escalation")).all())
    open_items = {w.task_id: w for w in open_items
                  if w.state == "open" and w.kind != "escalation"}
    ready = {t.id: t for t in live.ready_tasks()}
    for task_id in open_items.keys() - ready.keys():
        item = open_items[task_id]
        item.state, item.completed_at = "cancelled", now
        session.add(item)
        events.record(session, case, "task_cancelled", actor="engine", at=now,
                      element_id=item.element_id, details={"work_item_id": item.id})
    new = []
    for task_id in [t for t in ready if t not in open_items]:  # keep the engine's order
        task = ready[task_id]
        team = team_for_lane(task.lane, lane_teams)
        new.append(WorkItem(
            case_id=case.id, definition_id=case.definition_id, task_id=task.id,
            element_id=task.element_id, name=task.name[:255], kind=task.kind, team=team,
            due_at=(due_overrides or {}).get(task.id) or task_due(
                session, case.definition_id, task.process_id, task.element_id, now, team),
            assignee_id=(assignees or {}).get(task.id), created_at=now))
    opened = _insert(session, new)
    for item in opened:
        events.record(session, case, "task_opened", actor="engine", at=now, element_id=item.element_id,
                      details={"work_item_id": item.id, "team": item.team,
                               "due_at": item.due_at.isoformat() if item.due_at else None,
                               **({"assignee_id": item.assignee_id} if item.assignee_id else {})})
    return opened


def _insert(session: Session, items: list[WorkItem]) -> list[WorkItem]:
    """Insert new items now, in one statement, and return them as stored (with their ids, which
    their events name); the rest of the action stays unflushed until its one flush at commit.

    A Core INSERT that returns the ids, the objects then joining the session as the rows they
    are: an ORM insert returning whole objects cost twice as much, on every step."""
    if not items:
        return []
    rows = [{name: getattr(item, name) for name in _INSERTED} for item in items]
    with session.no_autoflush:
        ids = session.execute(_INSERT_ITEMS, rows).scalars().all()
    for item, item_id in zip(items, ids, strict=True):
        item.id = item_id
        make_transient_to_detached(item)  # every column is set: nothing left to load
        session.add(item)
    return items


_INSERTED = [column.name for column in WorkItem.__table__.columns if column.name != "id"]
_INSERT_ITEMS = (sa.insert(WorkItem.__table__)
                 .returning(WorkItem.__table__.c.id, sort_by_parameter_order=True))


def _item(session: Session, work_item_id: int) -> WorkItem:
    item = session.get(WorkItem, work_item_id)
    if item is None:
        raise NotFound(f"No work item {work_item_id}")
    if item.state != "open":
        raise Conflict(f"Work item {work_item_id} is already {item.state}")
    return item


def _set_assignee(session: Session, item: WorkItem, assignee_id: int | None,
                  only_if: sa.ColumnElement[bool]) -> bool:
    """Change the assignee in one conditional UPDATE, so two agents cannot both win."""
    result = session.execute(
        sa.update(WorkItem).where(WorkItem.id == item.id, WorkItem.state == "open", only_if)
        .values(assignee_id=assignee_id).execution_options(synchronize_session=False))
    if result.rowcount == 1:
        session.expire(item, ["assignee_id"])
    return result.rowcount == 1


def _finish(session: Session, item: WorkItem, type: str, *, actor: User, now: datetime,
            details: dict) -> WorkItem:
    case = session.get(Case, item.case_id)
    events.record(session, case, type, actor=actor.username, at=now, element_id=item.element_id,
                  details={"work_item_id": item.id, **details})
    _commit(session)
    session.refresh(item)
    return item


def require_team(actor: User, item: WorkItem) -> None:
    """Refuse an agent a step of a team they are not in, unless it was handed to them by name."""
    if (actor.role == "agent" and item.team and item.assignee_id != actor.id
            and item.team not in actor.team_list):
        raise Forbidden(f"“{item.name}” is work for {item.team}, and you are not in that team; "
                        "a supervisor can hand it to you")


def claim(session: Session, *, actor: User, now: datetime, work_item_id: int) -> WorkItem:
    """Take an unassigned work item of one's teams; refuse when someone else holds it. Commit once."""
    item = _item(session, work_item_id)
    require_team(actor, item)
    case = session.get(Case, item.case_id)
    if policy.decide(actor, "claim", duties.item_step(session, case, item)) != "allowed":
        raise Forbidden("Claiming this step needs a supervisor")  # no such cell today
    if item.assignee_id == actor.id:
        return item
    if not _set_assignee(session, item, actor.id, WorkItem.assignee_id.is_(None)):
        session.rollback()
        holder = session.get(User, session.get(WorkItem, work_item_id).assignee_id or 0)
        who = holder.display_name if holder else "someone else"
        raise Conflict(f"Work item {work_item_id} is already claimed by {who}")
    return _finish(session, item, "task_claimed", actor=actor, now=now, details={})


def release(session: Session, *, actor: User, now: datetime, work_item_id: int) -> WorkItem:
    """Give back a work item the actor holds (a supervisor may release anyone's). Commit once."""
    item = _item(session, work_item_id)
    if item.assignee_id is None:
        return item
    if item.assignee_id != actor.id and actor.role not in ("supervisor", "admin"):
        raise Forbidden("Only the person holding a work item or a supervisor can release it")
    if not _set_assignee(session, item, None, WorkItem.assignee_id == item.assignee_id):
        session.rollback()
        raise Conflict(f"Work item {work_item_id} changed hands meanwhile; reload")
    return _finish(session, item, "task_released", actor=actor, now=now,
                   details={"released_from": item.assignee_id})


def assign(session: Session, *, actor: User, now: datetime, work_item_id: int,
           assignee_id: int) -> WorkItem:
    """Hand a work item to a person (supervisors and admins only). Commit once."""
    if actor.role not in ("supervisor", "admin"):
        raise Forbidden("Only a supervisor can assign work to someone else")
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.active:
        raise NotFound(f"No active user {assignee_id}")
    if assignee.role not in ("agent", "supervisor", "admin"):
        raise InvalidInput({"assignee_id": f"{assignee.username} is a {assignee.role} and does "
                                           "not work cases; choose an agent or a supervisor"})
    item = _item(session, work_item_id)
    before = item.assignee_id
    if not _set_assignee(session, item, assignee_id, _same(before)):
        session.rollback()
        raise Conflict(f"Work item {work_item_id} changed hands meanwhile; reload")
    return _finish(session, item, "task_assigned", actor=actor, now=now,
                   details={"assignee": assignee.username, "previous_assignee_id": before})


def _same(assignee_id: int | None) -> sa.ColumnElement[bool]:
    return WorkItem.assignee_id.is_(None) if assignee_id is None else WorkItem.assignee_id == assignee_id


def _commit(session: Session) -> None:
    """Commit; two writers appending to one case's chain at once collide on (case_id, seq)."""
    try:
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict("The case was changed by someone else at the same moment; reload and retry") from None
