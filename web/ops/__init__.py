"""What an operator sees of a running Caseflow: probes, metrics, request ids and request logs.

`install(app)` is called by web.app.create_app: the request middleware (outermost, so it sees
every answer), /api/ready, /metrics, and the answer to an unexpected failure (a 500 page or
JSON naming the request id, and the traceback in the log under that id).
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request

from . import metrics, probes
from .middleware import RequestObserver

log = logging.getLogger("caseflow.web")
FAILED = ("Something went wrong on Caseflow's side. If it happens again, give your "
          "administrator the request id {request_id}.")


def install(app: FastAPI) -> None:
    """Add the request middleware, the probes, /metrics and the 500 answer to the app."""
    metrics.count_committed_events()
    app.include_router(probes.router, prefix="/api")
    app.include_router(metrics.router)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RequestObserver)


def _unexpected(request: Request, err: Exception):
    """A 500 that names the request id (the log line with the traceback carries it too)."""
    from web import refusals

    request_id = getattr(request.state, "request_id", None) or "-"
    log.error("unexpected error answering %s %s", request.method, request.url.path,
              exc_info=err, extra={"request_id": request_id})
    answer = refusals.refuse(request, 500, FAILED.format(request_id=request_id))
    answer.headers["X-Request-ID"] = request_id
    return answer
