"""Add, list and remove webhook subscriptions; list and replay deliveries. Admin work: the
callers (admin pages, the admin API, the CLI) check the role. Each service commits once."""
from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlmodel import Session, select

from ..errors import Conflict, InvalidInput, NotFound
from ..jobs import service as jobs
from ..jobs.models import Job
from ..outbox.models import PUBLISHED
from . import urls
from .dispatch import KIND, job_key
from .models import WebhookDelivery, WebhookSubscription

SECRET_PREFIX = "whsec_"
PROCESS_ID = re.compile(r"^[A-Za-z_][\w.-]{0,254}$")


def _names(values: Iterable[str] | str) -> list[str]:
    if isinstance(values, str):
        values = values.split(",")
    return sorted({v.strip() for v in values if v and v.strip()})


def clean_events(values: Iterable[str] | str) -> list[str]:
    """The event types asked for, or InvalidInput naming `events`; ["*"] means every type."""
    names = _names(values)
    if not names:
        raise InvalidInput({"events": "Name at least one event type, or * for all"})
    if "*" in names:
        return ["*"]
    unknown = [n for n in names if n not in PUBLISHED]
    if unknown:
        raise InvalidInput({"events": f"Not a published event type: {', '.join(unknown)}"})
    return names


def clean_processes(values: Iterable[str] | str) -> list[str]:
    """The process ids to filter on ([] for all), or InvalidInput naming `processes`."""
    names = _names(values)
    bad = [n for n in names if not PROCESS_ID.match(n)]
    if bad:
        raise InvalidInput({"processes": f"Not a process id: {', '.join(bad)}"})
    return names


def add_subscription(session: Session, *, actor: str, now: datetime, url: str,
                     events: Iterable[str] | str, processes: Iterable[str] | str = ()
                     ) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL to event types; return the subscription and its secret (shown once)."""
    errors: dict[str, str] = {}
    checked = {}
    for field, check in (("url", lambda: urls.check(url) and url.strip()),
                         ("events", lambda: clean_events(events)),
                         ("processes", lambda: clean_processes(processes))):
        try:
            checked[field] = check()
        except InvalidInput as err:
            errors.update(err.errors)
    if errors:
        raise InvalidInput(errors, {"url": url})
    secret = SECRET_PREFIX + secrets.token_hex(24)
    sub = WebhookSubscription(url=checked["url"], events=json.dumps(checked["events"]),
                              processes=json.dumps(checked["processes"]), secret=secret,
                              created_by=actor, created_at=now)
    session.add(sub)
    session.commit()
    return sub, secret


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    """Every subscription, oldest first."""
    return list(session.exec(select(WebhookSubscription).order_by(WebhookSubscription.id)
                             .execution_options(populate_existing=True)).all())


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    """Return a subscription or raise NotFound."""
    sub = session.get(WebhookSubscription, subscription_id, populate_existing=True)
    if sub is None:
        raise NotFound(f"No webhook subscription {subscription_id}")
    return sub


def remove_subscription(session: Session, *, actor: str, now: datetime,
                        subscription_id: int) -> None:
    """Delete a subscription with its deliveries and their jobs; commit."""
    sub = get_subscription(session, subscription_id)
    ids = select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == sub.id)
    keys = [job_key(i) for i in session.exec(ids).all()]
    for start in range(0, len(keys), 500):
        session.execute(sa.delete(Job).where(Job.key.in_(keys[start:start + 500]))
                        .execution_options(synchronize_session=False))
    session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
                    .execution_options(synchronize_session=False))
    session.delete(sub)
    session.commit()


def set_active(session: Session, *, actor: str, now: datetime, subscription_id: int,
               active: bool) -> WebhookSubscription:
    """Pause or resume a subscription (paused: no new deliveries, pending ones fail); commit."""
    sub = get_subscription(session, subscription_id)
    sub.active = active
    session.add(sub)
    session.commit()
    return sub


def list_deliveries(session: Session, *, failed_only: bool = False,
                    subscription_id: int | None = None, limit: int = 100) -> list[WebhookDelivery]:
    """The latest deliveries (or only the failed ones), newest first."""
    query = (select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
             .execution_options(populate_existing=True))
    if failed_only:
        query = query.where(WebhookDelivery.status == "failed")
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    return list(session.exec(query).all())


def get_delivery(session: Session, delivery_id: int) -> WebhookDelivery:
    """Return a delivery or raise NotFound."""
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None:
        raise NotFound(f"No webhook delivery {delivery_id}")
    return delivery


def replay(session: Session, *, actor: str, now: datetime, delivery_id: int) -> WebhookDelivery:
    """Send a delivered or failed delivery again now, with the same event id; commit."""
    delivery = get_delivery(session, delivery_id)
    if delivery.status == "pending":
        raise Conflict(f"Delivery {delivery_id} is still pending; the executor sends it")
    delivery.status, delivery.updated_at = "pending", now
    session.add(delivery)
    jobs.ensure(session, kind=KIND, key=job_key(delivery.id), due_at=now, now=now,
                payload={"delivery_id": delivery.id},
                max_attempts=urls.WebhookSettings().max_attempts)
    session.commit()
    return delivery
