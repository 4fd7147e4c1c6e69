"""Log lines for operators: one JSON object a line (the default of `caseflow serve`), or plain text.

`logging_config(format, level)` is a dictConfig that `caseflow serve` hands to uvicorn (so every
worker process applies it) and `caseflow worker` applies itself. A JSON line holds `time`,
`level`, `logger`, `message`, the request id when there is one, and the fields a call passes
in `extra` (the request log: method, route, status, duration_ms, user).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from .correlation import current_request_id

# Attributes every LogRecord has; anything else on a record came from `extra=` (uvicorn's
# color_message repeats the message with terminal colours).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; exceptions as one `error` string, never a multi-line dump."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc)
                .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname.lower(), "logger": record.name,
                "message": record.getMessage()}
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """Time, level, logger and message, with the request id in brackets when there is one."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None) or current_request_id()
        return f"{text} [{request_id}]" if request_id else text


def logging_config(fmt: str = "json", level: str = "info") -> dict:
    """A logging.config.dictConfig for servers and workers: everything to stderr in one format."""
    formatter = "cases.logs.JsonFormatter" if fmt == "json" else "cases.logs.PlainFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"caseflow": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "caseflow",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # uvicorn's own loggers go through the same handler; its access log is replaced by
        # Caseflow's request log (web/observability.py), which knows the route and the user.
        "loggers": {"uvicorn": {"handlers": [], "propagate": True},
                    "uvicorn.error": {"handlers": [], "propagate": True},
                    "uvicorn.access": {"handlers": [], "propagate": False}},
    }
