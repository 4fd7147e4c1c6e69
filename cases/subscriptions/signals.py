"""Signals across cases: a broadcast becomes one delivery job per waiting case (a broadcast
from outside here; one a case threw through cases/relay/broadcast.py, which adds the sender as
`from_case_id`).

Delivering to thousands of restore cases when a mass outage clears must not be one long
transaction nor stop at the first case that fails: each case gets its own job, run by the
executor in its own transaction, retried and turned into an incident on its own.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from ..case_models import Case
from ..errors import InvalidInput
from ..jobs import service as jobs
from ..jobs.handlers import Context, case_action, register
from ..jobs.models import Job
from ..users import User
from . import service

OPEN_OR_HELD = ("open", "on_hold")


def broadcast(session: Session, *, actor: User, now: datetime, name: str,
              payload: Any = None) -> list[int]:
    """Queue the signal for every open case waiting for it; return their ids. Commit once."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise InvalidInput({"name": "Give the signal's name as the model writes it (1-255 characters)"},
                           {"name": name})
    waiting = sorted({case_id for case_id, _ in service.cases_waiting(session, "signal", name)})
    open_ids = set(session.exec(select(Case.id).where(Case.id.in_(waiting),
                                                      Case.status.in_(OPEN_OR_HELD))).all()) if waiting else set()
    targets = [c for c in waiting if c in open_ids]
    for case_id in targets:
        jobs.schedule(session, kind="signal", key=f"signal:{case_id}:{uuid.uuid4().hex}",
                      due_at=now, now=now, case_id=case_id,
                      payload={"name": name, "payload": payload, "sent_by": actor.username})
    session.commit()
    return targets


def deliver_signal(session: Session, job: Job, ctx: Context) -> None:
    """Job handler: give the signal to one case (nothing happens if it stopped waiting)."""
    from engine.signals import send_signal

    from .. import events

    data = jobs.payload_of(job)
    with case_action(session, job, ctx) as action:
        if action is None:
            return
        jobs.done(session, job, ctx.owner)
        caught = send_signal(action.live, data["name"], data.get("payload"), now=ctx.now)
        thrown_by = {"from_case_id": data["from_case_id"]} if data.get("from_case_id") else {}
        events.record(session, action.case, "signal_sent", actor=data.get("sent_by") or "system",
                      at=ctx.now, details={"name": data["name"], "payload": data.get("payload"),
                                           "caught": caught, **thrown_by})


register("signal", deliver_signal)
