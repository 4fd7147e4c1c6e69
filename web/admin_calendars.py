"""The admin page of business calendars: working hours and public holidays per calendar, the
default calendar, and which team's steps are timed on which calendar. Admins only; every form
carries the CSRF token."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request

from cases.calendars import service as calendars
from cases.calendars.clock import WEEKDAYS
from cases.errors import CaseError, InvalidInput
from cases.users import User
from engine.metadata import parse_duration

from .inputs import PathId
from .security import SessionDep, require_csrf, require_role
from .work_cases import FormData
from .work_common import flash, now, pop_flash, redirect, render, status_for

router = APIRouter(include_in_schema=False)
AdminUser = Annotated[User, Depends(require_role("admin"))]
PAGE = "/admin/calendars"
RETIMING = ("Open steps get their due times counted again on it in the background (deadlines "
            "set by hand stay).")
DEFAULT_HOURS = {d: ("08:00", "18:00") if d not in ("sat", "sun") else ("", "") for d in WEEKDAYS}


def _page(request: Request, session, user: User, *, status_code: int = 200,
          errors: dict | None = None, typed: dict | None = None, message: str | None = None,
          edit: int | None = None, check: dict | None = None):
    rows = calendars.list_calendars(session)
    editing = next((c for c in rows if c.id == edit), None)
    if typed is None and editing is not None:
        typed = {"name": editing.name, "timezone": editing.timezone,
                 "country": editing.country or "", "subdivision": editing.subdivision or "",
                 "is_default": editing.is_default, "hours": calendars.hours_by_day(editing)}
    typed = typed or {"timezone": "UTC", "hours": DEFAULT_HOURS}
    today = now().date()
    context = {"user": user, "calendars": rows, "editing": editing, "errors": errors or {},
               "typed": typed, "message": message, "flash": pop_flash(request),
               "days": list(zip(WEEKDAYS, calendars.DAY_NAMES)),
               "hours": {c.id: calendars.hours_by_day(c) for c in rows},
               "holidays": {c.id: calendars.upcoming_holidays(c, today, 3) for c in rows},
               "assignments": calendars.assignments(session),
               "names": {c.id: c.name for c in rows},
               "teams": calendars.known_teams(session), "check": check or {},
               "retime_pending": calendars.retime_pending(session)}
    return render(request, "admin/calendars.html", context, status_code=status_code)


@router.get(PAGE)
def calendars_page(request: Request, session: SessionDep, user: AdminUser, edit: int | None = None):
    """Calendars, the form to add or change one, and the teams' calendars."""
    return _page(request, session, user, edit=edit)


def _typed(form: dict) -> dict:
    return {"name": str(form.get("name", ""))[:200], "timezone": str(form.get("timezone", ""))[:64],
            "country": str(form.get("country", ""))[:8],
            "subdivision": str(form.get("subdivision", ""))[:16],
            "is_default": form.get("is_default") == "on",
            "hours": {d: (str(form.get(f"{d}_open", ""))[:8], str(form.get(f"{d}_close", ""))[:8])
                      for d in WEEKDAYS}}


def _save(request: Request, session, user: User, form: dict, calendar_id: int | None):
    typed = _typed(form)
    try:
        saved = calendars.save_calendar(session, actor=user.username, now=now(),
                                        calendar_id=calendar_id, **typed)
    except InvalidInput as err:
        return _page(request, session, user, status_code=422, errors=err.errors, typed=typed,
                     edit=calendar_id, message="The calendar was not saved; see the fields below.")
    except CaseError as err:
        return _page(request, session, user, status_code=status_for(err), message=str(err))
    flash(request, f"Calendar “{saved.name}” saved. {RETIMING}")
    return redirect(PAGE)


@router.post(PAGE, dependencies=[Depends(require_csrf)])
def calendar_add(request: Request, session: SessionDep, user: AdminUser, form: dict = FormData):
    """Add a calendar."""
    return _save(request, session, user, form, None)


@router.post(PAGE + "/teams", dependencies=[Depends(require_csrf)])
def calendar_team(request: Request, session: SessionDep, user: AdminUser, form: dict = FormData):
    """Time a team's steps on a calendar, or on the default again."""
    team, chosen = str(form.get("team", ""))[:300], str(form.get("calendar_id", ""))
    try:
        calendar_id = int(chosen) if chosen else None
    except ValueError:
        calendar_id = -1
    try:
        if calendar_id == -1:
            raise InvalidInput({"calendar_id": "Choose a calendar from the list"})
        calendars.assign_team(session, actor=user.username, now=now(), team=team,
                              calendar_id=calendar_id)
    except InvalidInput as err:
        return _page(request, session, user, status_code=422, errors=err.errors,
                     message="The team's calendar was not changed; see the fields below.")
    except CaseError as err:
        return _page(request, session, user, status_code=status_for(err), message=str(err))
    flash(request, f"{' '.join(team.split())} now works on "
                   f"{'the default calendar' if calendar_id is None else f'calendar {calendar_id}'}."
                   f" {RETIMING}")
    return redirect(PAGE)


# after /teams, which the path parameter would otherwise swallow
@router.post(PAGE + "/{calendar_id}", dependencies=[Depends(require_csrf)])
def calendar_change(request: Request, session: SessionDep, user: AdminUser, calendar_id: PathId,
                    form: dict = FormData):
    """Change a calendar; open steps are re-timed by a job, new steps use the new hours."""
    return _save(request, session, user, form, calendar_id)


@router.post(PAGE + "/{calendar_id}/remove", dependencies=[Depends(require_csrf)])
def calendar_remove(request: Request, session: SessionDep, user: AdminUser, calendar_id: PathId):
    """Remove a calendar; its teams go back to the default calendar."""
    try:
        calendars.delete_calendar(session, actor=user.username, now=now(), calendar_id=calendar_id)
    except CaseError as err:
        return _page(request, session, user, status_code=status_for(err), message=str(err))
    flash(request, f"Calendar {calendar_id} removed. {RETIMING}")
    return redirect(PAGE)


@router.get(PAGE + "/check")
def calendar_check(request: Request, session: SessionDep, user: AdminUser, team: str = "",
                   start: str = "", duration: str = "PT24H"):
    """Show when a step of a team, opened at a moment, would be due (to try a calendar out)."""
    check: dict = {"team": team[:255], "start": start[:32], "duration": duration[:32]}
    errors: dict[str, str] = {}
    calendar = calendars.calendar_for_team(session, check["team"] or None)
    tz = ZoneInfo(calendar.timezone) if calendar else timezone.utc
    try:
        opened = datetime.fromisoformat(check["start"]) if start else now()
        opened = opened if opened.tzinfo else opened.replace(tzinfo=tz)  # the calendar's local time
    except ValueError:
        errors["start"] = "Write the moment as 2026-12-04T18:00 (the calendar's local time)"
    try:
        length = parse_duration(duration)
        if not length or length <= timedelta(0) or length > timedelta(days=366):
            raise ValueError
    except (ValueError, TypeError, OverflowError):
        errors["duration"] = "Write an ISO-8601 duration up to a year, such as PT24H or P2D"
    if errors:
        return _page(request, session, user, status_code=422, errors=errors, check=check,
                     message="Nothing was worked out; see the fields below.")
    clock = calendars.clock_of(calendar) if calendar else None
    due = clock.add(opened, length) if clock else opened + length
    check.update(opened=opened.astimezone(tz), due=due.astimezone(tz),
                 calendar=calendar.name if calendar else None, tz=str(tz))
    return _page(request, session, user, check=check)
