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
    try:
        found = _walk(value, set())
    except RecursionError:
        return f"{where} is nested too deeply"
    if found is None:
        return None
    keys, message = found
    return f"{where}{''.join(f'[{k!r}]' for k in reversed(keys))} {message}"


def _walk(item: Any, open_ids: set[int]) -> tuple[list, str] | None:
    """Return (keys from the innermost outwards, what is wrong) for the first bad value found."""
    kind = type(item)
    if kind in _SCALARS:
        return None
    if kind not in (list, tuple, dict):
        return [], f"holds a {kind.__name__}, which cannot be kept in case data"
    if id(item) in open_ids:
        return [], "contains itself"
    open_ids.add(id(item))
    for key, value in (item.items() if kind is dict else enumerate(item)):
        if kind is dict and type(key) not in _SCALARS:
            return [], f"has a key of type {type(key).__name__}"
        if type(value) in _SCALARS:
            continue
        found = _walk(value, open_ids)
        if found is not None:
            found[0].append(key)
            return found
    open_ids.discard(id(item))
    return None
