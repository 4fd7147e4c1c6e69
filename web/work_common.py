"""Helpers shared by the agent's workspace routes (web/work*.py): roles, clock, errors, rendering."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from cases.case_view import PRIORITIES, humanize
from cases.errors import CaseError, Conflict, Forbidden, InvalidInput, NotFound
from cases.users import User
from engine.clock import utcnow

from .inputs import int_in_range, year_problem
from .security import require_role

WORK_ROLES = ("agent", "supervisor")  # admin always passes require_role
WorkUser = Annotated[User, Depends(require_role(*WORK_ROLES))]
SupervisorUser = Annotated[User, Depends(require_role("supervisor"))]


def now() -> datetime:
    """The time of this request (one place, so the clock is easy to follow)."""
    return utcnow()


def settings(request: Request):
    return request.app.state.settings


def is_htmx(request: Request) -> bool:
    """Whether htmx asked for a fragment (and not a boosted whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render(request: Request, name: str, context: dict, status_code: int = 200):
    return request.app.state.templates.TemplateResponse(request, name, context,
                                                        status_code=status_code)


def status_for(err: CaseError) -> int:
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, Forbidden):
        return 403
    if isinstance(err, Conflict):
        return 409
    return 400


def fail(err: CaseError) -> HTTPException:
    """The HTTP answer for a refusal of the case layer (the message is for the person)."""
    return HTTPException(status_code=status_for(err), detail=str(err))


def safe_back(target: str | None, default: str) -> str:
    """Only redirect to local paths (no open redirect)."""
    if not target or urlparse(target).netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session["flash"] = {"message": message, "kind": kind}


def pop_flash(request: Request) -> dict | None:
    return request.session.pop("flash", None)


def parse_local_datetime(text: str | None, field: str, *, required: bool = False,
                         submitted: dict | None = None) -> datetime | None:
    """Read an <input type=datetime-local> value as UTC; raise InvalidInput naming the field."""
    text = (text or "").strip()
    if not text:
        if required:
            raise InvalidInput({field: "Enter a date and time"}, submitted)
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput({field: "Enter a date and time like 2026-03-02T09:30"}, submitted) from None
    if problem := year_problem(value):
        raise InvalidInput({field: problem}, submitted)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_input(value: datetime | None) -> str:
    """A datetime as the value of an <input type=datetime-local> (UTC)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC")


def register_filters(templates) -> None:
    """Jinja filters the workspace templates use (idempotent)."""
    env = templates.env
    if "when" in env.filters:
        return
    env.filters["when"] = fmt_time
    env.filters["local_input"] = local_input
    env.filters["priority"] = lambda p: PRIORITIES.get(p, str(p))
    env.filters["humanize"] = humanize
    env.filters["human"] = lambda s: str(s or "").replace("_", " ")
    env.filters["sentence"] = sentence


def sentence(text: Any) -> str:
    """Text as the end of a sentence: one full stop, not two ("case 86." stays, "case 86" gains one)."""
    text = str(text or "").rstrip()
    return text if not text or text[-1] in ".!?…" else text + "."


def int_or_none(value: Any) -> int | None:
    """A form's id or number, or None when it is missing, not a number or past the columns."""
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and int_in_range(number) else None
