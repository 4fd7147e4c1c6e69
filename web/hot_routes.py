"""The JSON API's two hot routes, GET a case and complete a step, answered without FastAPI's
routing and per-request dependency solving.

An integrator's loop is "GET the case, complete its next step", and on the two-core machine of
issue 15 FastAPI's share of that loop (trying routes one by one, solving the path, security and
body parameters, wrapping the endpoint) cost about a tenth of the server's CPU per cycle. This
innermost middleware recognises exactly those two addresses, checks the body as FastAPI would
(`json.loads`, then `Completion.model_validate`), and calls the same work functions through the
same `api_call` (session, caller, work, one worker thread). Refusals are answered by the app's
own exception handlers, so every status and body is the one the route would send.

Anything else passes through untouched, and so does anything unusual about these two: another
method, an id FastAPI would refuse or spell differently (0, leading zeros, ten digits), a body
that is not JSON or does not validate (FastAPI then answers its 422, from the body replayed).
The routes stay registered, so the OpenAPI document and the route labels of the request log and
metrics are unchanged. tests/web/test_hot_routes.py compares both ways, answer for answer.
"""
from __future__ import annotations

import inspect
import json
import re

from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from . import api
from .api_models import Completion
from .ops.middleware import routes_with_paths
from .security import api_call

_GET = re.compile(r"/api/cases/([1-9][0-9]{0,8})")
_COMPLETE = re.compile(r"/api/cases/([1-9][0-9]{0,8})/work-items/([1-9][0-9]{0,8})/complete")
_JSON = (b"application/json", b"application/json; charset=utf-8")


class HotRoutes:
    """Pure ASGI middleware; add it first, so that it runs inside every other middleware."""

    def __init__(self, app):
        self.app = app
        self.routes: dict[str, APIRoute] | None = None  # found on the first request

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/api/cases/"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method == "GET" and (found := _GET.fullmatch(path)):
            key, args = "get", (api.case_answer_of, int(found[1]))
        elif method == "POST" and (found := _COMPLETE.fullmatch(path)) and _is_json(scope):
            body = await _read_body(receive)
            completion = _completion(body)
            if completion is None:  # FastAPI answers what is wrong with it
                await self.app(scope, _replay(body), send)
                return
            key, args = "complete", (api.completion_answer, int(found[1]), int(found[2]),
                                 completion)
        else:
            await self.app(scope, receive, send)
            return
        route = (self.routes or self._find(scope["app"]))[key]
        scope["route"], scope["endpoint"] = route, route.endpoint  # for the log and metrics
        scope["path_params"] = dict(zip(route.param_convertors, map(int, found.groups())))
        request = Request(scope, receive)
        try:
            response = await api_call(request, *args)
        except Exception as exc:
            handler = _handler(scope["app"], exc)
            if handler is None:
                raise
            response = (await handler(request, exc) if inspect.iscoroutinefunction(handler)
                        else await run_in_threadpool(handler, request, exc))
        await response(scope, receive, send)

    def _find(self, app) -> dict[str, APIRoute]:
        wanted = {"get": ("/api/cases/{case_id}", "GET"),
                  "complete": ("/api/cases/{case_id}/work-items/{item_id}/complete", "POST")}
        self.routes = {key: next(route for route, full in routes_with_paths(app)
                                 if isinstance(route, APIRoute) and full == path
                                 and method in route.methods)
                       for key, (path, method) in wanted.items()}
        return self.routes


def _is_json(scope) -> bool:
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    return content_type.lower() in _JSON


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _completion(body: bytes) -> Completion | None:
    """The body as FastAPI would take it (json.loads, then the model), or None if it would not."""
    try:
        return Completion.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


def _handler(app, exc: Exception):
    """The app's exception handler for `exc` (as Starlette's ExceptionMiddleware looks it up)."""
    for cls in type(exc).__mro__:
        if cls in app.exception_handlers:
            return app.exception_handlers[cls]
    return None
