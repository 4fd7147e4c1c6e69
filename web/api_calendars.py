"""The JSON API of business calendars, for admins: list, add, change, remove calendars and set a
team's calendar. Same authentication and refusal shape as web/api.py."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from cases.calendars import service as calendars
from cases.calendars.clock import WEEKDAYS
from cases.calendars.models import BusinessCalendar
from engine.clock import utcnow

from .api import REFUSALS, Caller, _iso, _run
from .inputs import DbId, PathId, Text
from .security import SessionDep

router = APIRouter()
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class DayHours(BaseModel):
    model_config = _STRICT
    opens: Text(5, 4)
    closes: Text(5, 4)


class CalendarIn(BaseModel):
    """`hours`: weekday (mon..sun) -> {opens, closes} as HH:MM; a day left out is closed.
    `country`/`subdivision`: public holidays from the `holidays` package (e.g. DE, BE)."""

    model_config = _STRICT
    name: Text(100, 1)
    timezone: Text(64, 1)
    country: Text(8) = ""
    subdivision: Text(16) = ""
    hours: dict[Text(3, 3), DayHours] = Field(max_length=7)
    is_default: bool = False


class CalendarOut(BaseModel):
    id: int
    name: str
    timezone: str
    country: str | None
    subdivision: str | None
    hours: dict[str, DayHours]
    is_default: bool
    teams: list[str]
    updated_by: str
    updated_at: str


class CalendarList(BaseModel):
    data: list[CalendarOut]
    count: int


class TeamCalendarIn(BaseModel):
    """calendar_id null: the team goes back to the default calendar."""

    model_config = _STRICT
    team: Text(255, 1)
    calendar_id: DbId | None = None


def _admin(user) -> None:
    if user.role != "admin":
        raise HTTPException(status_code=403, detail={
            "message": "Only an admin may manage business calendars", "errors": {}})


def _json(session, c: BusinessCalendar) -> dict:
    teams = [a.team for a in calendars.assignments(session) if a.calendar_id == c.id]
    return {"id": c.id, "name": c.name, "timezone": c.timezone, "country": c.country,
            "subdivision": c.subdivision, "is_default": c.is_default, "teams": teams,
            "hours": {d: {"opens": o, "closes": e}
                      for d, (o, e) in calendars.hours_by_day(c).items() if o},
            "updated_by": c.updated_by, "updated_at": _iso(c.updated_at)}


def _save(session, user, body: CalendarIn, calendar_id: int | None) -> dict:
    unknown = sorted(set(body.hours) - set(WEEKDAYS))
    if unknown:
        raise HTTPException(status_code=422, detail={
            "message": "Unknown weekday in hours", "errors": {
                "hours": f"Use mon, tue, wed, thu, fri, sat, sun, not {', '.join(unknown)}"}})
    saved = _run(calendars.save_calendar, session, actor=user.username, now=utcnow(),
                 calendar_id=calendar_id, name=body.name, timezone=body.timezone,
                 country=body.country, subdivision=body.subdivision, is_default=body.is_default,
                 hours={d: (h.opens, h.closes) for d, h in body.hours.items()})
    return _json(session, saved)


@router.get("/calendars", response_model=CalendarList, responses=REFUSALS)
def api_calendars(user: Caller, session: SessionDep) -> dict:
    """Every business calendar with its hours and teams."""
    _admin(user)
    rows = calendars.list_calendars(session)
    return {"data": [_json(session, c) for c in rows], "count": len(rows)}


@router.post("/calendars", status_code=201, response_model=CalendarOut, responses=REFUSALS)
def api_calendar_add(body: CalendarIn, user: Caller, session: SessionDep) -> dict:
    """Add a calendar (is_default: the one for every team without its own)."""
    _admin(user)
    return _save(session, user, body, None)


@router.put("/calendars/{calendar_id}", response_model=CalendarOut, responses=REFUSALS)
def api_calendar_change(calendar_id: PathId, body: CalendarIn, user: Caller,
                        session: SessionDep) -> dict:
    """Change a calendar; steps opened from now on are timed on the new hours."""
    _admin(user)
    return _save(session, user, body, calendar_id)


@router.delete("/calendars/{calendar_id}", responses=REFUSALS)
def api_calendar_remove(calendar_id: PathId, user: Caller, session: SessionDep) -> dict:
    """Remove a calendar; its teams go back to the default."""
    _admin(user)
    _run(calendars.delete_calendar, session, actor=user.username, now=utcnow(),
         calendar_id=calendar_id)
    return {"id": calendar_id, "removed": True}


@router.put("/calendar-teams", responses=REFUSALS)
def api_calendar_team(body: TeamCalendarIn, user: Caller, session: SessionDep) -> dict:
    """Time a team's steps on a calendar (calendar_id null: the default again)."""
    _admin(user)
    _run(calendars.assign_team, session, actor=user.username, now=utcnow(), team=body.team,
         calendar_id=body.calendar_id)
    return {"team": " ".join(body.team.split()), "calendar_id": body.calendar_id}
