"""Read and mark notifications; read and set a person's e-mail preferences. Commit once each."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlmodel import Session, select

from ..errors import InvalidInput, NotFound
from ..users import User
from .kinds import KINDS, describe
from .models import Notification, NotificationPreference

# A plain check: one @, no spaces or control characters, a dot in the domain. The mail server
# is the judge of the rest.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
MAX_EMAIL = 254


@dataclass(frozen=True)
class Preferences:
    email: str
    email_kinds: frozenset[str]


def text_of(note: Notification) -> str:
    """The notification in words."""
    details = json.loads(note.details or "{}")
    return describe(note.kind, details, actor=details.get("actor_name") or note.actor,
                    case_id=note.case_id)


def list_for(session: Session, user_id: int, *, unread_only: bool = False, limit: int = 50,
             offset: int = 0) -> tuple[list[Notification], int]:
    """A person's notifications, newest first, and how many there are in all."""
    where = [Notification.user_id == user_id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    rows = session.exec(select(Notification).where(*where).order_by(Notification.id.desc())
                        .limit(limit).offset(offset)).all()
    total = session.exec(select(sa.func.count()).select_from(Notification).where(*where)).one()
    return list(rows), int(total)


def unread_count(session: Session, user_id: int) -> int:
    """How many of a person's notifications are unread."""
    return int(session.exec(select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))).one())


def mark_read(session: Session, *, user: User, now: datetime, notification_id: int
              ) -> Notification:
    """Mark one of the person's own notifications read (again is fine). Commit once."""
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound(f"No notification {notification_id} of yours")
    if note.read_at is None:
        note.read_at = now
        session.add(note)
        session.commit()
    return note


def mark_all_read(session: Session, *, user: User, now: datetime) -> int:
    """Mark every unread notification of the person read; return how many. Commit once."""
    done = session.execute(sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now).execution_options(synchronize_session=False))
    session.commit()
    return done.rowcount


def preferences(session: Session, user_id: int) -> Preferences:
    """A person's e-mail preferences (no address and every kind ticked until they save some)."""
    pref = session.get(NotificationPreference, user_id)
    if pref is None:
        return Preferences("", frozenset(KINDS))
    return Preferences(pref.email, frozenset(json.loads(pref.email_kinds or "[]")) & set(KINDS))


def set_preferences(session: Session, *, user: User, now: datetime, email: str,
                    email_kinds: Iterable[str]) -> Preferences:
    """Save where and which notifications the person wants by e-mail. Commit once."""
    email = (email or "").strip()
    kinds = list(email_kinds)
    submitted = {"email": email, "email_kinds": kinds}
    errors = {}
    if len(email) > MAX_EMAIL:
        errors["email"] = f"Keep the address under {MAX_EMAIL} characters"
    elif email and not _EMAIL.match(email):
        errors["email"] = "Enter an e-mail address like ann@example.com, or leave it empty"
    if unknown := [k for k in kinds if k not in KINDS]:
        errors["email_kinds"] = (f"Unknown kind {unknown[0][:40]!r}; choose from "
                                 + ", ".join(KINDS))
    if errors:
        raise InvalidInput(errors, submitted)
    pref = session.get(NotificationPreference, user.id) or NotificationPreference(user_id=user.id)
    pref.email = email
    pref.email_kinds = json.dumps(sorted(set(kinds)))
    pref.updated_at = now
    session.add(pref)
    session.commit()
    return preferences(session, user.id)


__all__ = ["Preferences", "list_for", "mark_all_read", "mark_read", "preferences",
           "set_preferences", "text_of", "unread_count"]
