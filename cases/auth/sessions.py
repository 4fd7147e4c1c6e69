"""Server-side sign-in sessions: the browser holds a random token, the server knows the session.

The cookie carries only the token; the row is keyed by its SHA-256, so a copy of the table does
not sign anyone in. Signing out revokes the row, and a copied cookie stops working at once. A
session ends after `idle` without a request or `max_age` after sign-in, whichever comes first.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from engine.store import utc_column

from ..users import User

# last_seen_at is written at most once a minute per session, not on every request.
SEEN_RESOLUTION = timedelta(minutes=1)


class UserSession(SQLModel, table=True):
    """One signed-in browser; `id` is the SHA-256 of the token in its cookie."""

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = utc_column()
    last_seen_at: datetime = utc_column()
    revoked_at: datetime | None = utc_column(default=None, nullable=True)
    address: str = Field(default="", max_length=64)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, *, user: User, address: str, now: datetime) -> str:
    """Record a new session for a user and return its token (not committed)."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(id=_digest(token), user_id=user.id, created_at=now, last_seen_at=now,
                            address=address[:64]))
    return token


def session_user(session: Session, token: str, *, now: datetime, idle: timedelta,
                 max_age: timedelta) -> User | None:
    """Return the active user of a live session, noting that it was seen; else None."""
    if not token:
        return None
    row = session.exec(select(UserSession, User).join(User, User.id == UserSession.user_id)
                       .where(UserSession.id == _digest(token),
                              UserSession.revoked_at.is_(None))).first()
    if row is None:
        return None
    record, user = row
    if not user.active or now - record.last_seen_at > idle or now - record.created_at > max_age:
        return None
    if now - record.last_seen_at >= SEEN_RESOLUTION:
        # Its own small commit before the route runs: nothing else is pending yet.
        session.execute(sa.update(UserSession).where(UserSession.id == record.id)
                        .values(last_seen_at=now))
        session.commit()
    return user


def end_session(session: Session, token: str, *, now: datetime) -> None:
    """Revoke the session of this token (sign-out). Commit once."""
    if token:
        session.execute(sa.update(UserSession).where(UserSession.id == _digest(token),
                                                     UserSession.revoked_at.is_(None))
                        .values(revoked_at=now))
    session.commit()


def revoke_user_sessions(session: Session, *, user_id: int, now: datetime) -> int:
    """Revoke every live session of a user (not committed); return how many."""
    result = session.execute(sa.update(UserSession).where(UserSession.user_id == user_id,
                                                          UserSession.revoked_at.is_(None))
                             .values(revoked_at=now))
    return result.rowcount or 0


def forget_old_sessions(session: Session, *, user_id: int, before: datetime) -> None:
    """Delete a user's sessions started before `before` (long dead); not committed."""
    session.execute(sa.delete(UserSession).where(UserSession.user_id == user_id,
                                                 UserSession.created_at < before))
