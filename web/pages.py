"""HTML pages: sign-in and the signed-in home listing deployed definitions."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from cases.auth.sessions import end_session
from cases.auth.signin import SignInRefused, sign_in
from cases.definitions import list_definitions

from .security import (SESSION_FIELD, CurrentUser, SessionDep, request_now, require_csrf,
                       signin_limits)

router = APIRouter(include_in_schema=False)  # HTML pages, not the API
# Where each role lands after signing in (unless the sign-in page was asked for another page).
ROLE_HOMES = {"agent": "/work", "supervisor": "/work", "designer": "/designer"}


def _render(request: Request, name: str, context: dict, status_code: int = 200):
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


def _safe_next(target: str | None) -> str:
    """Only follow local paths after sign-in (no open redirect)."""
    if not target or urlparse(target).netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    """Show the sign-in form."""
    return _render(request, "login.html", {"next": _safe_next(next), "username": "", "error": None})


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(request: Request, session: SessionDep, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
    """Sign in; on failure show the form again with the username kept and the reason."""
    address = request.client.host if request.client else ""
    try:
        user, token = sign_in(session, username=username, password=password, address=address,
                              now=request_now(request), limits=signin_limits(request),
                              max_age=timedelta(seconds=request.app.state.settings.session_max_age))
    except SignInRefused as refused:
        page = _render(request, "login.html", {"next": _safe_next(next), "username": username,
                                               "error": str(refused)}, status_code=refused.status)
        if refused.retry_after:
            page.headers["Retry-After"] = str(refused.retry_after)
        return page
    request.session.clear()  # a new CSRF token too: nothing from before sign-in carries over
    request.session[SESSION_FIELD] = token
    target = _safe_next(next)
    return RedirectResponse(ROLE_HOMES.get(user.role, "/") if target == "/" else target,
                            status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request, session: SessionDep):
    """Sign out: the server forgets the session, so a copy of the cookie no longer works."""
    end_session(session, request.session.get(SESSION_FIELD, ""), now=request_now(request))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(request: Request, user: CurrentUser, session: SessionDep):
    """The signed-in home page: the deployed process definitions."""
    return _render(request, "home.html", {"user": user, "definitions": list_definitions(session)})
