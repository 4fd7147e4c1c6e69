"""Users, roles and teams, with argon2 password hashes."""
from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Field, Session, SQLModel, select

from engine.store import utc_column

from .auth.passwords import password_problem
from .errors import CaseError

ROLES = ("agent", "designer", "supervisor", "admin")
_HASHER = PasswordHasher()


class User(SQLModel, table=True):
    """A person who signs in: an agent (in teams), a designer, a supervisor or an admin."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True}, index=True)
    display_name: str = Field(max_length=255)
    role: str = Field(max_length=16)
    teams: str = Field(default="", max_length=1000)  # comma-separated team names
    password_hash: str = Field(max_length=255)
    active: bool = Field(default=True)
    created_at: datetime = utc_column()

    @property
    def team_list(self) -> list[str]:
        """Return the user's teams as a list."""
        return [t for t in (s.strip() for s in self.teams.split(",")) if t]


def create_user(session: Session, *, username: str, password: str, role: str, now: datetime,
                display_name: str | None = None, teams: list[str] | None = None) -> User:
    """Add a user (not committed); refuse unknown roles, weak passwords and taken usernames."""
    username = username.strip().lower()
    if role not in ROLES:
        raise CaseError(f"Unknown role '{role}'; choose one of {', '.join(ROLES)}")
    _check_password(password, username, display_name)
    if session.exec(select(User).where(User.username == username)).first():
        raise CaseError(f"The username '{username}' is taken")
    user = User(username=username, display_name=display_name or username, role=role,
                teams=",".join(teams or []), password_hash=_HASHER.hash(password), created_at=now)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None or not user.active:
        _HASHER.hash(password)  # spend the same time whether or not the user exists
        return None
    try:
        _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def list_users(session: Session) -> list[User]:
    """Return all users by username."""
    return list(session.exec(select(User).order_by(User.username)).all())


def set_password(session: Session, user: User, password: str, *, now: datetime) -> None:
    """Replace a user's password and sign them out everywhere (not committed)."""
    from .auth.sessions import revoke_user_sessions  # sessions build on users, not the reverse

    _check_password(password, user.username, user.display_name)
    user.password_hash = _HASHER.hash(password)
    session.add(user)
    revoke_user_sessions(session, user_id=user.id, now=now)


def _check_password(password: str, username: str, display_name: str | None) -> None:
    problem = password_problem(password, user_inputs=(username, display_name or ""))
    if problem:
        raise CaseError(problem)
