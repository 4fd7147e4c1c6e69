"""A pool of script worker processes, shared by all threads of one server process.

Workers are fresh interpreters started with subprocess (fork+exec, safe from a threaded parent),
lazily, up to `size`, and kept warm between jobs. A thread takes an idle worker (or waits for one),
sends it one job and waits for the reply until the job's wall-clock limit; a worker that overruns
is killed and replaced by a new one on a later job. Every server process (uvicorn workers, `caseflow
worker`) has its own pool; a forked child forgets its parent's pool and starts its own.
"""
from __future__ import annotations

import atexit
import builtins
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .sandbox_rules import ScriptError, ScriptRefused, ScriptTimeout
from .sandbox_wire import MAX_MESSAGE_BYTES, MessageTooLarge, load_plain, recv, send
from .sandbox_worker import READY

DEFAULT_WORKERS = 2
DEFAULT_MEMORY_MB = 256
MIN_MEMORY_MB = 64  # a worker's interpreter alone takes about 30 MB of address space
START_TIMEOUT = 10.0
_ROOT = Path(__file__).resolve().parent.parent
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from engine.sandbox_worker import main; main()")
_ERRORS = {name: cls for name, cls in vars(builtins).items()
           if isinstance(cls, type) and issubclass(cls, Exception)}
_ERRORS.update({"ScriptError": ScriptError, "ScriptRefused": ScriptRefused})


class Worker:
    """One script worker process and the two pipe ends that talk to it."""

    def __init__(self, memory_bytes: int):
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, str(_ROOT), str(memory_bytes)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={"LC_ALL": "C.UTF-8"}, start_new_session=True, close_fds=True)
        except OSError as err:
            raise ScriptError(f"a script worker could not be started ({err})") from None
        self.pid = self.proc.pid
        self.to_fd, self.from_fd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        os.set_blocking(self.to_fd, False)
        os.set_blocking(self.from_fd, False)
        try:
            greeting = recv(self.from_fd, time.monotonic() + START_TIMEOUT)
        except (TimeoutError, EOFError, OSError, MessageTooLarge) as err:
            greeting = repr(err)
        if greeting != READY:
            self.close()
            raise ScriptError(f"a script worker did not start ({self.ended()})")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, payload: bytes, limit: float) -> dict:
        """Send one job and return the reply, raising ScriptTimeout once `limit` has passed."""
        deadline = time.monotonic() + limit
        try:
            send(self.to_fd, payload, deadline)
            answer = recv(self.from_fd, deadline)
        except TimeoutError:
            raise ScriptTimeout(f"stopped after running longer than {limit:g} s") from None
        except MessageTooLarge:
            raise ScriptError(f"its data is larger than {MAX_MESSAGE_BYTES >> 20} MB") from None
        except (EOFError, OSError):
            raise ScriptError(f"its worker process ended ({self.ended()})") from None
        try:
            reply = load_plain(answer)
        except Exception as err:  # noqa: BLE001 - any malformed reply is the worker's failure
            raise ScriptError(f"its worker sent back something that is not plain data ({err})")
        if not isinstance(reply, dict):
            raise ScriptError("its worker sent back something that is not a reply")
        return reply

    def ended(self) -> str:
        """Describe how the worker process ended (killing it first if it has not)."""
        try:
            code = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.close()
            return "stopped by the server"
        if code < 0:
            name = signal.Signals(-code).name
            return "CPU limit reached" if name == "SIGXCPU" else f"killed by {name}"
        return f"exit code {code}"

    def close(self) -> None:
        """Kill the process, reap it and close the pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class ScriptPool:
    """Up to `size` warm workers with `memory_mb` of address space each, shared by threads."""

    def __init__(self, size: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB):
        if size < 1:
            raise ValueError("a script pool needs at least one worker")
        if memory_mb < MIN_MEMORY_MB:
            raise ValueError(f"script workers need at least {MIN_MEMORY_MB} MB")
        self.size, self.memory_mb = size, memory_mb
        self.started = 0  # workers started over the pool's life (replacements included)
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._starting = 0
        self._closed = False
        self._cond = threading.Condition()

    def run(self, request: dict, limit: float) -> dict:
        """Run one job on a worker and return its successful reply; raise what the job raised."""
        try:
            payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # noqa: BLE001 - whatever in the data refuses to be pickled
            raise ScriptError(f"its data cannot be passed to model code ({err})") from None
        if len(payload) > MAX_MESSAGE_BYTES:
            raise ScriptError(f"its data is larger than {MAX_MESSAGE_BYTES >> 20} MB")
        worker = self._acquire()
        healthy = False
        try:
            reply = worker.call(payload, limit)
            healthy = not reply.get("retire")
        finally:
            self._release(worker, healthy)
        if reply.get("ok") is not True:
            raise _failure(reply, self.memory_mb)
        return reply

    def worker_pids(self) -> list[int]:
        """Return the process ids of the live workers (idle or busy)."""
        with self._cond:
            return sorted(w.pid for w in self._all)

    def close(self) -> None:
        """Stop every idle worker; busy ones are stopped when their job returns."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._all.difference_update(idle)
            self._closed = True
        for worker in idle:
            worker.close()

    def _acquire(self) -> Worker:
        with self._cond:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._all.discard(worker)
                    worker.close()
                if len(self._all) + self._starting < self.size:
                    self._starting += 1  # hold the slot while the process starts
                    break
                self._cond.wait()
        worker = None
        try:
            worker = Worker(self.memory_mb * 1024 * 1024)
        finally:
            with self._cond:
                self._starting -= 1
                if worker is not None:
                    self._all.add(worker)
                    self.started += 1
                self._cond.notify()
        return worker

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._cond:
            keep = healthy and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
            self._cond.notify()
        if not keep:
            worker.close()


def _failure(reply: dict, memory_mb: int) -> Exception:
    """Rebuild the exception a job raised, as a plain built-in or a sandbox error."""
    kind, message = str(reply.get("kind")), str(reply.get("message", ""))[:500]
    line = reply.get("line") if type(reply.get("line")) is int else None
    if reply.get("refused") is True:
        err: Exception = ScriptRefused(message)
    elif kind == "MemoryError":
        err = ScriptError(f"ran past its memory limit of {memory_mb} MB")
    else:
        try:
            err = _ERRORS.get(kind, ScriptError)(message)
        except Exception:  # noqa: BLE001 - a built-in error that takes other arguments
            err = ScriptError(f"{kind}: {message}")
    err.sandbox_line = line  # type: ignore[attr-defined]
    return err


def configured_size() -> tuple[int, int]:
    """Return (workers, memory MB) from CASEFLOW_SCRIPT_WORKERS and CASEFLOW_SCRIPT_MEMORY_MB."""
    workers = os.environ.get("CASEFLOW_SCRIPT_WORKERS", "").strip()
    memory = os.environ.get("CASEFLOW_SCRIPT_MEMORY_MB", "").strip()
    return (int(workers) if workers else DEFAULT_WORKERS,
            int(memory) if memory else DEFAULT_MEMORY_MB)


_pool: ScriptPool | None = None
_pool_lock = threading.Lock()


def script_pool() -> ScriptPool:
    """Return this process's shared pool, creating it (without workers) on first use."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ScriptPool(*configured_size())
    return _pool


def configure_pool(workers: int, memory_mb: int) -> ScriptPool:
    """Replace this process's shared pool with one of the given size (for a composition root)."""
    global _pool
    with _pool_lock:
        old, _pool = _pool, ScriptPool(workers, memory_mb)
    if old is not None:
        old.close()
    return _pool


def _forget_parent_pool() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


def _close_pool() -> None:
    if _pool is not None:
        _pool.close()


os.register_at_fork(after_in_child=_forget_parent_pool)
atexit.register(_close_pool)
