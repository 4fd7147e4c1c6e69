"""Fixtures for search, saved filters, bulk work and get-next-work: the case layer's, on both databases."""
from __future__ import annotations

from tests.cases.conftest import customer, install, people  # noqa: F401  (shared fixtures)
