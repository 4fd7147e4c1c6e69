"""Messages from outside (a customer calling again, a field system reporting back) into a case."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from engine.errors import MessageNotExpected
from engine.messages import send_message

from . import events
from .case_models import Case
from .case_service import engine_action, get_case
from .errors import InvalidInput
from .users import User


def deliver_message(session: Session, *, actor: User, now: datetime, case_id: int, name: str,
                    payload: Any = None, expected_version: int | None = None) -> tuple[Case, bool]:
    """Send a named message to a case's process; return the case and whether it was caught now.

    A message the process is not waiting for yet is kept in its inbox and caught as soon as the
    process waits for it; a name the process never uses is refused. Logged as `message_sent`
    (the engine's `message_received` follows when it is caught). Commit once.
    """
    if not (name or "").strip():
        raise InvalidInput({"name": "Give the message name the process waits for"})
    version = expected_version if expected_version is not None else get_case(session, case_id).row_version
    with engine_action(session, actor=actor, now=now, case_id=case_id, expected_version=version,
                       statuses=("open", "on_hold")) as action:
        try:
            caught = send_message(action.live, name.strip(), payload, now=now)
        except MessageNotExpected as err:
            raise InvalidInput({"name": str(err)}, {"name": name}) from None
        events.record(session, action.case, "message_sent", actor=actor.username, at=now,
                      details={"name": name.strip(), "payload": payload, "caught": caught})
    return action.case, caught
