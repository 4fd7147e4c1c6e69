"""Benchmark: what a business calendar costs the SLA sweep, per open timed step.

Without calendars the sweep picks the steps at risk in one SQL query; with calendars it reads
the open timed steps and decides each on its team's working clock in Python
(cases/sla_sweep.py). This times that decision, and the due time a new step gets, on a
Monday-Friday 08:00-18:00 Berlin calendar with Berlin's public holidays, against plain hours.
Prints microseconds per step and the ratios, measured in one run.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

# The repository first, not bench/: bench/http.py would hide the standard library's http.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from cases.calendars.clock import WorkingClock, parse_hours  # noqa: E402
from cases.calendars.service import _public_holidays  # noqa: E402
from cases.sla_sweep import _state_at  # noqa: E402

STEPS = 20_000
SHARE = 0.8


def _per_step(fn, items) -> float:
    began = time.perf_counter()
    for item in items:
        fn(*item)
    return (time.perf_counter() - began) / len(items) * 1e6


def main() -> None:
    clock = WorkingClock(ZoneInfo("Europe/Berlin"), parse_hours("08:00-18:00," * 5 + ","),
                         _public_holidays("DE", "BE"))
    start = datetime(2026, 12, 1, 7, tzinfo=timezone.utc)
    opened = [start + timedelta(minutes=3 * i) for i in range(STEPS)]  # six weeks of openings
    target = timedelta(hours=24)
    plain_due = _per_step(lambda t: t + target, [(t,) for t in opened])
    calendar_due = _per_step(lambda t: clock.add(t, target), [(t,) for t in opened])
    now = start + timedelta(days=21)
    pairs = [(t, clock.add(t, target)) for t in opened]
    plain_state = _per_step(lambda s, d: _state_at(s, s + target, now, SHARE), pairs)
    calendar_state = _per_step(lambda s, d: clock.state_at(s, d, now, SHARE), pairs)
    print(f"{STEPS} steps opened every 3 minutes over six weeks, PT24H targets")
    print(f"due time of a new step: plain {plain_due:.2f} us, calendar {calendar_due:.1f} us "
          f"({calendar_due / plain_due:.0f}x)")
    print(f"sweep decision per open step: plain {plain_state:.2f} us, calendar "
          f"{calendar_state:.1f} us ({calendar_state / plain_state:.0f}x); "
          f"{STEPS} open steps: {calendar_state * STEPS / 1e6:.2f} s per sweep")


if __name__ == "__main__":
    main()
