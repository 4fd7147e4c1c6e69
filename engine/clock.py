"""An injectable clock for timers: SpiffWorkflow reads datetime.now() inside its timer module.

`engine_time(now)` makes every timer evaluation in the current context see `now`; outside of it
the real time is used. The replacement is installed once and is safe across threads because the
override lives in a context variable.
"""
from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timezone
from typing import Iterator

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

_NOW: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("caseflow_now", default=None)


class _EngineDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        fixed = _NOW.get()
        if fixed is None:
            return datetime.now(tz)
        return fixed.astimezone(tz) if tz is not None else fixed.replace(tzinfo=None)


def _install() -> None:
    if _timer_module.datetime is not _EngineDatetime:
        _timer_module.datetime = _EngineDatetime


_install()


def utcnow() -> datetime:
    """Return the aware current time in UTC."""
    return datetime.now(timezone.utc)


@contextlib.contextmanager
def engine_time(now: datetime | None) -> Iterator[None]:
    """Run engine work as if the time were `now` (aware datetime); None means real time."""
    if now is not None and now.tzinfo is None:
        raise ValueError("engine_time needs a timezone-aware datetime")
    token = _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(token)
