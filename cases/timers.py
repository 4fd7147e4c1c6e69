"""Waking cases whose timers are due, as a one-shot round of the job executor (`caseflow timers`)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from .users import User

# The engine's own actor: not a row, never signs in; events it causes are recorded as "system".
SYSTEM = User(username="system", display_name="Caseflow timers", role="admin", password_hash="!")


def advance_due_timers(session: Session, *, now: datetime, limit: int = 100,
                       time_limit: float = 2.0) -> int:
    """Fire every timer job due by `now`; return how many ran (failures are counted by the
    executor and become incidents at their limit; they never stop the others)."""
    from .jobs.executor import Executor

    session.rollback()
    executor = Executor(session.get_bind(), clock=lambda: now, batch=limit, kinds=("timer",),
                        time_limit=time_limit)
    return executor.run_until_idle().done
