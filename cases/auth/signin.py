"""The sign-in service: throttling, password check and a new server-side session in one commit."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Session

from ..errors import CaseError
from ..users import User, authenticate
from .sessions import forget_old_sessions, start_session
from .throttle import Limits, Lock, clear_account_failures, record_failure, signin_lock

WRONG = "That username and password do not match an active account."


class SignInRefused(CaseError):
    """Wrong credentials (status 400) or too many failures (status 429); the message says which."""

    def __init__(self, message: str, status: int, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


def _locked(lock: Lock, now: datetime) -> SignInRefused:
    seconds = max(1, math.ceil((lock.until - now).total_seconds()))
    return SignInRefused(lock.message(now), 429, retry_after=seconds)


def sign_in(session: Session, *, username: str, password: str, address: str, now: datetime,
            limits: Limits, max_age: timedelta) -> tuple[User, str]:
    """Check the credentials unless locked, start a session and return the user and its token."""
    username = username.strip().lower()[:64]
    lock = signin_lock(session, username=username, address=address, now=now, limits=limits)
    if lock:
        raise _locked(lock, now)
    user = authenticate(session, username, password)
    if user is None:
        record_failure(session, username=username, address=address, now=now, limits=limits)
        session.commit()
        lock = signin_lock(session, username=username, address=address, now=now, limits=limits)
        raise _locked(lock, now) if lock else SignInRefused(WRONG, 400)
    clear_account_failures(session, username=username)
    forget_old_sessions(session, user_id=user.id, before=now - max_age)
    token = start_session(session, user=user, address=address, now=now)
    session.commit()
    return user, token
