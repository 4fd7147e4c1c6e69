"""The two job kinds of webhooks.

`webhook_dispatch` (periodic, one per database) fans new outbox events out into one delivery per
matching subscription and marks them dispatched, in one transaction: each event is fanned out
exactly once. `webhook` delivers one delivery: a signed POST, then, in the job's transaction,
the attempt's log and either success or the executor's attempt counting and backoff.

Order: a case's deliveries to one subscription form a stream; only its earliest pending delivery
has a job, and finishing it (delivered, or failed for good) gives the next one its job (each
dispatch round also gives one to a head that missed it in a race). Within a stream, delivery ids
follow outbox order: the dispatcher creates them in that order, one round at a time.
Deliveries carry no case on their job: a receiver that is down is the integrator's problem, not
an incident on the customer's case; failed deliveries are listed for an admin to replay.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from ..events import canonical_json
from ..jobs import service as jobs
from ..jobs.handlers import Context, register
from ..jobs.models import Job
from ..outbox.models import OutboxEvent
from . import http
from .models import WebhookDelivery, WebhookSubscription
from .urls import WebhookSettings

DISPATCH_KIND = "webhook_dispatch"
KIND = "webhook"
BATCH = 500
LOG_KEEP = 20  # attempts kept in a delivery's log


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Caseflow-Signature` header: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def body_of(event: OutboxEvent) -> bytes:
    """The JSON body integrators get: {id, type, case_id, process_id, at, data}."""
    at = event.at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return canonical_json({"id": event.event_id, "type": event.type, "case_id": event.case_id,
                           "process_id": event.process_id, "at": at,
                           "data": json.loads(event.data)}).encode("utf-8")


def _matches(sub: WebhookSubscription, event: OutboxEvent) -> bool:
    types, processes = json.loads(sub.events), json.loads(sub.processes)
    wanted_type = "*" in types or event.type in types
    return wanted_type and (not processes or event.process_id in processes)


def job_key(delivery_id: int) -> str:
    return f"{KIND}:{delivery_id}"


def ensure_head_job(session: Session, subscription_id: int, case_id: int, *, now: datetime,
                    max_attempts: int) -> None:
    """Give the earliest pending delivery of a (subscription, case) stream its job (session.add)."""
    head = session.exec(select(WebhookDelivery.id).where(
        WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.case_id == case_id,
        WebhookDelivery.status == "pending").order_by(WebhookDelivery.outbox_id).limit(1)).first()
    if head is not None:
        jobs.ensure(session, kind=KIND, key=job_key(head), due_at=now, now=now,
                    payload={"delivery_id": head}, max_attempts=max_attempts)


def fan_out(session: Session, *, now: datetime, max_attempts: int, limit: int = BATCH) -> int:
    """Turn undispatched outbox events into deliveries (session.add only); return their count."""
    events = session.exec(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
                          .order_by(OutboxEvent.id).limit(limit)).all()
    if not events:
        return 0
    subs = session.exec(select(WebhookSubscription).where(
        WebhookSubscription.active.is_(True))).all()
    streams: set[tuple[int, int]] = set()
    for event in events:
        for sub in subs:
            if _matches(sub, event):
                session.add(WebhookDelivery(subscription_id=sub.id, outbox_id=event.id,
                                            case_id=event.case_id, event_type=event.type,
                                            created_at=now, updated_at=now))
                streams.add((sub.id, event.case_id))
    session.execute(sa.update(OutboxEvent).where(OutboxEvent.id.in_([e.id for e in events]))
                    .values(dispatched_at=now).execution_options(synchronize_session=False))
    session.flush()
    for sub_id, case_id in sorted(streams):
        ensure_head_job(session, sub_id, case_id, now=now, max_attempts=max_attempts)
    return len(events)


def repair_heads(session: Session, *, now: datetime, max_attempts: int,
                 limit: int = BATCH) -> int:
    """Give a job to every stream head left without one; return how many (session.add only).

    A delivery finishing while the dispatcher adds the next one of its stream may each miss the
    other's uncommitted row; the next dispatch round picks the stream up here."""
    heads = session.exec(select(sa.func.min(WebhookDelivery.id)).where(
        WebhookDelivery.status == "pending").group_by(
        WebhookDelivery.subscription_id, WebhookDelivery.case_id).limit(limit)).all()
    if not heads:
        return 0
    keys = {job_key(h): h for h in heads}
    have = set(session.exec(select(Job.key).where(Job.key.in_(list(keys)))).all())
    for key in keys.keys() - have:
        jobs.ensure(session, kind=KIND, key=key, due_at=now, now=now,
                    payload={"delivery_id": keys[key]}, max_attempts=max_attempts)
    return len(keys.keys() - have)


def dispatch(session: Session, job: Job, ctx: Context) -> None:
    """Fan out the outbox, then come back in a moment (the periodic `webhook_dispatch` job)."""
    settings = WebhookSettings()
    fan_out(session, now=ctx.now, max_attempts=settings.max_attempts)
    repair_heads(session, now=ctx.now, max_attempts=settings.max_attempts)
    jobs.reschedule(session, job, ctx.owner, now=ctx.now,
                    due_at=ctx.now + timedelta(seconds=settings.dispatch_every))
    session.commit()


def deliver(session: Session, job: Job, ctx: Context) -> None:
    """POST one delivery, signed; record the attempt and succeed, back off or fail for good."""
    delivery = session.get(WebhookDelivery, jobs.payload_of(job).get("delivery_id"),
                           populate_existing=True)
    if delivery is None or delivery.status != "pending":
        jobs.done(session, job, ctx.owner)  # removed, or replayed and finished meanwhile
        session.commit()
        return
    sub = session.get(WebhookSubscription, delivery.subscription_id)
    settings = WebhookSettings()
    if not sub.active:
        outcome = http.Outcome(None, None, "the subscription is paused", 0)
    else:
        body = body_of(session.get(OutboxEvent, delivery.outbox_id))
        event_id = json.loads(body)["id"]
        headers = {"Content-Type": "application/json", "User-Agent": "Caseflow-Webhooks/1",
                   "Caseflow-Event-Id": event_id, "Caseflow-Event-Type": delivery.event_type,
                   "Caseflow-Signature": sign(sub.secret, int(ctx.now.timestamp()), body)}
        session.commit()  # hold no transaction open while waiting for the receiver
        outcome = http.post(sub.url, body, headers, timeout=settings.timeout)
    if jobs.held(session, job.id, ctx.owner) is None:
        raise jobs.LeaseLost(f"job {job.id} was taken over by another worker")
    _record(session, delivery.id, job, outcome, ctx, final=not sub.active)
    session.commit()


def _record(session: Session, delivery_id: int, job: Job, outcome: http.Outcome, ctx: Context,
            *, final: bool) -> None:
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    log = json.loads(delivery.log)[-(LOG_KEEP - 1):]
    log.append({"at": ctx.now.isoformat(timespec="seconds"), "status_code": outcome.status_code,
                "duration_ms": outcome.duration_ms, "error": outcome.error})
    delivery.log, delivery.updated_at = json.dumps(log), ctx.now
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_response = outcome.status_code, outcome.response
    delivery.last_error, delivery.last_duration_ms = outcome.error, outcome.duration_ms
    if outcome.ok:
        delivery.status, delivery.delivered_at = "delivered", ctx.now
        jobs.done(session, job, ctx.owner)
        if job in session:
            session.expunge(job)  # deleted by SQL; SQLite may hand its id to the next job
    else:
        stored = jobs.fail(session, job.id, ctx.owner, error=outcome.error or "failed", now=ctx.now)
        if final or stored.state == "failed":
            delivery.status = "failed"
            session.delete(stored)  # the delivery row is the record; no incident on the case
    session.add(delivery)
    session.flush()
    if delivery.status != "pending":
        ensure_head_job(session, delivery.subscription_id, delivery.case_id, now=ctx.now,
                        max_attempts=job.max_attempts)


register(DISPATCH_KIND, dispatch)
register(KIND, deliver)
