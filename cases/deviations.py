"""The deviation log: every time an agent leaves the happy path, with its reason."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

from .case_models import _in
from .reason_codes import DEVIATION_KINDS


class Deviation(SQLModel, table=True):
    """One deviation; the database itself refuses a row without a reason code and a note."""

    __tablename__ = "deviation"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", DEVIATION_KINDS), name="ck_deviation_kind"),
        sa.CheckConstraint("length(trim(reason_code)) > 0 AND length(trim(note)) > 0",
                           name="ck_deviation_reason"),
        sa.Index("ix_deviation_definition_kind_element", "definition_id", "kind", "element_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    kind: str = Field(max_length=32)
    element_id: str | None = Field(default=None, max_length=255)
    reason_code: str = Field(max_length=64, index=True)
    note: str = Field(sa_type=sa.Text)
    actor: str = Field(max_length=64)
    approver: str | None = Field(default=None, max_length=64)
    definition_id: int = Field(foreign_key="definition_version.id")
    at: datetime = utc_column()
    details: str = Field(default="{}", sa_type=sa.Text)
