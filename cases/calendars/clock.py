"""Working time: how a duration is counted on a business calendar (pure; no database).

The rule (README "Business calendars"): a duration counts only working time, in two parts.
- Whole days (each 24 hours of it, so PT24H = P1D = one day) are **working days**: the moment
  moves to the same point of the Nth next working day. "The same point" is the share of that
  day's working hours already used, so a day of 08:00-18:00 and a Saturday of 09:00-13:00 line up.
- What is left below a day counts **working hours**, day after day, from that point.
A moment outside working hours (evening, weekend, holiday, before opening) counts as the close
of the last working day before it. So a PT24H step opened on Friday at 18:00 (or 20:00, or on
Saturday) on a Monday-Friday 08:00-18:00 calendar is due on Monday at 18:00; opened on Friday at
10:00 it is due on Monday at 10:00; PT4H from Friday 17:00 is due on Monday at 11:00.

Hours are local to the calendar's time zone; all arithmetic is done in UTC, so a day that
changes to or from summer time has its true length.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Container, Iterator
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SEARCH_DAYS = 3660  # a calendar with no working day in ten years is refused, not looped over


class NoWorkingTime(ValueError):
    """The calendar has no working day to count on."""


@dataclass(frozen=True)
class WorkingClock:
    """A calendar ready to count: time zone, hours per weekday (Monday first), closed dates."""

    tz: ZoneInfo
    hours: tuple[tuple[time, time] | None, ...]
    closed: Container[date] = frozenset()
    # day -> window, filled as days are asked about (the sweep asks about the same days a lot)
    _windows: dict = field(default_factory=dict, compare=False, repr=False)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """Return the working window of a local day in UTC, or None when closed that day."""
        if day in self._windows:
            return self._windows[day]
        opening = self.hours[day.weekday()]
        found = None
        if opening is not None and day not in self.closed:
            found = (datetime.combine(day, opening[0], tzinfo=self.tz).astimezone(timezone.utc),
                     datetime.combine(day, opening[1], tzinfo=self.tz).astimezone(timezone.utc))
        if len(self._windows) < 20000:  # about fifty years of days: never grows without bound
            self._windows[day] = found
        return found

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _working_days(self, first: date, step: int) -> Iterator[tuple[date, tuple[datetime, datetime]]]:
        day = first
        for _ in range(MAX_SEARCH_DAYS):
            window = self.window(day)
            if window is not None:
                yield day, window
            day += DAY * step
        raise NoWorkingTime("The calendar has no working day within ten years")

    def position(self, moment: datetime) -> tuple[date, float]:
        """Return (working day, share of its hours used) of a moment; outside hours, the close
        of the working day before."""
        moment = _utc(moment)
        for day, (start, end) in self._working_days(self._local_day(moment), -1):
            if moment >= end:
                return day, 1.0
            if moment >= start:
                return day, (moment - start) / (end - start)
        raise NoWorkingTime("unreachable")  # pragma: no cover

    def add_days(self, moment: datetime, days: int) -> datetime:
        """Move a moment to the same point of the `days`-th next working day."""
        day, share = self.position(_utc(moment))
        if days == 0:
            start, end = self.window(day)
            return start + (end - start) * share
        working = self._working_days(day + DAY, 1)
        for _ in range(days):
            day, (start, end) = next(working)
        return start + (end - start) * share

    def add_hours(self, moment: datetime, amount: timedelta) -> datetime:
        """Add working time to a moment, day after day."""
        left, moment = amount, _utc(moment)
        for _, (start, end) in self._working_days(self._local_day(moment), 1):
            if end <= moment:
                continue
            current = max(start, moment)
            if left <= end - current:
                return current + left
            left -= end - current
        raise NoWorkingTime("unreachable")  # pragma: no cover

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """Return when a duration started at `moment` ends (whole days as working days, the rest
        as working hours)."""
        days, rest = divmod(duration, DAY)
        moved = self.add_days(moment, int(days))
        return self.add_hours(moved, rest) if rest else moved

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """Return the working time between two moments."""
        total, start, end = timedelta(0), _utc(start), _utc(end)
        if end <= start:
            return total
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            window = self.window(day)
            if window is not None:
                overlap = min(end, window[1]) - max(start, window[0])
                total += max(overlap, timedelta(0))
            day += DAY
        return total

    def at_risk_at(self, start: datetime, target: datetime, share: float) -> datetime:
        """Return when `share` of the working time from start to target is used."""
        used = self.working_between(start, target) * share
        return min(self.add_hours(start, used), target) if used else min(start, target)

    def state_at(self, start: datetime, target: datetime, now: datetime, share: float) -> str:
        """'breached', 'at_risk' or 'on_time' of a target at `now`, counting working time."""
        if target <= now:
            return "breached"
        return "at_risk" if self.at_risk_at(start, target, share) <= now else "on_time"


def _utc(moment: datetime) -> datetime:
    # subtracting two datetimes of one zone ignores a change of offset between them: count in UTC
    return moment.astimezone(timezone.utc)


def parse_hours(text: str) -> tuple[tuple[time, time] | None, ...]:
    """Read stored hours: seven comma-separated 'HH:MM-HH:MM' entries, Monday first, '' = closed."""
    parts = text.split(",")
    if len(parts) != 7:
        raise ValueError("Working hours need seven entries, Monday to Sunday")
    out: list[tuple[time, time] | None] = []
    for name, part in zip(WEEKDAYS, parts):
        part = part.strip()
        if not part:
            out.append(None)
            continue
        try:
            opens, closes = (time.fromisoformat(p.strip()) for p in part.split("-"))
        except ValueError:
            raise ValueError(f"{name}: write the hours as 08:00-18:00, not {part!r}") from None
        if closes <= opens:
            raise ValueError(f"{name}: the closing time {closes:%H:%M} must be after the opening "
                             f"time {opens:%H:%M}")
        out.append((opens, closes))
    if not any(out):
        raise ValueError("A calendar needs at least one working day")
    return tuple(out)


def format_hours(hours: tuple[tuple[time, time] | None, ...]) -> str:
    """Write hours the way parse_hours reads them."""
    return ",".join(f"{h[0]:%H:%M}-{h[1]:%H:%M}" if h else "" for h in hours)

