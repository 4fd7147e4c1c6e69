"""API tokens for integrators: a secret shown once, stored only as its SHA-256 digest.

A token acts as the user it belongs to, with that user's role and teams; revoking it (or
deactivating the user) stops it at once.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from engine.store import utc_column

from .errors import InvalidInput, NotFound
from .users import User

PREFIX = "cft_"
# `last_used_at` is written at most this often per token: a write on every request would make
# each request a writing transaction, and concurrent requests queue on that one row's lock.
LAST_USED_EVERY = timedelta(seconds=60)


class ApiToken(SQLModel, table=True):
    """One integrator's token; `token_hash` is the SHA-256 of the secret, never the secret."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=255)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = utc_column()
    last_used_at: datetime | None = utc_column(default=None, nullable=True)
    revoked_at: datetime | None = utc_column(default=None, nullable=True)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(session: Session, *, user: User, name: str, now: datetime) -> tuple[ApiToken, str]:
    """Create a token for a user and return it with its secret (shown once). Commit once."""
    if not (name or "").strip():
        raise InvalidInput({"name": "Name the token after the system that will use it"})
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip(), token_hash=_digest(secret), created_at=now)
    session.add(token)
    session.commit()
    return token, secret


def user_for_token(session: Session, secret: str, *, now: datetime) -> User | None:
    """Return the active user a live token belongs to, else None.

    When the token was last noted as used more than LAST_USED_EVERY ago, note `now` (and commit
    that alone); otherwise nothing is written. Of several processes noting it at once, the
    conditional UPDATE lets one win and the others change nothing.
    """
    if not secret.startswith(PREFIX):
        return None
    row = session.execute(_LIVE_TOKEN, {"digest": _digest(secret)}).first()
    if row is None or not row.User.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        stale = sa.or_(ApiToken.last_used_at.is_(None),
                       ApiToken.last_used_at <= now - LAST_USED_EVERY)
        session.execute(sa.update(ApiToken).where(ApiToken.id == row.id, stale)
                        .values(last_used_at=now).execution_options(synchronize_session=False))
        session.commit()
    return row.User


# Every API call runs this: built once (a statement built per call costs more than running it),
# and the token's two columns read as values, not as a second ORM object.
_LIVE_TOKEN = (select(ApiToken.id, ApiToken.last_used_at, User)
               .join(User, User.id == ApiToken.user_id)
               .where(ApiToken.token_hash == sa.bindparam("digest"),
                      ApiToken.revoked_at.is_(None)))


def revoke_token(session: Session, *, token_id: int, now: datetime) -> ApiToken:
    """Stop a token for good. Commit once."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
        session.commit()
    return token


def list_tokens(session: Session) -> list[tuple[ApiToken, User]]:
    """Every token with its user, newest first."""
    return list(session.exec(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                             .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all())
