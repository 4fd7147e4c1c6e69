"""Sign-in throttling per account and per client address, kept in the database.

Every failed sign-in is a row, so every app process sees the same count. An account (or an
address) with `max` failures inside the window is locked until the oldest of them leaves the
window; attempts while locked are refused without checking the password and are not counted,
so a locked-out person can sign in as soon as the window has passed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from engine.store import utc_column


class SigninFailure(SQLModel, table=True):
    """One failed sign-in: the username tried (known or not) and the client address."""

    __tablename__ = "signin_failure"
    __table_args__ = (sa.Index("ix_signin_failure_username_at", "username", "failed_at"),
                      sa.Index("ix_signin_failure_address_at", "address", "failed_at"))

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    failed_at: datetime = utc_column()


@dataclass(frozen=True)
class Limits:
    """How many failures within `window` lock an account, and an address."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Lock:
    """Sign-in is refused for this account or address until `until`."""

    scope: str  # "account" or "address"
    until: datetime

    def message(self, now: datetime) -> str:
        """Say what is locked and for how many minutes, in plain words."""
        minutes = max(1, math.ceil((self.until - now).total_seconds() / 60))
        where = "this account" if self.scope == "account" else "this network address"
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many failed sign-ins for {where}; try again in {minutes} {unit}."


def _until(session: Session, column, value: str, limit: int, *, now: datetime,
           window: timedelta) -> datetime | None:
    since = now - window
    recent = session.exec(select(SigninFailure.failed_at)
                          .where(column == value, SigninFailure.failed_at > since)
                          .order_by(SigninFailure.failed_at.desc()).limit(limit)).all()
    return recent[-1] + window if len(recent) >= limit else None


def signin_lock(session: Session, *, username: str, address: str, now: datetime,
                limits: Limits) -> Lock | None:
    """Return the lock on this account or address, if there is one."""
    until = _until(session, SigninFailure.username, username, limits.per_account, now=now,
                   window=limits.window)
    if until:
        return Lock("account", until)
    until = _until(session, SigninFailure.address, address, limits.per_address, now=now,
                   window=limits.window)
    return Lock("address", until) if until else None


def record_failure(session: Session, *, username: str, address: str, now: datetime,
                   limits: Limits) -> None:
    """Count a failed sign-in and forget failures that left the window (not committed)."""
    session.add(SigninFailure(username=username[:64], address=address[:64], failed_at=now))
    session.execute(sa.delete(SigninFailure).where(SigninFailure.failed_at <= now - limits.window))


def clear_account_failures(session: Session, *, username: str) -> None:
    """Forget an account's failures after it signed in (not committed); the address's stay."""
    session.execute(sa.delete(SigninFailure).where(SigninFailure.username == username))
