"""Tables of case search: one text document per case, and per-user saved worklist filters.

`case_search.body` is what full-text search reads. PostgreSQL indexes `to_tsvector('english',
body)` with a GIN index; SQLite keeps the FTS5 table `case_search_fts` (external content over
this table) in step with triggers. Both live in the migration (0013_findwork), not here.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column

MAX_FILTER_NAME = 80
MAX_FILTER_QUERY = 1000


class CaseSearch(SQLModel, table=True):
    """The text a case is found by: number, customer, process, notes and case data."""

    __tablename__ = "case_search"

    case_id: int = Field(foreign_key="case_record.id", primary_key=True,
                         sa_column_kwargs={"autoincrement": False})
    body: str = Field(sa_type=sa.Text)
    updated_at: datetime = utc_column()
    # Characters of `body` before the workflow data values (None: not known, rebuild it whole).
    data_from: int | None = Field(default=None)


class SavedFilter(SQLModel, table=True):
    """A worklist filter a person saved under a name: the worklist's query string."""

    __tablename__ = "saved_filter"
    __table_args__ = (sa.UniqueConstraint("user_id", "name", name="uq_saved_filter_user_name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=MAX_FILTER_NAME)
    query: str = Field(max_length=MAX_FILTER_QUERY)
    created_at: datetime = utc_column()
