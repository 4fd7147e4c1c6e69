"""Get next work: claim the most urgent unclaimed step the person may take, in one click.

Candidates are the open, unassigned steps of the person's teams on open cases, in the worklist's
order (cases/worklist.py: overdue, at risk, case priority, due). Two people asking at once never
get the same step:

- PostgreSQL: the candidate is read with `FOR UPDATE SKIP LOCKED`, so a second asker skips the
  row the first one holds and takes the next.
- SQLite: the candidates are read without a lock, then claimed with a conditional
  `UPDATE ... WHERE assignee_id IS NULL`; a row count of 0 means someone else was faster, and
  the next candidate is tried (the database's write lock makes each UPDATE atomic).

A step the policy does not let this person claim (a supervisor's check handed to an agent's
team) is passed over. The claim is recorded as `task_claimed` in the same transaction.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from . import duties, events, policy
from .case_models import Case, WorkItem
from .errors import Forbidden
from .sla import DEFAULT_AT_RISK
from .users import User
from .worklist import urgency_order

WORKERS = ("agent", "supervisor", "admin")
BATCH = 5  # candidates read per round on SQLite
ROUNDS = 20  # rounds before giving up when every candidate is taken under our hands


def _candidates(session: Session, actor: User, now: datetime, share: float,
                passed: set[int], limit: int, lock: bool) -> list[int]:
    _, order = urgency_order(now, share)
    query = (select(WorkItem.id).join(Case, Case.id == WorkItem.case_id)
             .where(WorkItem.state == "open", WorkItem.assignee_id.is_(None),
                    WorkItem.team.in_(actor.team_list), Case.status == "open",
                    *([WorkItem.id.not_in(passed)] if passed else []))
             .order_by(*order).limit(limit))
    if lock:
        query = query.with_for_update(skip_locked=True, of=WorkItem.__table__)
    return list(session.exec(query).all())


def _take(session: Session, item_id: int, actor: User) -> bool:
    result = session.execute(
        sa.update(WorkItem).where(WorkItem.id == item_id, WorkItem.state == "open",
                                  WorkItem.assignee_id.is_(None))
        .values(assignee_id=actor.id).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _may_claim(session: Session, actor: User, item: WorkItem, case: Case) -> bool:
    try:
        return policy.decide(actor, "claim", duties.item_step(session, case, item)) == "allowed"
    except Forbidden:
        return False


def next_work(session: Session, *, actor: User, now: datetime,
              share: float = DEFAULT_AT_RISK) -> WorkItem | None:
    """Claim and return the most urgent step the actor may take (None: none waits). Commit once."""
    if actor.role not in WORKERS:
        raise Forbidden(f"A {actor.role} does not take work from the worklist")
    if not actor.team_list:
        return None
    postgres = session.get_bind().dialect.name == "postgresql"
    passed: set[int] = set()
    for _ in range(ROUNDS):
        ids = _candidates(session, actor, now, share, passed, 1 if postgres else BATCH, postgres)
        if not ids:
            session.rollback()
            return None
        for item_id in ids:
            if not _take(session, item_id, actor):
                session.rollback()  # someone else took it first: try the next one
                continue
            item = session.get(WorkItem, item_id, populate_existing=True)
            case = session.get(Case, item.case_id, populate_existing=True, with_for_update=postgres)
            if not _may_claim(session, actor, item, case):
                session.rollback()
                passed.add(item_id)
                break
            events.record(session, case, "task_claimed", actor=actor.username, at=now,
                          element_id=item.element_id,
                          details={"work_item_id": item.id, "by": "next_work"})
            try:
                session.commit()
            except sa.exc.IntegrityError:  # the case's chain moved under us (another event)
                session.rollback()
                continue
            return item
    session.rollback()
    return None
