"""Messages from outside (a customer calling again, a field system reporting back) into a case."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlmodel import Session

from engine.errors import MessageNotCorrelated, MessageNotExpected
from engine.messages import send_message

from . import events
from .case_models import Case
from .case_service import engine_action, get_case
from .errors import Conflict, InvalidInput, NotFound
from .events import canonical_json as canonical
from .subscriptions import service as subscriptions
from .users import User


def deliver_message(session: Session, *, actor: User, now: datetime, case_id: int, name: str,
                    payload: Any = None, expected_version: int | None = None,
                    correlation: Mapping[str, Any] | None = None) -> tuple[Case, bool]:
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
            caught = send_message(action.live, name.strip(), payload, now=now,
                                  **({"correlation": dict(correlation)} if correlation else {}))
        except MessageNotExpected as err:
            raise InvalidInput({"name": str(err)}, {"name": name}) from None
        except MessageNotCorrelated as err:
            raise NotFound(f"Case {case_id} does not wait for this message: {err}") from None
        events.record(session, action.case, "message_sent", actor=actor.username, at=now,
                      details={"name": name.strip(), "payload": payload, "caught": caught,
                               **({"correlation": dict(correlation)} if correlation else {})})
    return action.case, caught


def correlate_message(session: Session, *, actor: User, now: datetime, name: str,
                      payload: Any = None, business_key: str | None = None,
                      correlation: Mapping[str, Any] | None = None) -> tuple[Case, bool]:
    """Deliver a message to the one open case it is meant for; return it and whether it was caught.

    With a business key (the case number) the message goes to that case (kept in its inbox if the
    case does not wait yet). Otherwise the case is found among those waiting for the message now,
    by the correlation values the message brings: none is NotFound (404), several is Conflict
    (409, naming them); nothing is ever dropped silently. Commit once.
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": "Give the message name the process waits for"})
    correlation = dict(correlation or {})
    if business_key is not None and str(business_key).strip():
        case_id = _case_number(business_key)
        return deliver_message(session, actor=actor, now=now, case_id=case_id, name=name,
                               payload=payload, correlation=correlation or None)
    waiting = subscriptions.cases_waiting(session, "message", name)
    candidates = sorted({case_id for case_id, expected in waiting
                         if subscriptions.matches(expected, correlation)})
    if not candidates:
        keys = f" with {canonical(correlation)}" if correlation else ""
        expected_keys = sorted({k for _, expected in waiting for k in expected})
        hint = (f"; waiting cases tell theirs apart by {', '.join(expected_keys)}"
                if expected_keys else "")
        raise NotFound(f"No open case waits for message '{name}'{keys}{hint}")
    if len(candidates) > 1:
        raise Conflict(f"{len(candidates)} cases wait for message '{name}' with these values "
                       f"(cases {', '.join(map(str, candidates[:20]))}): give the business key "
                       "(case number) or more correlation values", {"name": name})
    return deliver_message(session, actor=actor, now=now, case_id=candidates[0], name=name,
                           payload=payload, correlation=correlation or None)


def _case_number(business_key: str) -> int:
    text = str(business_key).strip()
    if not text.isdigit() or len(text) > 12:
        raise InvalidInput({"business_key": "Give the case number (digits only)"},
                           {"business_key": business_key})
    return int(text)
