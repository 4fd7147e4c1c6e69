"""The `subscription` table."""
from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Subscription(SQLModel, table=True):
    """A catch event a case waits at right now: a message (with the correlation values it
    expects, as canonical JSON) or a signal. Rewritten in the same transaction as the workflow."""

    __tablename__ = "subscription"
    __table_args__ = (sa.Index("ix_subscription_kind_name", "kind", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    kind: str = Field(max_length=16)  # "message" or "signal"
    name: str = Field(max_length=255)
    element_id: str | None = Field(default=None, max_length=255)
    correlation: str = Field(default="{}", sa_type=sa.Text)
