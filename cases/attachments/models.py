"""The `case_attachment` table: one row per file attached to a case."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

MAX_DESCRIPTION = 500
MAX_FILENAME = 255
MAX_REASON = 500


class CaseAttachment(SQLModel, table=True):
    """A file on a case. `storage_key` names the file in the attachment directory (random, so a
    user's file name never reaches the file system); `filename` is only what the person called it.

    A deleted attachment keeps its row (who added it, who removed it, when and why) and loses its
    bytes."""

    __tablename__ = "case_attachment"
    __table_args__ = (sa.UniqueConstraint("storage_key", name="uq_case_attachment_storage_key"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    storage_key: str = Field(max_length=64)
    filename: str = Field(max_length=MAX_FILENAME)
    content_type: str = Field(max_length=128)
    size: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = utc_column()
    deleted_by: str | None = Field(default=None, max_length=64)
    deleted_at: datetime | None = utc_column(default=None, nullable=True)
    delete_reason: str | None = Field(default=None, max_length=MAX_REASON)
