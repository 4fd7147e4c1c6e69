"""The JSON API of webhooks, for admins: subscribe URLs to case events, read the delivery log,
replay a delivery. Same authentication and refusal shape as web/api.py."""
from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from cases.webhooks import service as hooks
from cases.webhooks.models import WebhookDelivery, WebhookSubscription
from engine.clock import utcnow

from .api import REFUSALS, Caller, _iso, _run
from .inputs import PathId, QueryId, Text
from .security import SessionDep

router = APIRouter()
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class NewWebhook(BaseModel):
    model_config = _STRICT
    url: Text(2000, 1)
    events: list[Text(64, 1)] = Field(min_length=1, max_length=64)
    processes: list[Text(255, 1)] = Field(default=[], max_length=64)


def _admin(user) -> None:
    if user.role != "admin":
        raise HTTPException(status_code=403, detail={
            "message": "Only an admin may manage webhooks", "errors": {}, "submitted": {}})


def subscription_json(sub: WebhookSubscription) -> dict:
    """A subscription as the API shows it (never its secret)."""
    return {"id": sub.id, "url": sub.url, "events": json.loads(sub.events),
            "processes": json.loads(sub.processes), "active": sub.active,
            "created_by": sub.created_by, "created_at": _iso(sub.created_at)}


def delivery_json(d: WebhookDelivery) -> dict:
    """A delivery with its log."""
    return {"id": d.id, "subscription_id": d.subscription_id, "case_id": d.case_id,
            "event_type": d.event_type, "status": d.status, "attempts": d.attempts,
            "created_at": _iso(d.created_at), "delivered_at": _iso(d.delivered_at),
            "last_status_code": d.last_status_code, "last_response": d.last_response,
            "last_error": d.last_error, "last_duration_ms": d.last_duration_ms,
            "log": json.loads(d.log)}


@router.get("/webhooks", responses=REFUSALS)
def api_webhooks(user: Caller, session: SessionDep) -> dict:
    """Every webhook subscription (never its secret)."""
    _admin(user)
    rows = hooks.list_subscriptions(session)
    return {"data": [subscription_json(s) for s in rows], "count": len(rows)}


@router.post("/webhooks", status_code=201, responses=REFUSALS)
def api_webhook_add(body: NewWebhook, user: Caller, session: SessionDep) -> dict:
    """Subscribe a URL to case event types (["*"] for all); the answer holds the signing secret,
    shown this once."""
    _admin(user)
    sub, secret = _run(hooks.add_subscription, session, actor=user.username, now=utcnow(),
                       url=body.url, events=body.events, processes=body.processes)
    return {**subscription_json(sub), "secret": secret}


@router.delete("/webhooks/{webhook_id}", responses=REFUSALS)
def api_webhook_remove(webhook_id: PathId, user: Caller, session: SessionDep) -> dict:
    """Delete a subscription and its delivery log."""
    _admin(user)
    _run(hooks.remove_subscription, session, actor=user.username, now=utcnow(),
         subscription_id=webhook_id)
    return {"id": webhook_id, "removed": True}


@router.get("/webhook-deliveries", responses=REFUSALS)
def api_webhook_deliveries(user: Caller, session: SessionDep, failed: bool = False,
                           subscription_id: QueryId = None,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict:
    """The latest deliveries, newest first (only failed ones with failed=true)."""
    _admin(user)
    rows = hooks.list_deliveries(session, failed_only=failed, subscription_id=subscription_id,
                                 limit=limit)
    return {"data": [delivery_json(d) for d in rows], "count": len(rows)}


@router.post("/webhook-deliveries/{delivery_id}/replay", responses=REFUSALS)
def api_webhook_replay(delivery_id: PathId, user: Caller, session: SessionDep) -> dict:
    """Send a delivered or failed delivery again (same event id) with the next job round."""
    _admin(user)
    return delivery_json(_run(hooks.replay, session, actor=user.username, now=utcnow(),
                              delivery_id=delivery_id))
