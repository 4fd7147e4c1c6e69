"""Errors raised by the engine package; each carries what a designer or agent needs to act on it."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about an uploaded BPMN file, located by element id and line."""

    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    severity: str = "error"  # "error" blocks deployment, "warning" does not

    def as_dict(self) -> dict:
        return asdict(self)


class EngineError(Exception):
    """Base class for every error the engine package raises."""


class InvalidBpmn(EngineError):
    """The BPMN bytes cannot be deployed; `problems` lists every reason at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0].message if problems else "invalid BPMN"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(first + more)


class TaskNotReady(EngineError):
    """The task asked for is not waiting for a person right now."""


class StepNotFound(EngineError):
    """No element with that id exists in the process, or none is reachable as asked."""


class FormInvalid(EngineError):
    """Submitted form data failed validation; `errors` maps field id to message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class ScriptFailed(EngineError):
    """A script, condition or expression in the model failed while the case ran."""

    def __init__(self, message: str, element_id: str | None = None, line: int | None = None):
        self.element_id = element_id
        self.line = line
        # SpiffWorkflow writes "TypeError:unsupported ... 'str'." : say it as a sentence.
        message = re.sub(r"^(\w+(?:Error|Exception)):(?=\S)", r"\1: ", message.strip()).rstrip(". ")
        where = f" in {element_id}" if element_id else ""
        super().__init__(f"{message}{where}")


class MessageNotExpected(EngineError):
    """A message was refused because the model does not define it anywhere."""


class TimerInvalid(EngineError):
    """A timer expression is not an ISO-8601 date, duration or cycle Caseflow can schedule."""


class MessageNotCorrelated(EngineError):
    """The process waits for the message, but not with the correlation values it carries."""


class ErrorNotCaught(EngineError):
    """A BPMN error thrown by an external task has no error boundary event on that task to catch it."""

    def __init__(self, code: str, element_id: str | None = None):
        self.code = code
        self.element_id = element_id
        super().__init__(f"No error boundary event on {element_id} catches error code '{code}'")
