"""The `incident` table."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

INCIDENT_STATES = ("open", "resolved")
RESOLUTIONS = ("retried", "resolved")


class Incident(SQLModel, table=True):
    """A failure at one element of one case: what failed, in words, when, how often.

    `job_id` is the job that failed (a timer, a signal delivery...) and is retried with it; an
    incident without a job came from a person's action, which the person repeats once it is fixed.
    """

    __tablename__ = "incident"
    __table_args__ = (
        sa.CheckConstraint("state IN ('open', 'resolved')", name="ck_incident_state"),
        sa.Index("ix_incident_state_process", "state", "process_id", "element_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    definition_id: int = Field(foreign_key="definition_version.id")
    process_id: str = Field(max_length=255)
    element_id: str | None = Field(default=None, max_length=255)
    source: str = Field(max_length=32)  # the job kind ("timer", "signal", ...) or "action"
    job_id: int | None = Field(default=None)
    error: str = Field(sa_type=sa.Text)
    attempts: int = Field(default=1)
    state: str = Field(default="open", max_length=16)
    opened_at: datetime = utc_column()
    last_failed_at: datetime = utc_column()
    resolved_at: datetime | None = utc_column(default=None, nullable=True)
    resolved_by: str | None = Field(default=None, max_length=64)
    resolution: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, sa_type=sa.Text)
