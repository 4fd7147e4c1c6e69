"""A script worker process: runs model code sent by the server under OS limits, one job at a time.

Started by engine.sandbox_pool as `python -I -c ...` (a fresh interpreter, never a fork of a
threaded server), with an empty environment. Before reading its first job it caps its address space
(RLIMIT_AS), forbids core dumps, files and child processes, and ignores Ctrl-C meant for the server.
Each job gets a CPU limit (RLIMIT_CPU) a little above its wall-clock limit, which the server
enforces by killing the worker; the CPU limit is the backstop if the server itself is gone.
"""
from __future__ import annotations

import math
import os
import pickle
import resource
import signal
import sys
import traceback

from engine.sandbox_rules import compile_model_code, new_scope, printed_text, script_results
from engine.sandbox_wire import MAX_MESSAGE_BYTES, plain_data_problem, recv, send

READY = b"ready"
LIFETIME_CPU_SECONDS = 1800  # hard CPU cap; the worker retires at half of it and is replaced
_MESSAGE_CHARS = 500


def main() -> None:
    """Serve jobs from the server until it closes the pipe."""
    memory_bytes = int(sys.argv[2])
    in_fd, out_fd = _take_channel()
    _limit_process(memory_bytes)
    send(out_fd, READY, None)
    while True:
        try:
            request = pickle.loads(recv(in_fd, None))
        except EOFError:
            return
        try:
            reply = handle(request)
        except BaseException:  # noqa: BLE001 - e.g. an exception whose str() itself fails
            reply = {"ok": False, "kind": "ScriptError", "line": None,
                     "message": "raised an error that cannot be described"}
        send(out_fd, _encode(reply), None)
        if reply.get("retire"):
            return


def _take_channel() -> tuple[int, int]:
    """Keep stdin/stdout as the job channel and point fds 0 and 1 at /dev/null."""
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    return in_fd, out_fd


def _limit_process(memory_bytes: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    hard = int(_cpu_used()) + LIFETIME_CPU_SECONDS
    resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def handle(request: dict) -> dict:
    """Run one job and return the reply; nothing model code raises gets past this function."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    used = _cpu_used()
    soft = min(hard, math.ceil(used + request["limit"]) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    try:
        reply = run(request)
    except MemoryError:
        reply = {"ok": False, "kind": "MemoryError", "retire": True,
                 "message": "ran past its memory limit", "line": None}
    except BaseException as err:  # noqa: BLE001 - everything model code raises fails its step
        # SystemExit, KeyboardInterrupt, GeneratorExit and bare BaseException are not errors of
        # a step but attempts to end the worker: refused.
        reply = _failure(err, refused=not isinstance(err, Exception))
    if used > LIFETIME_CPU_SECONDS / 2:
        reply["retire"] = True
    return reply


def run(request: dict) -> dict:
    """Compile and run the job's code against its data; check what goes back is plain data."""
    mode, context, external = request["mode"], request["context"], request["external"]
    code = compile_model_code(request["source"], mode)
    scope = new_scope(context, external)
    if mode == "eval":
        value = eval(code, scope)  # noqa: S307 - RestrictedPython-compiled, guarded scope
        return _checked({"ok": True, "value": value}, {"the expression's value": value})
    exec(code, scope)  # noqa: S102 - RestrictedPython-compiled, guarded scope
    kept, deleted = script_results(scope, context, external)
    return _checked({"ok": True, "data": kept, "deleted": deleted, "printed": printed_text(scope)},
                    {f"variable {k!r}": v for k, v in kept.items()})


def _checked(reply: dict, values: dict) -> dict:
    for where, value in values.items():
        problem = plain_data_problem(value, where)
        if problem is not None:
            return {"ok": False, "kind": "ScriptError", "message": problem, "line": None}
    return reply


def _failure(err: BaseException, refused: bool = False) -> dict:
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == "<string>":
            line = frame.lineno
    first = str(err.args[0]) if err.args else ""
    if refused:
        first = f"{type(err).__name__} is not allowed in model code"
    return {"ok": False, "kind": type(err).__name__, "refused": refused,
            "message": first[:_MESSAGE_CHARS], "line": line}


def _encode(reply: dict) -> bytes:
    """Pickle a reply; one that cannot be pickled or is too large becomes a failure."""
    try:
        payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # noqa: BLE001
        payload = pickle.dumps(_failure(err))
    if len(payload) > MAX_MESSAGE_BYTES:
        payload = pickle.dumps({"ok": False, "kind": "ScriptError", "line": None,
                                "message": f"its data is larger than "
                                           f"{MAX_MESSAGE_BYTES // (1024 * 1024)} MB"})
    return payload
