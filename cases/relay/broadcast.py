"""Deliver a signal a case threw: the `signal_broadcast` job fans out, the `signal_start` job
opens a case (the sender's side is signals.py).

    signal_broadcast   in one transaction with its own removal: one `signal` job per open or
                       held case other than the sender waiting for the name (the per-case job of
                       cases/subscriptions/signals.py) and one `signal_start` job per active
                       process whose start event catches it
    signal_start       opens that process's case (system, the sender's customer and channel,
                       the payload as start data), the sender linked as its parent

Each job finishes in the transaction that does its work: exactly once per receiver. Failures
retry with backoff and become incidents like every job's: a receiver's on the receiver, a
start's on the sender, at its throwing element.
"""
from __future__ import annotations

from sqlmodel import Session, select

from engine.store import DefinitionVersion

from ..case_models import Case
from ..jobs import service as jobs
from ..jobs.handlers import Context, register
from ..jobs.models import Job
from ..subscriptions.models import Subscription
from ..timers import SYSTEM
from .service import ThrownUndone
from .signals import BROADCAST, starters
from .starts import open_for_sender

START = "signal_start"
DELIVER = "signal"  # the per-case job kind of cases/subscriptions/signals.py
OPEN_OR_HELD = ("open", "on_hold")


def waiting_cases(session: Session, name: str, *, sender: int) -> list[int]:
    """Return the open or held cases, other than the sender, waiting for signal `name` now."""
    waiting = sorted(set(session.exec(select(Subscription.case_id).where(
        Subscription.kind == "signal", Subscription.name == name[:255],
        Subscription.case_id != sender)).all()))
    if not waiting:
        return []
    return sorted(session.exec(select(Case.id).where(Case.id.in_(waiting),
                                                     Case.status.in_(OPEN_OR_HELD))).all())


def fan_out(session: Session, job: Job, ctx: Context) -> None:
    """Job handler: one delivery job per waiting case, one start job per starting process, and
    this job's removal, in one commit."""
    data = jobs.payload_of(job)
    name, sender = data["name"], data["sender_case_id"]
    suffix = job.key.rsplit(":", 1)[-1]
    for case_id in waiting_cases(session, name, sender=sender):
        jobs.schedule(session, kind=DELIVER, key=f"{DELIVER}:{case_id}:{suffix}", due_at=ctx.now,
                      now=ctx.now, case_id=case_id,
                      payload={"name": name, "payload": data.get("payload"),
                               "sent_by": SYSTEM.username, "from_case_id": sender})
    for starter in starters(session, name):
        jobs.schedule(session, kind=START, key=f"{START}:{starter.definition_id}:{suffix}",
                      due_at=ctx.now, now=ctx.now, case_id=sender,
                      payload={**data, "definition_id": starter.definition_id,
                               "process_id": starter.process_id,
                               "start_event": starter.element_id})
    jobs.done(session, job, ctx.owner)
    session.commit()


class SignalStartFailed(ThrownUndone):
    """A case a signal should open failed to start: the sender's throwing element is named."""


def open_started(session: Session, job: Job, ctx: Context) -> None:
    """Job handler: open the case the signal starts, link the sender to it, finish: one commit."""
    data = jobs.payload_of(job)
    held = jobs.held(session, job.id, ctx.owner)
    if held is None:
        raise jobs.LeaseLost(f"job {job.id} was taken over by another worker")
    jobs.done(session, held, ctx.owner)
    version = session.get(DefinitionVersion, data["definition_id"], populate_existing=True)
    if version is None or version.status != "active":  # a newer version took over since
        newer = [s for s in starters(session, data["name"]) if s.process_id == data["process_id"]]
        version = session.get(DefinitionVersion, newer[0].definition_id) if newer else None
        data["start_event"] = newer[0].element_id if newer else None
    sender = session.get(Case, data["sender_case_id"], populate_existing=True)
    if version is None or sender is None:  # the process no longer starts on the signal
        session.commit()
        return
    open_for_sender(session, ctx, sender=sender, version=version, data=data, what="signal",
                    error=SignalStartFailed, start_event=data["start_event"],
                    signal=(data["name"], data.get("payload")))
    session.commit()


register(BROADCAST, fan_out)
register(START, open_started)
