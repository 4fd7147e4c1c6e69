"""`caseflow` commands of the designer area; imported at the end of cases/cli.py to register on its app."""
from __future__ import annotations

from .cli import app  # noqa: F401
