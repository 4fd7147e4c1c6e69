"""Signals one case throws (an intermediate signal throw event, a signal end event) are a
broadcast: they reach every other case waiting for the name and open a case of every active
process whose start event catches it. This module is the sender's side: in the action's own
transaction, a `signal_thrown` event on the sender and, when another case waits for the name or
an active process starts on it, one `signal_broadcast` job (delivered by broadcast.py); nothing
more, however many cases will hear it.

The sender's own catches took the signal inside its instance already (SpiffWorkflow does that),
so the sender never gets a delivery of its own signal.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session, select

from engine.signals import ThrownSignal, start_signals

from .. import events
from ..case_models import Case
from ..jobs import service as jobs
from ..subscriptions.models import Subscription
from .service import ENGINE_ACTOR, _json, active_compiled

BROADCAST = "signal_broadcast"


class SignalStarter(NamedTuple):
    """An active version whose process's start event catches a signal name."""

    definition_id: int
    process_id: str
    element_id: str


# (process id, content hash) -> {signal name: start event id}
_STARTS: dict[tuple[str, str], dict[str, str]] = {}


def starters(session: Session, name: str) -> list[SignalStarter]:
    """Return the active versions whose process starts on signal `name`, by process id."""
    return [SignalStarter(version_id, process_id, starts[name])
            for version_id, process_id, starts in active_compiled(session, start_signals, _STARTS)
            if name in starts]


def _others_wait(session: Session, name: str, sender: int) -> bool:
    return session.exec(select(Subscription.id).where(
        Subscription.kind == "signal", Subscription.name == name[:255],
        Subscription.case_id != sender).limit(1)).first() is not None


def record_thrown(session: Session, case: Case, thrown: list[ThrownSignal], *,
                  now: datetime) -> None:
    """Log each signal the case's action threw (`signal_thrown`) and give each one another case
    may hear its broadcast job (session.add only)."""
    for signal in thrown:
        payload = _json(signal.payload)
        heard = _others_wait(session, signal.name, case.id) or bool(starters(session, signal.name))
        key = f"{BROADCAST}:{case.id}:{uuid.uuid4().hex}" if heard else None
        events.record(session, case, "signal_thrown", actor=ENGINE_ACTOR, at=now,
                      element_id=signal.element_id,
                      details={"signal": signal.name, "payload": payload,
                               "caught_by_sender": signal.caught_here,
                               "destination": "cases" if key else "nobody",
                               **({"job_key": key} if key else {})})
        if key is not None:
            jobs.schedule(session, kind=BROADCAST, key=key, due_at=now, now=now, case_id=case.id,
                          payload={"name": signal.name, "payload": payload,
                                   "element_id": signal.element_id, "sender_case_id": case.id,
                                   "thrown_at": now.isoformat()})
