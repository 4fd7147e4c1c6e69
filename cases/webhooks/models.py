"""The `webhook_subscription` and `webhook_delivery` tables."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

DELIVERY_STATES = ("pending", "delivered", "failed")


class WebhookSubscription(SQLModel, table=True):
    """A URL that gets the case events of `events` (JSON list, ["*"] for all) of the processes
    in `processes` (JSON list, [] for all). `secret` signs every delivery: the server must hold it
    to sign, so it is stored as is and shown only when the subscription is made."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    events: str = Field(default='["*"]', sa_type=sa.Text)
    processes: str = Field(default="[]", sa_type=sa.Text)
    secret: str = Field(max_length=128)
    active: bool = Field(default=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = utc_column()


class WebhookDelivery(SQLModel, table=True):
    """One outbox event for one subscription. A case's deliveries to a subscription go out in
    outbox order: only the earliest pending one of that (subscription, case) has a job."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "outbox_id", name="uq_webhook_delivery_event"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')",
                           name="ck_webhook_delivery_status"),
        sa.Index("ix_webhook_delivery_stream", "subscription_id", "case_id", "status",
                 "outbox_id"),
        sa.Index("ix_webhook_delivery_status", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id")
    outbox_id: int = Field(foreign_key="outbox_event.id")
    case_id: int = Field(foreign_key="case_record.id")
    event_type: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    delivered_at: datetime | None = utc_column(default=None, nullable=True)
    last_status_code: int | None = None
    last_response: str | None = Field(default=None, sa_type=sa.Text)  # first 500 characters
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_duration_ms: int | None = None
    log: str = Field(default="[]", sa_type=sa.Text)  # JSON list of the last attempts
