"""Notifications for the signed-in person: the bell in the header, the list with mark-read, the
e-mail preferences page, and the same in the JSON API (each person sees only their own)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from cases.errors import CaseError, InvalidInput
from cases.notifications import service as notifications
from cases.notifications.kinds import KINDS
from cases.notifications.models import Notification
from cases.users import User

from .api import REFUSALS, Caller, _run
from .inputs import Offset, Page, PathId, Text
from .security import CurrentUser, SessionDep, require_csrf
from .work_cases import FormData
from .work_common import fail, flash, is_htmx, now, pop_flash, redirect, render

router = APIRouter(include_in_schema=False)
api_router = APIRouter()
PAGE_SIZE = 30


def unread_for(request: Request, user: User) -> int:
    """The bell's count (base.html calls it for the signed-in person)."""
    with Session(request.app.state.engine) as session:
        return notifications.unread_count(session, user.id)


def register(templates) -> None:
    """The template global the bell in base.html uses."""
    templates.env.globals["unread_notifications"] = unread_for


def _rows(rows: list[Notification]) -> list[dict]:
    return [{"n": n, "text": notifications.text_of(n), "kind": KINDS.get(n.kind, n.kind)}
            for n in rows]


def _list_page(request: Request, session, user: User, *, unread: bool, page: int = 1,
               status_code: int = 200, message: str | None = None):
    rows, total = notifications.list_for(session, user.id, unread_only=unread, limit=PAGE_SIZE,
                                         offset=(page - 1) * PAGE_SIZE)
    context = {"user": user, "rows": _rows(rows), "total": total, "unread": unread,
               "page": page, "has_next": page * PAGE_SIZE < total, "message": message,
               "unread_count": notifications.unread_count(session, user.id),
               "flash": pop_flash(request)}
    name = "notifications/_list.html" if is_htmx(request) else "notifications/index.html"
    return render(request, name, context, status_code=status_code)


@router.get("/notifications")
def notification_list(request: Request, session: SessionDep, user: CurrentUser,
                      unread: bool = False, page: Page = 1):
    """Your notifications, newest first (only the unread ones with unread=true)."""
    return _list_page(request, session, user, unread=unread, page=min(page, 10_000))


@router.get("/notifications/bell")
def bell(request: Request, user: CurrentUser):
    """The bell alone (it refreshes itself every minute)."""
    return render(request, "notifications/_bell.html", {"user": user})


@router.post("/notifications/{notification_id}/read", dependencies=[Depends(require_csrf)])
def read_one(request: Request, session: SessionDep, user: CurrentUser, notification_id: PathId,
             form: dict = FormData):
    """Mark one notification read."""
    try:
        notifications.mark_read(session, user=user, now=now(), notification_id=notification_id)
    except CaseError as err:
        raise fail(err) from None
    if is_htmx(request):
        answer = _list_page(request, session, user, unread=form.get("unread") == "true")
        answer.headers["HX-Trigger"] = "notifications-changed"  # the bell counts again
        return answer
    return redirect("/notifications" + ("?unread=true" if form.get("unread") == "true" else ""))


@router.post("/notifications/read-all", dependencies=[Depends(require_csrf)])
def read_all(request: Request, session: SessionDep, user: CurrentUser):
    """Mark every notification read."""
    count = notifications.mark_all_read(session, user=user, now=now())
    flash(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect("/notifications")


def _prefs_page(request: Request, user: User, prefs, *, errors: dict | None = None,
                status_code: int = 200):
    context = {"user": user, "prefs": prefs, "kinds": KINDS, "errors": errors or {},
               "flash": pop_flash(request)}
    return render(request, "notifications/preferences.html", context, status_code=status_code)


@router.get("/notifications/preferences")
def preferences_page(request: Request, session: SessionDep, user: CurrentUser):
    """Which notifications you also get by e-mail, and where."""
    return _prefs_page(request, user, notifications.preferences(session, user.id))


@router.post("/notifications/preferences", dependencies=[Depends(require_csrf)])
def preferences_save(request: Request, session: SessionDep, user: CurrentUser,
                     email: Annotated[str, Form()] = "",
                     kinds: Annotated[list[str], Form()] = []):  # noqa: B006 - FastAPI copies it
    """Save the e-mail address and the kinds wanted by e-mail."""
    try:
        notifications.set_preferences(session, user=user, now=now(), email=email,
                                      email_kinds=kinds)
    except InvalidInput as err:
        typed = notifications.Preferences(email[:300], frozenset(k for k in kinds if k in KINDS))
        return _prefs_page(request, user, typed, errors=err.errors, status_code=400)
    flash(request, "Your e-mail preferences are saved.")
    return redirect("/notifications/preferences")


# ---- the JSON API ----------------------------------------------------------------------------

class NotificationOut(BaseModel):
    id: int
    kind: str
    text: str
    case_id: int | None
    actor: str
    created_at: datetime
    read_at: datetime | None
    email_state: str


class NotificationList(BaseModel):
    data: list[NotificationOut]
    count: int
    unread: int


class ReadAll(BaseModel):
    marked: int


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Text(254) = ""
    email_kinds: list[Text(32)] = Field(default=[], max_length=len(KINDS) * 2)


class PreferencesOut(BaseModel):
    email: str
    email_kinds: list[str]


def notification_json(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "text": notifications.text_of(n), "case_id": n.case_id,
            "actor": n.actor, "created_at": n.created_at, "read_at": n.read_at,
            "email_state": n.email_state}


@api_router.get("/notifications", response_model=NotificationList, responses=REFUSALS)
def api_list(user: Caller, session: SessionDep, unread: bool = False,
             limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0) -> dict:
    """Your notifications, newest first; `count` is how many match in all."""
    rows, total = notifications.list_for(session, user.id, unread_only=unread, limit=limit,
                                         offset=offset)
    return {"data": [notification_json(n) for n in rows], "count": total,
            "unread": notifications.unread_count(session, user.id)}


@api_router.post("/notifications/read-all", response_model=ReadAll, responses=REFUSALS)
def api_read_all(user: Caller, session: SessionDep) -> dict:
    """Mark every notification of yours read."""
    return {"marked": notifications.mark_all_read(session, user=user, now=now())}


@api_router.post("/notifications/{notification_id}/read", response_model=NotificationOut,
                 responses=REFUSALS)
def api_read(notification_id: PathId, user: Caller, session: SessionDep) -> dict:
    """Mark one notification of yours read."""
    return notification_json(_run(notifications.mark_read, session, user=user, now=now(),
                                  notification_id=notification_id))


@api_router.get("/notification-preferences", response_model=PreferencesOut, responses=REFUSALS)
def api_preferences(user: Caller, session: SessionDep) -> dict:
    """Your e-mail address for notifications and the kinds you get by e-mail."""
    prefs = notifications.preferences(session, user.id)
    return {"email": prefs.email, "email_kinds": sorted(prefs.email_kinds)}


@api_router.post("/notification-preferences", response_model=PreferencesOut, responses=REFUSALS)
def api_set_preferences(body: PreferencesIn, user: Caller, session: SessionDep) -> dict:
    """Set your e-mail address and the kinds you get by e-mail (assigned, team_handover,
    approval_waiting, request_decided, step_at_risk, step_breached, incident)."""
    prefs = _run(notifications.set_preferences, session, user=user, now=now(), email=body.email,
                 email_kinds=body.email_kinds)
    return {"email": prefs.email, "email_kinds": sorted(prefs.email_kinds)}
