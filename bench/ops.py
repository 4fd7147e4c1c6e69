"""What the operator's view costs per request: the request middleware (web/ops) around a bare
ASGI endpoint, CPU time per request with the request log off, on as JSON lines, and on as plain
text (both written to /dev/null).

    .venv/bin/python bench/ops.py

Prints microseconds of CPU per request, medians of interleaved rounds (other processes on the
machine load all variants alike).
"""
from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import time
from pathlib import Path

# The repository first, not bench/: bench/http.py would hide the standard library's http.
sys.path[0] = str(Path(__file__).resolve().parents[1])
os.environ.setdefault("CASEFLOW_AUDIT_KEY", "bench-audit-key-0123456789abcdef0123456789")

from fastapi import FastAPI  # noqa: E402
from starlette.routing import Route  # noqa: E402

from cases.logs import JsonFormatter, PlainFormatter  # noqa: E402
from web.ops.middleware import RequestObserver  # noqa: E402

N, ROUNDS = 5_000, 7
fastapi_app = FastAPI()
ROUTE = Route("/api/cases/{case_id}", lambda request: None)


async def endpoint(scope, receive, send):
    scope["route"] = ROUTE
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _send(message):
    return None


async def _receive():
    return {"type": "http.request", "body": b""}


def _scope():
    return {"type": "http", "method": "GET", "path": "/api/cases/7", "app": fastapi_app,
            "headers": [(b"host", b"bench")], "state": {}}


async def _run(app, n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        await app(_scope(), _receive, _send)
    return (time.process_time() - started) / n * 1e6


def _logging(formatter: logging.Formatter | None) -> None:
    log = logging.getLogger("caseflow.request")
    log.handlers.clear()
    log.propagate = False
    if formatter is None:
        log.setLevel(logging.WARNING)
        return
    handler = logging.StreamHandler(open(os.devnull, "w"))
    handler.setFormatter(formatter)
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def main() -> None:
    observed = RequestObserver(endpoint)
    variants = {"bare endpoint": (endpoint, None),
                "+ middleware, log off": (observed, None),
                "+ middleware, JSON log": (observed, JsonFormatter()),
                "+ middleware, plain log": (observed, PlainFormatter())}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, (app, formatter) in variants.items():
            _logging(formatter)
            times[name].append(asyncio.run(_run(app, N)))
    bare = statistics.median(times["bare endpoint"])
    print(f"CPU per request, median of {ROUNDS} rounds of {N:,}:")
    for name, values in times.items():
        median = statistics.median(values)
        extra = "" if name == "bare endpoint" else f"  (+{median - bare:.1f} µs)"
        print(f"  {name:26} {median:7.1f} µs{extra}")


if __name__ == "__main__":
    main()
