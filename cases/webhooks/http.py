"""One webhook POST over the standard library's http.client: to the address `urls.check` just
approved (so a name re-pointed between check and connect cannot redirect it), with short
timeouts, and never following a redirect (a 3xx answer is a failed attempt)."""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from ..errors import InvalidInput
from . import urls

EXCERPT = 500


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code and the start of the body, or an error."""

    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> Outcome:
    """POST `body` to `url` once, after checking where it leads; never raise."""
    started = time.monotonic()
    try:
        scheme, host, port, address = urls.check(url)
        kind = _PinnedTLS if scheme == "https" else _Pinned
        conn = kind(host, port, str(address), timeout)
        try:
            conn.request("POST", _target(url), body=body, headers=dict(headers))
            answer = conn.getresponse()
            text = answer.read(EXCERPT * 4).decode("utf-8", "replace")[:EXCERPT]
            status = answer.status
        finally:
            conn.close()
    except Exception as err:  # noqa: BLE001 - any failure is one failed attempt, told in words
        return Outcome(None, None, _describe(err), _ms(started))
    error = None
    if 300 <= status < 400:
        error = f"answered {status} (a redirect); webhooks never follow redirects"
    elif not 200 <= status < 300:
        error = f"answered {status}"
    return Outcome(status, text, error, _ms(started))


def _target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(err: Exception) -> str:
    if isinstance(err, InvalidInput):
        return "; ".join(err.errors.values())
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
