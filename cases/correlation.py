"""The id of the request being served, for log lines and the audit events written during it.

The web layer sets it once per request (web/observability.py); the job executor and the command
line leave it unset. A context variable follows the request into the worker thread a sync route
runs in, so services read it without it being passed down.
"""
from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("caseflow_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the HTTP request this code runs for, or None outside one."""
    return _request_id.get()


def set_request_id(value: str | None):
    """Set the request id for the current context; returns the token to reset it with."""
    return _request_id.set(value)


def reset_request_id(token) -> None:
    """Restore the request id that was set before `set_request_id` returned `token`."""
    _request_id.reset(token)
