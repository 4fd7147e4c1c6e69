"""The `case_link` table: one row per pair of linked cases, read from both ends."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

from ..case_models import _in

# kind: what `case_id` is to `other_case_id`
LINK_KINDS = ("related", "parent", "duplicate", "repeat_contact")
CHOSEN_KINDS = ("related", "parent", "duplicate")  # a person links these; repeat_contact is found

# How a link reads from each end: (from case_id's page, from other_case_id's page).
LINK_WORDS = {
    "related": ("Related to", "Related to"),
    "parent": ("Parent of", "Child of"),
    "duplicate": ("Duplicate of", "Has a duplicate:"),
    "repeat_contact": ("Repeat contact about", "Customer came back in"),
}


class CaseLink(SQLModel, table=True):
    """A link between two cases with who made it, when and why (`created_by` "system" when
    found at opening)."""

    __tablename__ = "case_link"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "other_case_id", name="uq_case_link_pair"),
        sa.CheckConstraint(_in("kind", LINK_KINDS), name="ck_case_link_kind"),
        sa.CheckConstraint("case_id <> other_case_id", name="ck_case_link_not_self"),
        sa.Index("ix_case_link_other_kind", "other_case_id", "kind"),
        sa.Index("ix_case_link_kind_case", "kind", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id")
    other_case_id: int = Field(foreign_key="case_record.id")
    kind: str = Field(max_length=16)
    reason: str = Field(sa_type=sa.Text)
    created_by: str = Field(max_length=64)
    created_at: datetime = utc_column()
