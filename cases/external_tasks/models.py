"""The `external_task` table."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

STATES = ("open", "incident", "completed", "errored", "cancelled")


class ExternalTask(SQLModel, table=True):
    """A service task waiting for a worker of its topic: a projection of the workflow state.

    `open` tasks are fetchable when no unexpired lock holds them (`worker_id`, `lock_expires_at`)
    and their retry timeout (`retry_at`) has passed. `retries` is None until a worker first reports
    a failure (Camunda's semantics); at 0 the task is `incident` until a supervisor retries it.
    """

    __tablename__ = "external_task"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "task_id", name="uq_external_task_case_task"),
        sa.CheckConstraint(
            "state IN ('open', 'incident', 'completed', 'errored', 'cancelled')",
            name="ck_external_task_state"),
        sa.Index("ix_external_task_fetch", "state", "topic", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    definition_id: int = Field(foreign_key="definition_version.id")
    process_id: str = Field(max_length=255)
    task_id: str = Field(max_length=64)
    element_id: str = Field(max_length=255)
    name: str = Field(max_length=255)
    topic: str = Field(max_length=255)
    state: str = Field(default="open", max_length=16)
    worker_id: str | None = Field(default=None, max_length=255)
    lock_expires_at: datetime | None = utc_column(default=None, nullable=True)
    retries: int | None = Field(default=None)
    retry_at: datetime | None = utc_column(default=None, nullable=True)
    attempts: int = Field(default=0)  # failures reported so far
    error_message: str | None = Field(default=None, sa_type=sa.Text)
    error_details: str | None = Field(default=None, sa_type=sa.Text)
    incident_id: int | None = Field(default=None)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()

    def locked(self, now: datetime) -> bool:
        """Return whether a worker holds an unexpired lock on the task."""
        return self.lock_expires_at is not None and self.lock_expires_at > now
