"""HTML pages: sign-in and the signed-in home listing deployed definitions."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from cases.definitions import list_definitions
from cases.users import authenticate

from .security import CurrentUser, SessionDep, require_csrf

router = APIRouter()
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
    """Sign in; on failure show the form again with the username kept."""
    user = authenticate(session, username, password)
    if user is None:
        return _render(request, "login.html", {
            "next": _safe_next(next), "username": username,
            "error": "That username and password do not match an active account."}, status_code=400)
    request.session.clear()
    request.session["user_id"] = user.id
    target = _safe_next(next)
    return RedirectResponse(ROLE_HOMES.get(user.role, "/") if target == "/" else target,
                            status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request):
    """Sign out."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(request: Request, user: CurrentUser, session: SessionDep):
    """The signed-in home page: the deployed process definitions."""
    return _render(request, "home.html", {"user": user, "definitions": list_definitions(session)})
