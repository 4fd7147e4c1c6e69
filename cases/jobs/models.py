"""The `job` table: one row per piece of due work."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

JOB_STATES = ("pending", "failed")  # a finished job is deleted or rescheduled, never kept as done


class Job(SQLModel, table=True):
    """Due work: `key` names the one thing it is about, so scheduling it again moves the same row.

    A worker owns a job while `lease_owner` is set and `lease_expires_at` lies ahead; a worker that
    died loses its lease when it expires and another worker takes the job. `attempts` counts
    failures since the job last succeeded; at `max_attempts` the job is `failed` and, when it belongs
    to a case, an incident is opened on the case (cases/incidents).
    """

    __tablename__ = "job"
    __table_args__ = (
        sa.UniqueConstraint("key", name="uq_job_key"),
        sa.CheckConstraint("state IN ('pending', 'failed')", name="ck_job_state"),
        sa.Index("ix_job_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=255)
    case_id: int | None = Field(default=None, foreign_key="case_record.id", index=True)
    due_at: datetime = utc_column()
    state: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=3)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = utc_column(default=None, nullable=True)
    payload: str = Field(default="{}", sa_type=sa.Text)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
