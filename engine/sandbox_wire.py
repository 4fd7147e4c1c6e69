"""What crosses between the server and a script worker: framed messages and plain data.

Messages are length-prefixed pickles on a pipe. The server reads and writes with a deadline, so a
worker that stalls mid-message cannot hold a server thread, and reads a worker's reply with an
unpickler that can build only containers, scalars, dates and decimals: a worker that model code
managed to take over still cannot make the server run anything.
"""
from __future__ import annotations

import io
import os
import pickle
import select
import struct
import time
from datetime import date, datetime, time as clock_time, timedelta, timezone
from decimal import Decimal
from typing import Any

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_DATA_ITEMS = 250_000  # per variable; also ends the walk over a list that contains itself
_HEADER = struct.Struct("!Q")
_SCALARS = frozenset({str, int, float, bool, type(None), datetime, date, clock_time, timedelta,
                      Decimal})
_CLASSES = {("datetime", cls.__name__): cls
            for cls in (datetime, date, clock_time, timedelta, timezone)}
_CLASSES[("decimal", "Decimal")] = Decimal


class MessageTooLarge(Exception):
    """A message is larger than MAX_MESSAGE_BYTES."""


def send(fd: int, payload: bytes, deadline: float | None) -> None:
    """Write one framed message, giving up with TimeoutError at `deadline` (monotonic)."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"{len(payload)} bytes")
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        _wait(fd, select.POLLOUT, deadline)
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[written:]


def recv(fd: int, deadline: float | None) -> bytes:
    """Read one framed message; EOFError when the other side is gone, TimeoutError at deadline."""
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"{size} bytes")
    return _read_exact(fd, size, deadline)


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, missing = [], size
    while missing:
        _wait(fd, select.POLLIN, deadline)
        try:
            chunk = os.read(fd, min(missing, 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _wait(fd: int, event: int, deadline: float | None) -> None:
    if deadline is None:
        return
    poller = select.poll()
    poller.register(fd, event)
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not poller.poll(remaining * 1000):
        raise TimeoutError


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        cls = _CLASSES.get((module, name))
        if cls is None:
            raise pickle.UnpicklingError(f"{module}.{name} may not cross from a script worker")
        return cls


def load_plain(payload: bytes) -> Any:
    """Unpickle a worker's reply, refusing every class but plain data types."""
    return _PlainUnpickler(io.BytesIO(payload)).load()


def plain_data_problem(value: Any, where: str) -> str | None:
    """Say why `value` cannot be kept in case data, or None when it is plain data."""
    stack, seen = [(value, None)], 0  # trail: (parent trail, key), rendered only for a message
    while stack:
        item, trail = stack.pop()
        seen += 1
        if seen > MAX_DATA_ITEMS:
            return f"{where} holds more than {MAX_DATA_ITEMS:,} values (or contains itself)"
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind in (list, tuple):
            stack.extend((v, (trail, i)) for i, v in enumerate(item))
        elif kind is dict:
            bad = next((k for k in item if type(k) not in _SCALARS), None)
            if bad is not None:
                return f"{_path(where, trail)} has a key of type {type(bad).__name__}"
            stack.extend((v, (trail, k)) for k, v in item.items())
        else:
            return (f"{_path(where, trail)} holds a {kind.__name__}, "
                    "which cannot be kept in case data")
    return None


def _path(where: str, trail) -> str:
    keys = []
    while trail is not None:
        trail, key = trail
        keys.append(f"[{key!r}]")
    return where + "".join(reversed(keys[-8:]))
