"""Notes on a case: free text kept in the case's audit chain as a `note_added` event (no table of its own)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from . import events
from .case_service import get_case
from .errors import Conflict, InvalidInput
from .events import CaseEvent
from .users import User

MAX_NOTE = 4000


def add_note(session: Session, *, actor: User, now: datetime, case_id: int, text: str) -> CaseEvent:
    """Append a note to a case (open or closed). Commit once."""
    body = (text or "").strip()
    if not body:
        raise InvalidInput({"text": "Write the note first"}, {"text": text or ""})
    if len(body) > MAX_NOTE:
        raise InvalidInput({"text": f"Keep the note under {MAX_NOTE} characters"}, {"text": text})
    try:
        case = get_case(session, case_id)
        event = events.record(session, case, "note_added", actor=actor.username, at=now,
                              details={"text": body})
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict("Someone else changed this case at the same moment; add the note again",
                       {"text": text}) from None
    except Exception:
        session.rollback()
        raise
    return event


__all__ = ["add_note"]
