"""One pure ASGI middleware per request: the request id, the request log line, the latency metric.

The id comes from the caller's X-Request-ID when it is a sane token (a proxy or a CRM may set
one), otherwise a new one; it goes back in X-Request-ID, into the log line, onto error pages and
into the audit events written while the request runs (cases/correlation.py, cases/events.py).
The route is the template (`/api/cases/{case_id}`), never the raw path, so the metric's labels
stay few. Cost per request: a perf_counter pair, a histogram and a counter update, and one log
line when info logging is on (a few tens of microseconds).
"""
from __future__ import annotations

import logging
import re
import uuid
from time import perf_counter

from cases.correlation import reset_request_id, set_request_id

from .metrics import observe_request

log = logging.getLogger("caseflow.request")
_SANE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")
UNMATCHED = "<unmatched>"


def routes_with_paths(app) -> list[tuple[object, str]]:
    """Every route with its full path template (with the prefix it was included under).

    FastAPI 0.16x keeps included routers nested, so the route that answered knows only its own
    part (`/ready`); older versions copy each route with the prefix already in its path.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [(r, r.path) for r in app.routes if getattr(r, "path", None)]
    return [(ctx.original_route, ctx.path) for ctx in iter_route_contexts(app.routes)
            if ctx.path]


def full_paths(app) -> dict[int, str]:
    """Route object id -> its full path template (see routes_with_paths)."""
    return {id(route): path for route, path in routes_with_paths(app)}


def route_of(scope, paths: dict[int, str]) -> str:
    """The route template that answered (a mount's prefix for static files), or <unmatched>."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    return paths.get(id(route)) or getattr(route, "path", None) or UNMATCHED


class RequestObserver:
    """Gives each HTTP request its id, then measures and logs it once it has been answered."""

    def __init__(self, app):
        self.app = app
        self.paths: dict[int, str] | None = None  # filled on the first request, routes complete

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        request_id = sent.decode() if _SANE_ID.fullmatch(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        status = 500  # unless the app answers: an exception escaping it becomes a 500 page

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = set_request_id(request_id)
        started = perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = perf_counter() - started
            reset_request_id(token)
            if self.paths is None:
                self.paths = full_paths(scope["app"])
            route = route_of(scope, self.paths)
            observe_request(scope["method"], route, status, seconds)
            if log.isEnabledFor(logging.INFO):
                user = scope["state"].get("user")
                log.info("%s %s %s", scope["method"], route, status, extra={
                    "method": scope["method"], "route": route, "path": scope["path"],
                    "status": status, "duration_ms": round(seconds * 1000, 2),
                    "request_id": request_id, "user": user})
