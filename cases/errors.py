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
