"""A lean HTTP/1.1 client for bench/http.py's load phases: keep-alive connections on asyncio
streams, a request written in one piece, an answer read by Content-Length (or chunks).

Why not httpx: on this 2-core machine the load generator shares the cores with the server it
measures, and httpx's machinery cost 7 ms of CPU per GET + complete in the closed loop and over
30 ms in the open loop (more connections, more bookkeeping) — more than the server's own work,
taken from the server. This client does what wrk-style generators do and no more (no redirects,
no cookies, no TLS, no HTTP/2), for about a tenth of that.
"""
from __future__ import annotations

import asyncio
import json
from json import dumps as _dumps  # `post` takes `json=` like httpx, which hides the module
import time
from typing import Any


class ClientError(Exception):
    """The connection failed or closed before a whole answer came (not an HTTP status)."""


class Answer:
    __slots__ = ("status_code", "content")

    def __init__(self, status_code: int, content: bytes):
        self.status_code, self.content = status_code, content

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class _Connection:
    __slots__ = ("reader", "writer", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer, self.idle_since = reader, writer, time.monotonic()

    def close(self) -> None:
        self.writer.close()


class LeanClient:
    """GET and POST (JSON) against one host, with a pool of keep-alive connections.

    Idle connections are forgotten after `keepalive` seconds, before the server closes them
    (uvicorn does after 5 s): a request is never sent on a connection the server is closing.
    """

    def __init__(self, base: str, headers: dict[str, str], *, keepalive: float = 3.0):
        host_port = base.removeprefix("http://").rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.keepalive = keepalive
        self._idle: list[_Connection] = []
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._head = f"Host: {host_port}\r\n{extra}".encode("latin-1")

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since < self.keepalive:
                return conn
            conn.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Connection(reader, writer)

    async def get(self, path: str) -> Answer:
        return await self._send(f"GET {path} HTTP/1.1\r\n".encode("latin-1") + self._head
                                + b"\r\n")

    async def post(self, path: str, json: Any) -> Answer:
        body = _dumps(json, separators=(",", ":")).encode("utf-8")
        return await self._send(
            f"POST {path} HTTP/1.1\r\n".encode("latin-1") + self._head
            + b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode("ascii") + b"\r\n\r\n" + body)

    async def _send(self, request: bytes) -> Answer:
        conn = await self._connection()
        try:
            conn.writer.write(request)
            head = await conn.reader.readuntil(b"\r\n\r\n")
            status, length, chunked, close = _parse_head(head)
            if chunked:
                content = await _read_chunks(conn.reader)
            else:
                content = await conn.reader.readexactly(length) if length else b""
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
            conn.close()
            raise ClientError(type(err).__name__) from None
        if close:
            conn.close()
        else:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        return Answer(status, content)

    async def aclose(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


def _parse_head(head: bytes) -> tuple[int, int, bool, bool]:
    """Status, Content-Length, whether the body is chunked, whether the server closes."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    return status, length, chunked, close


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def run(main) -> Any:
    """asyncio.run on uvloop when it is installed (uvicorn[standard] brings it), else asyncio's
    own loop: the generator's share of the two cores is smaller on uvloop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
