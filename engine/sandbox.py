"""Sandboxed evaluation of the Python in BPMN models: scripts, conditions, timers, payloads.

Model code is untrusted. It is compiled with RestrictedPython (engine.sandbox_rules) and run in a
script worker process (engine.sandbox_pool) under an address-space limit, a CPU limit and a
wall-clock limit watched by the server, so a hostile or broken piece costs only its own limits and
fails its step. Expressions proven bounded by engine.sandbox_bounded (`amount > 100`) are
evaluated in the server instead: they cannot loop or grow, and a worker round trip costs far more.
"""
from __future__ import annotations

import logging

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .sandbox_bounded import is_bounded_expression
from .sandbox_pool import ScriptPool, script_pool
from .sandbox_rules import (
    SandboxError,
    ScriptError,
    ScriptRefused,
    ScriptTimeout,
    check_model_code,
    compile_model_code,
    new_scope,
)

__all__ = ["DEFAULT_TIME_LIMIT", "SandboxEnvironment", "SandboxError", "ScriptError",
           "ScriptRefused", "ScriptTimeout", "check_model_code", "compile_model_code",
           "new_script_engine"]

DEFAULT_TIME_LIMIT = 2.0
SCRIPT_LOG = logging.getLogger("caseflow.scripts")  # what model scripts print()


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """A SpiffWorkflow script environment that runs model code in the sandbox."""

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT, pool: ScriptPool | None = None):
        super().__init__({})
        self.time_limit = time_limit
        self._pool = pool
        self.printed: list[str] = []  # print() output not yet taken into the case's events

    def take_printed(self) -> str:
        """Return and forget what scripts printed since the last call ('' when nothing)."""
        text, self.printed = "".join(self.printed), []
        return text

    @property
    def pool(self) -> ScriptPool:
        return self._pool or script_pool()

    def evaluate(self, expression, context, external_context=None):
        source = expression.strip()
        code = compile_model_code(source, "eval")
        if is_bounded_expression(source):
            return eval(code, new_scope(context, external_context))  # noqa: S307 - bounded
        reply = self.pool.run({"mode": "eval", "source": source, "context": dict(context),
                               "external": dict(external_context or {}), "limit": self.time_limit},
                              self.time_limit)
        return reply["value"]

    def execute(self, script, context, external_context=None):
        compile_model_code(script, "exec")  # refuse in the server, before a worker is taken
        reply = self.pool.run({"mode": "exec", "source": script, "context": dict(context),
                               "external": dict(external_context or {}), "limit": self.time_limit},
                              self.time_limit)
        if reply.get("printed"):
            SCRIPT_LOG.debug("script printed: %s", reply["printed"].rstrip())
            self.printed.append(reply["printed"])
        context.update(reply["data"])
        for key in reply["deleted"]:
            context.pop(key, None)
        return True

    def call_service(self, context, **kwargs):
        raise ScriptRefused("service calls are not available to model code")


class SandboxScriptEngine(PythonScriptEngine):
    """PythonScriptEngine that reports the line a worker saw fail, not a line of the server."""

    def get_error_line_number_and_content(self, script, err):
        line = getattr(err, "sandbox_line", None)
        if line is None:
            return super().get_error_line_number_and_content(script, err)
        lines = script.splitlines()
        return line, lines[line - 1] if 0 < line <= len(lines) else ""


def new_script_engine(time_limit: float = DEFAULT_TIME_LIMIT) -> PythonScriptEngine:
    """Return a SpiffWorkflow script engine that runs everything in the sandbox."""
    return SandboxScriptEngine(environment=SandboxEnvironment(time_limit))
