"""Errors of the case layer; web/ maps them to 4xx answers in one place."""
from __future__ import annotations


class CaseError(Exception):
    """A request the case layer refuses, with a message for the person who made it."""


class NotFound(CaseError):
    """The thing asked for does not exist (or is not visible to this user)."""


class Forbidden(CaseError):
    """The user's role or team does not allow this."""


class Conflict(CaseError):
    """Someone else changed the case first; `submitted` carries the user's input back."""

    def __init__(self, message: str, submitted: dict | None = None):
        super().__init__(message)
        self.submitted = submitted or {}


class InvalidInput(CaseError):
    """Submitted form data is wrong; `errors` maps field id to message, `submitted` echoes the input."""

    def __init__(self, errors: dict[str, str], submitted: dict | None = None):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()) or "Invalid input")
        self.errors = dict(errors)
        self.submitted = dict(submitted or {})


class StartFormInvalid(InvalidInput):
    """The process's start form refuses the data a case would open with; nothing was stored."""

    def __init__(self, errors: dict[str, str], submitted: dict | None = None):
        super().__init__(errors, submitted)
        self.args = (f"The start form refused the case's data: {self.args[0]}",)


class ProcessFailed(Conflict):
    """The model failed while the case ran (a script, condition, timer or payload at one element).

    Nothing of the action was stored; an incident records the failure for a supervisor, who can
    retry it once the data or the model is fixed. Answered as 409: the person's input is not lost.
    """

    def __init__(self, message: str, element_id: str | None = None, incident_id: int | None = None,
                 submitted: dict | None = None):
        super().__init__(message, submitted)
        self.element_id = element_id
        self.incident_id = incident_id


class LockNotHeld(Conflict):
    """An external-task worker acted on a task it no longer holds (its lock expired or another
    worker took it): its result must not be stored."""
