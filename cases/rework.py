"""Rework keeps the work: a step reopened by going back goes to whoever did it last time."""
from __future__ import annotations

from sqlmodel import Session, select

from .case_models import Case, WorkItem
from .sla import team_for_lane
from .users import User


def previous_worker(session: Session, case: Case, task_id: str, team: str | None) -> int | None:
    """Return the user who completed the step's last run if they may still work `team`'s steps."""
    done = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                               WorkItem.task_id == task_id,
                                               WorkItem.state == "done")
                        .order_by(WorkItem.id.desc())).first()
    if done is None or done.assignee_id is None:
        return None
    user = session.get(User, done.assignee_id)
    if user is None or not user.active or user.role not in ("agent", "supervisor", "admin"):
        return None
    if user.role == "agent" and team and team not in user.team_list:
        return None
    return user.id


def keep_worker(session: Session, action, task_id: str) -> None:
    """Give the step a go-back reopened to whoever did it (`action`: the running EngineAction)."""
    reopened = [t for t in action.live.ready_tasks() if t.id == task_id]
    if reopened:
        worker = previous_worker(session, action.case, task_id, team_for_lane(reopened[0].lane))
        if worker is not None:
            action.assignees[task_id] = worker
