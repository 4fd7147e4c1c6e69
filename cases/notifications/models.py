"""The `notification` and `notification_preference` tables."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

EMAIL_STATES = ("none", "pending", "sent", "skipped", "failed")


class Notification(SQLModel, table=True):
    """One thing one person should know. `key` names the cause (the case event), so the same
    cause can never notify the same person twice: (user_id, key) is unique.

    `details` holds facts (JSON); the words come from kinds.py. `email_state` follows the e-mail
    copy: none (not wanted), pending (a job will send it), sent, skipped (no SMTP server was
    configured), failed (the server refused it for good)."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        sa.CheckConstraint("email_state IN ('none', 'pending', 'sent', 'skipped', 'failed')",
                           name="ck_notification_email_state"),
        sa.Index("ix_notification_user_unread", "user_id", "read_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    kind: str = Field(max_length=32)
    key: str = Field(max_length=128)
    case_id: int | None = Field(default=None, foreign_key="case_record.id")
    actor: str = Field(max_length=64)
    details: str = Field(default="{}", sa_type=sa.Text)
    created_at: datetime = utc_column()
    read_at: datetime | None = utc_column(default=None, nullable=True)
    email_state: str = Field(default="none", max_length=16)
    emailed_at: datetime | None = utc_column(default=None, nullable=True)


class NotificationPreference(SQLModel, table=True):
    """Where and which notifications a person wants by e-mail (in the app they always get all).
    No row: no e-mail."""

    __tablename__ = "notification_preference"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    email: str = Field(default="", max_length=254)
    email_kinds: str = Field(default="[]", sa_type=sa.Text)  # JSON list of kinds
    updated_at: datetime = utc_column()
