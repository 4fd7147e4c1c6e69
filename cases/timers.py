"""Waking cases whose timers are due: one transaction per case, safe to run in several workers."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from engine import store

from .case_models import Case
from .case_service import engine_action
from .errors import Conflict
from .users import User

# The engine's own actor: not a row, never signs in; events it causes are recorded as "system".
SYSTEM = User(username="system", display_name="Caseflow timers", role="admin", password_hash="!")


def advance_due_timers(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Fire every timer due by `now` on open or held cases; return how many cases moved.

    Each case is its own unit of work (lock, load, advance, save, work items, events, commit).
    A case another worker is advancing at the same moment is left to that worker.
    """
    instance_ids = store.due_instances(session, now=now, limit=limit)
    session.rollback()  # release the SKIP LOCKED claim; each case below locks its own row
    moved = 0
    for instance_id in instance_ids:
        case = session.exec(select(Case).where(Case.instance_id == instance_id)).first()
        if case is None:
            continue
        try:
            with engine_action(session, actor=SYSTEM, now=now, case_id=case.id,
                               expected_version=case.row_version,
                               statuses=("open", "on_hold")) as action:
                action.live.advance(now=now)
        except Conflict:
            continue
        moved += 1
    return moved
