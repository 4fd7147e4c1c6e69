"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that keeps every message it receives."""
from __future__ import annotations

import socket
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Keep:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 - aiosmtpd's name
        self.server.received.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """Start with `start()`, read `received` (recipients, message), stop with `stop()`."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list = []
        self._controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def env(self) -> dict[str, str]:
        """The CASEFLOW_SMTP_* settings that point Caseflow at this server."""
        return {"CASEFLOW_SMTP_HOST": "127.0.0.1", "CASEFLOW_SMTP_PORT": str(self.port),
                "CASEFLOW_SMTP_STARTTLS": "false", "CASEFLOW_SMTP_FROM": "caseflow@example.com"}
