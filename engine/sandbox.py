"""Sandboxed evaluation of the Python in BPMN models: scripts, conditions, timers, payloads.

Every piece of model code is compiled with RestrictedPython (no imports, no dunder attributes, no
open/exec/eval, guarded attribute and item access) and run under a wall-clock limit enforced by a
trace function, so a runaway loop fails its task instead of holding the worker.
"""
from __future__ import annotations

import ast
import functools
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any, Callable

from RestrictedPython import (
    compile_restricted,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
    utility_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

DEFAULT_TIME_LIMIT = 2.0

_INPLACE = {
    "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
    "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
    "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
}


class ScriptTimeout(Exception):
    """Model code ran past its wall-clock limit."""


class ScriptRefused(Exception):
    """Model code does not compile under the sandbox's rules."""


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op not in _INPLACE:
        raise ScriptRefused(f"operator {op} is not allowed")
    return _INPLACE[op](x, y)


def _builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    allowed.update({k: v for k, v in utility_builtins.items() if k in ("math", "set", "frozenset")})
    allowed.update({
        "dict": dict, "list": list, "tuple": tuple, "sum": sum, "min": min, "max": max,
        "any": any, "all": all, "enumerate": enumerate, "sorted": sorted, "reversed": reversed,
        "map": map, "filter": filter, "zip": zip,
    })
    return allowed


_GUARDS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_print_": None,
}
_HELPERS: dict[str, Any] = {"datetime": datetime, "timedelta": timedelta, "date": date}
_RESERVED = set(_GUARDS) | set(_HELPERS)


@functools.lru_cache(maxsize=4096)
def compile_model_code(source: str, mode: str = "exec"):
    """Compile model code under the sandbox rules; raise SyntaxError saying what is refused."""
    reason = check_model_code(source, mode)
    if reason is not None:
        raise SyntaxError(reason)
    return compile_restricted(source, filename="<string>", mode=mode)


def check_model_code(source: str, mode: str = "exec") -> str | None:
    """Return a designer-readable reason why `source` is refused, or None when it is acceptable."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        return f"line {err.lineno}: {err.msg}" if err.lineno else err.msg
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return f"line {node.lineno}: imports are not allowed in model code"
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(source, filename="<string>")
    if result.errors:
        return "; ".join(result.errors)
    return None


def run_with_time_limit(fn: Callable[[], Any], limit: float) -> Any:
    """Call fn, raising ScriptTimeout from inside it once `limit` seconds have passed."""
    deadline = time.monotonic() + limit

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code.co_filename == "<string>":
            # Line events do not fire on a tight backward jump (`while True: pass`); opcodes do.
            frame.f_trace_opcodes = True
        if time.monotonic() > deadline:
            raise ScriptTimeout(f"stopped after running longer than {limit:g} s")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return fn()
    finally:
        sys.settrace(previous)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """A SpiffWorkflow script environment that runs model code under RestrictedPython."""

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT):
        super().__init__({})
        self.time_limit = time_limit

    def _globals(self, context: dict, external_context: dict | None) -> dict:
        scope = dict(_GUARDS)
        scope.update(_HELPERS)
        scope.update(external_context or {})
        scope.update(context)
        return scope

    def evaluate(self, expression, context, external_context=None):
        code = compile_model_code(expression.strip(), "eval")
        scope = self._globals(context, external_context)
        return run_with_time_limit(lambda: eval(code, scope), self.time_limit)

    def execute(self, script, context, external_context=None):
        code = compile_model_code(script, "exec")
        scope = self._globals(context, external_context)
        run_with_time_limit(lambda: exec(code, scope), self.time_limit)
        skip = _RESERVED | set(external_context or {})
        for key, value in scope.items():
            if key in skip or callable(value) or key.startswith("_"):
                continue
            context[key] = value
        for key in [k for k in context if k not in scope]:
            del context[key]
        return True

    def call_service(self, context, **kwargs):
        raise ScriptRefused("service calls are not available to model code")


def new_script_engine(time_limit: float = DEFAULT_TIME_LIMIT) -> PythonScriptEngine:
    """Return a SpiffWorkflow script engine that runs everything in the sandbox."""
    return PythonScriptEngine(environment=SandboxEnvironment(time_limit))
