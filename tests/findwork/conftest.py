"""Fixtures for finding work: the case layer's (both databases)."""
from __future__ import annotations

from tests.cases.conftest import customer, install, people  # noqa: F401  (shared fixtures)
