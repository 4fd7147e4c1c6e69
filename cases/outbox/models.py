"""The `outbox_event` table and which case event types are published to integrators."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

# Case event types an integrator may subscribe to. Left out on purpose: notes (free text for
# colleagues), claiming/releasing/assigning steps (worklist chatter), scripts that ran, and
# engine bookkeeping (task_cancelled, wait_skipped, end_reached): they say nothing new outside.
# Attachments go out as facts about the file (id, name, type, size, sha256, who), never its
# bytes: a receiver that wants them asks GET /api/cases/{id}/attachments/{aid}/content.
PUBLISHED = frozenset({
    "case_opened", "case_resolved", "case_cancelled", "case_put_on_hold", "case_resumed",
    "task_opened", "task_completed", "task_data_corrected",
    # deviations (each carries reason_code, reason_category and the agent's note)
    "task_skipped", "process_rewound_to_task", "process_jumped_to_task", "decision_overridden",
    "adhoc_task_added", "work_item_reassigned", "deadline_extended",
    "deviation_requested", "deviation_approved", "deviation_rejected",
    "sla_at_risk", "sla_breached", "escalation_resolved", "task_due_recomputed",
    "incident_opened", "incident_retried", "incident_resolved",
    "message_received", "message_sent", "message_thrown", "signal_received", "signal_sent",
    "signal_thrown",
    "timer_fired",
    "process_migrated",
    "attachment_added", "attachment_deleted",
})


def new_event_id() -> str:
    """A fresh public event id (the receiver's idempotency key)."""
    return str(uuid.uuid4())


class OutboxEvent(SQLModel, table=True):
    """One published case event; `id` orders them, `dispatched_at` is set once fanned out."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        sa.UniqueConstraint("event_id", name="uq_outbox_event_event_id"),
        sa.Index("ix_outbox_event_undispatched", "dispatched_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Unique and known before the INSERT: one INSERT ... RETURNING per flush on SQLite too.
    event_id: str = Field(max_length=36, sa_column_kwargs={"insert_sentinel": True})
    # Not indexed: nothing looks events up by case here, and each index costs every action a write.
    case_id: int = Field(foreign_key="case_record.id")
    process_id: str = Field(max_length=255)
    type: str = Field(max_length=64)
    at: datetime = utc_column()
    data: str = Field(default="{}", sa_type=sa.Text)  # canonical JSON
    dispatched_at: datetime | None = utc_column(default=None, nullable=True)
