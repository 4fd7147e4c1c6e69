"""The `message` job: deliver a message one case threw to the one case meant to take it.

The receiver is, in this order:
1. the open (or held) case, other than the sender, that waits for the message's name with
   correlation values the message satisfies (cases/subscriptions), or
2. a new case of the active process whose start event catches the name (a message start),
   opened by `system` for the sender's customer, with the payload as its start data, its
   `case_opened` event naming the sender and the sender linked to it as its parent.

Two or more receivers at either step is refused (a message goes to one case): the job fails
with the cases or processes named, and becomes an incident on the sender at its attempt limit.
No receiver yet: the message waits (the job comes back, and any case that starts to wait for
the name wakes it) for its time to live, then fails the same way. The delivery and the job's
removal commit together, so a retried or doubly claimed job delivers once.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from engine.errors import ScriptFailed
from engine.messages import SentMessage, send_message
from engine.store import DefinitionVersion

from .. import events
from ..case_models import Case
from ..case_service import engine_action
from ..errors import Conflict
from ..jobs import service as jobs
from ..jobs.handlers import Context, Retry, register
from ..jobs.models import Job
from ..subscriptions import service as subscriptions
from ..timers import SYSTEM
from . import service
from .service import KIND, ThrownUndone
from .starts import open_for_sender

OPEN_OR_HELD = ("open", "on_hold")
SHOWN = 20  # cases named in an error at most


class MessageUndelivered(ThrownUndone):
    """A thrown message found no receiver, or more than one: the sender's element is named."""


def deliver(session: Session, job: Job, ctx: Context) -> None:
    """Job handler: hand the message to its one receiver, or open the case it starts."""
    data = jobs.payload_of(job)
    name, correlation = data["name"], data.get("correlation") or {}
    receivers = waiting_cases(session, name, correlation, sender=data["sender_case_id"])
    if len(receivers) > 1:
        shown = ", ".join(map(str, receivers[:SHOWN]))
        raise MessageUndelivered(
            f"{len(receivers)} cases wait for message '{name}'{_with(correlation)} (cases "
            f"{shown}); a message goes to one case: the correlation must tell them apart",
            data.get("element_id"))
    if receivers:
        return _to_case(session, job, ctx, receivers[0], data)
    starters = [c for c in service.catchers(session, name) if c.starts]
    if len(starters) > 1:
        raise MessageUndelivered(
            f"No case waits for message '{name}'{_with(correlation)} and {len(starters)} processes "
            f"start on it ({', '.join(v.process_id for v in starters)}); a message opens one case",
            data.get("element_id"))
    if starters:
        return _open_case(session, job, ctx, session.get(DefinitionVersion,
                                                         starters[0].definition_id), data)
    _wait(session, job, ctx, data)


def waiting_cases(session: Session, name: str, correlation: dict, *, sender: int) -> list[int]:
    """Return the open or held cases, other than the sender, waiting for the message now."""
    fitting = sorted({case_id for case_id, expected in
                      subscriptions.cases_waiting(session, "message", name)
                      if case_id != sender and subscriptions.matches(expected, correlation)})
    if not fitting:
        return []
    return sorted(session.exec(select(Case.id).where(Case.id.in_(fitting),
                                                     Case.status.in_(OPEN_OR_HELD))).all())


def _to_case(session: Session, job: Job, ctx: Context, case_id: int, data: dict) -> None:
    """Deliver to a waiting case in its own transaction, the job's removal with it."""
    case = session.get(Case, case_id, populate_existing=True)
    try:
        with engine_action(session, actor=SYSTEM, now=ctx.now, case_id=case_id,
                           expected_version=case.row_version, statuses=OPEN_OR_HELD,
                           time_limit=ctx.time_limit, lane_teams=ctx.lane_teams,
                           incidents=False) as action:
            jobs.done(session, job, ctx.owner)
            caught = send_message(action.live, data["name"], data.get("payload"), now=ctx.now,
                                  correlation=data.get("correlation") or None)
            events.record(session, action.case, "message_sent", actor=SYSTEM.username,
                          at=ctx.now, details={"name": data["name"], "payload": data.get("payload"),
                                               "caught": caught,
                                               "correlation": data.get("correlation") or {},
                                               "from_case_id": data["sender_case_id"]})
    except Conflict as err:  # the receiver is being changed right now: not a failure
        raise Retry(str(err)) from None
    except ScriptFailed as err:  # the receiver's model: the sender's message is what waits
        raise MessageUndelivered(f"Case {case_id} failed at {err.element_id or 'a step'} while "
                                 f"taking message '{data['name']}': {err}",
                                 data.get("element_id")) from err


def _open_case(session: Session, job: Job, ctx: Context, version: DefinitionVersion,
               data: dict) -> None:
    """Open the case the message starts, link the sender to it and finish the job: one commit."""
    sender = session.get(Case, data["sender_case_id"], populate_existing=True)
    held = jobs.held(session, job.id, ctx.owner)
    if held is None:
        raise jobs.LeaseLost(f"job {job.id} was taken over by another worker")
    jobs.done(session, held, ctx.owner)
    open_for_sender(session, ctx, sender=sender, version=version, data=data, what="message",
                    error=MessageUndelivered, message=SentMessage(
                        data["name"], data.get("payload"), data.get("correlation") or {}))
    session.commit()


def _wait(session: Session, job: Job, ctx: Context, data: dict) -> None:
    """Nothing takes the message yet: come back later, or fail once its time to live is over."""
    expires = datetime.fromisoformat(data["expires_at"])
    if ctx.now >= expires:
        raise MessageUndelivered(
            f"No open case waits for message '{data['name']}'{_with(data.get('correlation'))} "
            f"and no active process starts on it; it waited since {data['thrown_at']}",
            data.get("element_id"))
    waited = int(data.get("waited", 0)) + 1
    jobs.reschedule(session, job, ctx.owner, due_at=min(ctx.now + jobs.backoff(waited), expires),
                    now=ctx.now, payload={**data, "waited": waited})
    session.commit()


def _with(correlation: dict | None) -> str:
    return f" with {events.canonical_json(correlation)}" if correlation else ""


register(KIND, deliver)
