"""Sign-in state and CSRF protection shared by every HTML route."""
from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Callable, TypeVar

from fastapi import Depends, Form, HTTPException, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from cases.auth.sessions import session_user
from cases.auth.throttle import Limits
from cases.db import end_read
from cases.users import User
from engine.clock import utcnow

CSRF_FIELD = "csrf_token"
SESSION_FIELD = "sid"  # the server-side session's token: the only sign-in state in the cookie


def csrf_token(request: Request) -> str:
    """Return this browser session's CSRF token, creating it on first use."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def require_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Refuse a state-changing form post whose token does not match the session's."""
    expected = request.session.get(CSRF_FIELD, "")
    sent = csrf_token or request.headers.get("X-CSRF-Token", "")
    if not expected or not hmac.compare_digest(expected, sent):
        raise HTTPException(status_code=403, detail="This form has expired or did not come from "
                                                    "Caseflow. Reload the page and try again.")


def get_db(request: Request):
    """Yield a database session for one request. What a GET read ends in a COMMIT (cases/db.py,
    end_read: PostgreSQL keeps the connection's prepared statements); anything else left open
    rolls back."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session
        if request.method in READ_METHODS:
            end_read(session)


READ_METHODS = ("GET", "HEAD")


SessionDep = Annotated[Session, Depends(get_db)]


class LoginRequired(Exception):
    """Raised when a page needs a signed-in user; answered with a redirect to /login."""


def current_user(request: Request, session: SessionDep) -> User:
    """Return the signed-in user of a live server-side session, or send the browser to sign in."""
    settings = request.app.state.settings
    user = session_user(session, request.session.get(SESSION_FIELD, ""), now=request_now(request),
                        idle=timedelta(minutes=settings.session_idle_minutes),
                        max_age=timedelta(seconds=settings.session_max_age))
    if user is None:
        request.session.pop(SESSION_FIELD, None)
        raise LoginRequired()
    request.state.user = user.username  # for the request's log line (web/ops)
    return user


def request_now(request: Request):
    """Return the time from the app's clock (web.app sets it; tests move it by hand)."""
    return getattr(request.app.state, "clock", utcnow)()


def signin_limits(request: Request) -> Limits:
    """Return the sign-in throttling limits of this app's settings."""
    settings = request.app.state.settings
    return Limits(per_account=settings.signin_max_failures,
                  per_address=settings.signin_max_failures_per_address,
                  window=timedelta(minutes=settings.signin_lock_minutes))


CurrentUser = Annotated[User, Depends(current_user)]

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def api_user(request: Request, session: SessionDep) -> User:
    """The caller of a JSON route: a bearer API token, or the browser session.

    A token needs no CSRF token (no cookie is involved); a browser session changing something
    must send its CSRF token in the X-CSRF-Token header, as htmx does.
    """
    from cases.api_tokens import user_for_token

    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        user = user_for_token(session, auth[7:].strip(), now=utcnow())
        if user is None:
            raise HTTPException(status_code=401, detail="That API token is unknown or revoked, "
                                                        "or its user is no longer active.")
        request.state.user = user.username  # for the request's log line (web/ops)
        return user
    user = current_user(request, session)
    if request.method not in SAFE_METHODS:
        expected = request.session.get(CSRF_FIELD, "")
        sent = request.headers.get("X-CSRF-Token", "")
        if not expected or not hmac.compare_digest(expected, sent):
            raise HTTPException(status_code=403, detail="Send the page's CSRF token in the "
                                                        "X-CSRF-Token header, or use an API token.")
    return user


ApiUser = Annotated[User, Depends(api_user)]
T = TypeVar("T")


async def api_call(request: Request, work: Callable[..., T], /, *args, **kwargs) -> T:
    """Run a JSON route's work in one worker thread: open a session, authenticate the caller
    (api_user), call `work(user, session, *args, **kwargs)`, close the session.

    The hot routes use this from an async route instead of a sync route with sync dependencies,
    which FastAPI runs as a hand-off to the thread pool each (session, caller, route, response
    check, session close): one hand-off per request instead of six.
    """
    def call() -> T:
        with Session(request.app.state.engine, expire_on_commit=False) as session:
            answer = work(api_user(request, session), session, *args, **kwargs)
            if request.method in READ_METHODS:
                end_read(session)  # see get_db
            return answer

    return await run_in_threadpool(call)


def require_role(*roles: str):
    """Dependency that refuses users whose role is not one of `roles`."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles and user.role != "admin":
            raise HTTPException(status_code=403, detail="Your role does not allow this page.")
        return user

    return check
