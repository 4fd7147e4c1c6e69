"""Keep business calendars and say which one times a team's steps.

A team's steps are timed on its own calendar, else on the default calendar, else on plain
calendar time (no calendar: every hour counts, as before calendars existed).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays
import sqlalchemy as sa
from sqlmodel import Session, select

from ..case_models import WorkItem
from ..errors import Conflict, InvalidInput, NotFound
from ..jobs import service as jobs
from ..jobs.models import Job
from ..users import User
from .clock import WEEKDAYS, WorkingClock, format_hours, parse_hours
from .models import BusinessCalendar, TeamCalendar

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
RETIME_KIND = RETIME_KEY = "calendar_retime"  # the job that re-times open steps (retime.py)


@lru_cache(maxsize=64)
def _public_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # a HolidayBase fills in each year the first time a date of it is asked about
    return holidays.country_holidays(country, subdiv=subdivision)


@lru_cache(maxsize=256)
def _clock(calendar_id: int, updated_at: datetime, tz: str, hours: str, country: str | None,
           subdivision: str | None) -> WorkingClock:
    closed = _public_holidays(country, subdivision) if country else frozenset()
    return WorkingClock(ZoneInfo(tz), parse_hours(hours), closed)


def clock_of(calendar: BusinessCalendar) -> WorkingClock:
    """Return the counting clock of a stored calendar (cached until the calendar changes)."""
    return _clock(calendar.id, calendar.updated_at, calendar.timezone, calendar.hours,
                  calendar.country, calendar.subdivision)


def calendar_for_team(session: Session, team: str | None) -> BusinessCalendar | None:
    """Return the calendar that times a team's steps: its own, else the default, else None."""
    own = None
    if team:
        own = session.exec(select(BusinessCalendar).join(
            TeamCalendar, TeamCalendar.calendar_id == BusinessCalendar.id)
            .where(TeamCalendar.team == team)).first()
    return own or session.exec(select(BusinessCalendar)
                               .where(BusinessCalendar.is_default == sa.true())).first()


def clock_for_team(session: Session, team: str | None) -> WorkingClock | None:
    """Return the working clock of a team's steps, or None for plain calendar time."""
    calendar = calendar_for_team(session, team)
    return clock_of(calendar) if calendar is not None else None


def clocks_by_team(session: Session) -> tuple[dict[str, WorkingClock], WorkingClock | None]:
    """Return every team's own clock and the default clock (for sweeping many steps at once)."""
    calendars = {c.id: c for c in session.exec(select(BusinessCalendar)).all()}
    default = next((c for c in calendars.values() if c.is_default), None)
    teams = {t.team: clock_of(calendars[t.calendar_id])
             for t in session.exec(select(TeamCalendar)).all() if t.calendar_id in calendars}
    return teams, (clock_of(default) if default is not None else None)


def any_calendar(session: Session) -> bool:
    """Return whether any step may be timed on a calendar (else the sweep stays all in SQL)."""
    return session.exec(select(sa.func.count()).select_from(BusinessCalendar)).one() > 0


def list_calendars(session: Session) -> list[BusinessCalendar]:
    return list(session.exec(select(BusinessCalendar).order_by(BusinessCalendar.name)).all())


def get_calendar(session: Session, calendar_id: int) -> BusinessCalendar:
    calendar = session.get(BusinessCalendar, calendar_id)
    if calendar is None:
        raise NotFound(f"No calendar {calendar_id}")
    return calendar


def assignments(session: Session) -> list[TeamCalendar]:
    return list(session.exec(select(TeamCalendar).order_by(TeamCalendar.team)).all())


def known_teams(session: Session) -> list[str]:
    """Teams that work steps or that people belong to, for the assignment form."""
    names = set(session.exec(select(WorkItem.team).where(WorkItem.team.is_not(None))
                             .distinct()).all())
    for teams in session.exec(select(User.teams)).all():
        names.update(t.strip() for t in (teams or "").split(",") if t.strip())
    return sorted(names)


def _check(session: Session, calendar_id: int | None, *, name: str, timezone: str,
           country: str, subdivision: str, hours: dict[str, tuple[str, str]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip() or len(name.strip()) > 100:
        errors["name"] = "Give the calendar a name of 1 to 100 characters"
    elif session.exec(select(BusinessCalendar.id).where(
            BusinessCalendar.name == name.strip(), BusinessCalendar.id != (calendar_id or 0))).first():
        errors["name"] = f"A calendar named {name.strip()!r} exists already"
    try:
        if timezone not in available_timezones():
            raise ZoneInfoNotFoundError(timezone)
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = f"Unknown time zone {timezone!r}; write it like Europe/Berlin"
    supported = holidays.list_supported_countries()
    if country and country not in supported:
        errors["country"] = (f"No public holidays known for {country!r}; use a two-letter country "
                             "code such as DE, GB or US, or leave it empty")
    elif subdivision and not country:
        errors["subdivision"] = "Choose the country of the subdivision"
    elif subdivision and subdivision not in supported[country]:
        errors["subdivision"] = (f"{country} has no subdivision {subdivision!r}; choose one of "
                                 f"{', '.join(supported[country][:40])}")
    for day, (opens, closes) in hours.items():
        if bool(opens) != bool(closes):
            errors[f"{day}_open"] = f"{DAY_NAMES[WEEKDAYS.index(day)]}: give both times, or neither"
            continue
        try:
            if opens and time.fromisoformat(closes) <= time.fromisoformat(opens):
                errors[f"{day}_open"] = (f"{DAY_NAMES[WEEKDAYS.index(day)]}: closing time must be "
                                         "after the opening time")
        except ValueError:
            errors[f"{day}_open"] = f"{DAY_NAMES[WEEKDAYS.index(day)]}: write times as 08:00"
    if not errors and not any(o for o, _ in hours.values()):
        errors["mon_open"] = "A calendar needs at least one working day"
    return errors


def save_calendar(session: Session, *, actor: str, now: datetime, calendar_id: int | None = None,
                  name: str, timezone: str, country: str = "", subdivision: str = "",
                  hours: dict[str, tuple[str, str]], is_default: bool = False) -> BusinessCalendar:
    """Create or change a calendar; marking it the default unmarks the old one. Commit once."""
    hours = {d: (hours.get(d, ("", ""))[0].strip(), hours.get(d, ("", ""))[1].strip())
             for d in WEEKDAYS}
    country, subdivision = country.strip().upper(), subdivision.strip().upper()
    errors = _check(session, calendar_id, name=name, timezone=timezone.strip(), country=country,
                    subdivision=subdivision, hours=hours)
    if errors:
        raise InvalidInput(errors)
    calendar = get_calendar(session, calendar_id) if calendar_id else BusinessCalendar(
        name="", timezone="", hours="", updated_by=actor, updated_at=now)
    if is_default:  # before this calendar is flushed as the default, so it is not unmarked too
        with session.no_autoflush:
            session.execute(sa.update(BusinessCalendar).where(
                BusinessCalendar.is_default == sa.true(),
                BusinessCalendar.id != (calendar_id or 0)).values(is_default=False))
    calendar.name, calendar.timezone = name.strip(), timezone.strip()
    calendar.country, calendar.subdivision = country or None, subdivision or None
    calendar.hours = format_hours(parse_hours(",".join(f"{o}-{c}" if o else "" for o, c in
                                                       hours.values())))
    calendar.is_default, calendar.updated_by, calendar.updated_at = is_default, actor, now
    session.add(calendar)
    done = "changed" if calendar_id else "added"
    schedule_retime(session, now=now, actor=actor, why=f"the calendar “{calendar.name}” was {done}")
    _commit(session)
    session.refresh(calendar)
    return calendar


def delete_calendar(session: Session, *, actor: str, now: datetime, calendar_id: int) -> None:
    """Remove a calendar; its teams fall back to the default calendar. Commit once."""
    calendar = get_calendar(session, calendar_id)
    session.execute(sa.delete(TeamCalendar).where(TeamCalendar.calendar_id == calendar.id))
    session.delete(calendar)
    schedule_retime(session, now=now, actor=actor,
                    why=f"the calendar “{calendar.name}” was removed")
    _commit(session)


def assign_team(session: Session, *, actor: str, now: datetime, team: str,
                calendar_id: int | None) -> None:
    """Time a team's steps on a calendar (None: back to the default). Commit once."""
    team = " ".join(team.split())
    if not team or len(team) > 255:
        raise InvalidInput({"team": "Name the team (1 to 255 characters)"})
    if calendar_id is not None:
        get_calendar(session, calendar_id)
    session.execute(sa.delete(TeamCalendar).where(TeamCalendar.team == team))
    if calendar_id is not None:
        session.add(TeamCalendar(team=team, calendar_id=calendar_id))
    schedule_retime(session, now=now, actor=actor,
                    why=f"{team} moved to another calendar")
    _commit(session)


def schedule_retime(session: Session, *, now: datetime, actor: str, why: str) -> None:
    """Have the job executor re-time open steps on the calendars as they now are, in the
    calendar change's transaction (session.add only); a change while a run is under way starts
    it again from the first case."""
    jobs.schedule(session, kind=RETIME_KIND, key=RETIME_KEY, due_at=now, now=now,
                  payload={"why": why, "by": actor, "after": 0, "moved": 0})


def retime_pending(session: Session) -> bool:
    """Whether open steps are still being re-timed after a calendar change."""
    return session.exec(select(Job.id).where(Job.key == RETIME_KEY,
                                             Job.state == "pending")).first() is not None


def _commit(session: Session) -> None:
    try:
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict("Someone else changed the calendars meanwhile; reload and retry") from None


def upcoming_holidays(calendar: BusinessCalendar, today: date, count: int = 5
                      ) -> list[tuple[date, str]]:
    """Return the next public holidays of a calendar, for the admin page."""
    if not calendar.country:
        return []
    found = _public_holidays(calendar.country, calendar.subdivision)
    days = (today + timedelta(days=n) for n in range(400))
    return [(d, found.get(d)) for d in days if d in found][:count]


def hours_by_day(calendar: BusinessCalendar) -> dict[str, tuple[str, str]]:
    """Return a calendar's hours as {weekday: (opens, closes)}, '' when closed."""
    return {d: (f"{h[0]:%H:%M}", f"{h[1]:%H:%M}") if h else ("", "")
            for d, h in zip(WEEKDAYS, parse_hours(calendar.hours))}
