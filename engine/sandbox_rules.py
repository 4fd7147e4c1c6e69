"""The rules model code is compiled and run under, shared by the server and the script workers.

Model code is compiled with RestrictedPython (no imports, no dunder or frame attributes, no
open/exec/eval, guarded attribute and item access) and run with a small set of builtins. This module
imports nothing from SpiffWorkflow so that script worker processes stay small and start fast.
"""
from __future__ import annotations

import ast
import functools
import warnings
from datetime import date, datetime, timedelta
from typing import Any

from RestrictedPython import (
    compile_restricted,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
    utility_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

# Exceptions that end an interpreter or a generator rather than a step: model code never sees them.
WITHHELD_NAMES = frozenset({"SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"})
# Scope introspection: RestrictedPython has no such builtins, so a script calling them passed the
# checks and then failed at run time with "'NoneType' object is not callable".
INTROSPECTION = {"locals": "locals()", "vars": "vars()", "globals": "globals()", "dir": "dir()"}

_INPLACE = {
    "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
    "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
    "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
}


class SandboxError(Exception):
    """Base of the failures of model code that the runtime turns into ScriptFailed."""


class ScriptTimeout(SandboxError):
    """Model code ran past its wall-clock limit."""


class ScriptRefused(SandboxError):
    """Model code does not compile under the sandbox's rules or tried something it may not do."""


class ScriptError(SandboxError):
    """Model code failed in its worker: out of memory, its process lost, or bad data returned."""


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op not in _INPLACE:
        raise ScriptRefused(f"operator {op} is not allowed")
    return _INPLACE[op](x, y)


PRINT_LIMIT = 4000  # characters of print() output kept per script run


class ScriptPrints(PrintCollector):
    """Collects what a script prints (up to PRINT_LIMIT characters) for the script log, so
    `print` in a model from another tool is not an error."""

    def write(self, text: str) -> None:
        if sum(len(t) for t in self.txt) < PRINT_LIMIT:
            self.txt.append(text)

    def text(self) -> str:
        return "".join(self.txt)[:PRINT_LIMIT]


def printed_text(scope: dict) -> str:
    """What the script run in `scope` printed ('' when nothing)."""
    collector = scope.get("_print")
    return collector.text() if isinstance(collector, ScriptPrints) else ""


def _builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    allowed.update({k: v for k, v in utility_builtins.items() if k in ("math", "set", "frozenset")})
    allowed.update({
        "dict": dict, "list": list, "tuple": tuple, "sum": sum, "min": min, "max": max,
        "any": any, "all": all, "enumerate": enumerate, "sorted": sorted, "reversed": reversed,
        "map": map, "filter": filter, "zip": zip,
    })
    for name in WITHHELD_NAMES:
        allowed.pop(name, None)
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
    "_print_": ScriptPrints,
}
_HELPERS: dict[str, Any] = {"datetime": datetime, "timedelta": timedelta, "date": date}
RESERVED = frozenset(_GUARDS) | frozenset(_HELPERS)


@functools.lru_cache(maxsize=4096)
def compile_model_code(source: str, mode: str = "exec"):
    """Compile model code under the sandbox rules; raise SyntaxError saying what is refused."""
    reason = check_model_code(source, mode)
    if reason is not None:
        raise SyntaxError(reason)
    with warnings.catch_warnings():  # "Prints, but never reads 'printed'": the log reads it
        warnings.simplefilter("ignore", SyntaxWarning)
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
        if isinstance(node, ast.Name) and node.id in WITHHELD_NAMES:
            return f"line {node.lineno}: {node.id} is not available to model code"
        if isinstance(node, ast.Name) and node.id in INTROSPECTION:
            return (f"line {node.lineno}: {INTROSPECTION[node.id]} is not available to model "
                    "code; read the case data by its names (amount, customer_id) instead")
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        result = compiler(source, filename="<string>")
    if result.errors:
        return "; ".join(result.errors)
    return None


def callable_names() -> frozenset[str]:
    """The functions model code can call without defining them: the sandbox's builtins and
    helpers (`print` is compiled into the script log)."""
    return frozenset(_GUARDS["__builtins__"]) | frozenset(_HELPERS) | {"print"}


def unknown_call(source: str, mode: str = "exec") -> str | None:
    """Return why `source` calls a function model code does not have, or None.

    Only calls by a bare name count (`custom_function(x)`), and only of names the code itself
    never binds: case data is unknown before a case runs, but it is JSON and holds no functions,
    so such a call can only fail at run time. Call it on code that `check_model_code` accepted.
    """
    tree = ast.parse(source, mode=mode)
    bound = set(callable_names())
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    calls = sorted((node.lineno, node.func.id) for node in ast.walk(tree)
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                   and node.func.id not in bound)
    if not calls:
        return None
    line, name = calls[0]
    return (f"line {line}: it calls {name}(), a function model code does not have (it is "
            "neither defined in this code nor one the sandbox offers)")


def new_scope(context: dict, external_context: dict | None) -> dict:
    """Return the globals model code runs with: guards, helpers, then the data it may read."""
    scope = dict(_GUARDS)
    scope.update(_HELPERS)
    scope.update(external_context or {})
    scope.update(context)
    return scope


def script_results(scope: dict, context: dict, external_context: dict | None
                   ) -> tuple[dict, list[str]]:
    """Split a scope after a script ran into the data it keeps and the keys it deleted."""
    skip = RESERVED | set(external_context or {})
    kept = {k: v for k, v in scope.items()
            if k not in skip and not callable(v) and not k.startswith("_")}
    deleted = [k for k in context if k not in scope]
    return kept, deleted
