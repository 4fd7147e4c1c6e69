"""The `business_calendar` and `team_calendar` tables."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store import utc_column


class BusinessCalendar(SQLModel, table=True):
    """Working hours per weekday (`hours`, see clock.parse_hours) in a time zone, closed on the
    public holidays of `country` (and `subdivision`) from the `holidays` package. The one marked
    `is_default` applies to every team without a calendar of its own."""

    __tablename__ = "business_calendar"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    timezone: str = Field(max_length=64)
    country: str | None = Field(default=None, max_length=8)
    subdivision: str | None = Field(default=None, max_length=16)
    hours: str = Field(max_length=200)
    is_default: bool = Field(default=False)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = utc_column()


class TeamCalendar(SQLModel, table=True):
    """Which calendar a team's steps are timed on."""

    __tablename__ = "team_calendar"

    team: str = Field(max_length=255, primary_key=True)
    calendar_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("business_calendar.id", ondelete="CASCADE"), nullable=False))
