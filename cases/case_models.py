"""Tables of the case domain: a case bound to one workflow instance, and its work items."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

CHANNELS = ("phone", "web", "store", "email", "social")
CASE_STATUSES = ("open", "on_hold", "resolved", "cancelled")
WORK_ITEM_STATES = ("open", "done", "cancelled")
SLA_STATES = ("on_time", "at_risk", "breached")  # set once each by the SLA sweep (cases/sla_sweep.py)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Case(SQLModel, table=True):
    """One customer's matter, bound to one workflow instance of one definition version.

    `row_version` guards user actions against lost updates; `event_seq`/`event_hash` anchor the
    end of the case's audit chain so that a deleted or appended last event is detected too.
    """

    __tablename__ = "case_record"  # "case" is an SQL keyword
    __table_args__ = (
        sa.UniqueConstraint("instance_id", name="uq_case_record_instance"),
        sa.CheckConstraint(_in("channel", CHANNELS), name="ck_case_record_channel"),
        sa.CheckConstraint(_in("status", CASE_STATUSES), name="ck_case_record_status"),
        sa.CheckConstraint(_in("sla_state", SLA_STATES), name="ck_case_record_sla_state"),
        sa.Index("ix_case_record_status_promised", "status", "sla_state", "promised_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    definition_id: int = Field(foreign_key="definition_version.id", index=True)
    instance_id: int = Field(foreign_key="workflow_instance.id")
    process_id: str = Field(max_length=255, index=True)
    channel: str = Field(max_length=16)
    priority: int = Field(default=0)
    status: str = Field(default="open", max_length=16, index=True)
    contacted_at: datetime = utc_column()
    opened_at: datetime = utc_column()
    promised_at: datetime | None = utc_column(default=None, nullable=True)
    closed_at: datetime | None = utc_column(default=None, nullable=True)
    held_at: datetime | None = utc_column(default=None, nullable=True)
    hold_category: str | None = Field(default=None, max_length=32)  # reason category of the hold
    sla_state: str = Field(default="on_time", max_length=16)  # of the promise to the customer
    opened_by: str = Field(max_length=64)
    row_version: int = Field(default=1)
    event_seq: int = Field(default=0)
    event_hash: str | None = Field(default=None, max_length=64)


class WorkItem(SQLModel, table=True):
    """A ready human step as a queryable row: projection of the workflow state.

    Kind "escalation" rows are not steps of the process: the SLA sweep opens them for the
    supervisors when a target is breached, and the projection leaves them alone.

    `definition_id` is the process version the step belongs to (the case's version when the item
    was opened; open items move with a case migrated to another version), and `minutes_spent` the
    time from opening to done, to the nearest minute, written when the step is done. Both are
    there for the insights (cases/insights.py): with the two indexes below, a version's per-step
    figures are read from the indexes alone, without joining the cases or parsing timestamps.
    """

    __tablename__ = "work_item"
    __table_args__ = (
        sa.CheckConstraint(_in("state", WORK_ITEM_STATES), name="ck_work_item_state"),
        sa.CheckConstraint(_in("sla_state", SLA_STATES), name="ck_work_item_sla_state"),
        sa.Index("ix_work_item_state_team_due", "state", "team", "due_at"),
        # mine (assignee) and unassigned in my teams (assignee NULL, team IN ...) both seek here
        sa.Index("ix_work_item_state_assignee_team_due", "state", "assignee_id", "team", "due_at"),
        sa.Index("ix_work_item_state_due", "state", "due_at"),
        sa.Index("ix_work_item_version_element", "definition_id", "element_id", "case_id", "kind",
                 "state", "due_at", "completed_at", "team"),
        sa.Index("ix_work_item_version_done_minutes", "definition_id", "state", "element_id",
                 "minutes_spent", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    definition_id: int = Field(foreign_key="definition_version.id")
    task_id: str = Field(max_length=64)
    element_id: str = Field(max_length=255)
    name: str = Field(max_length=255)
    kind: str = Field(max_length=16)
    team: str | None = Field(default=None, max_length=255)
    assignee_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    state: str = Field(default="open", max_length=16)
    due_at: datetime | None = utc_column(default=None, nullable=True)
    sla_state: str = Field(default="on_time", max_length=16)
    created_at: datetime = utc_column()
    completed_at: datetime | None = utc_column(default=None, nullable=True)
    minutes_spent: int | None = Field(default=None)


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from start to end, halves rounded up (as SQL's round() does)."""
    return int((end - start).total_seconds() + 30) // 60
