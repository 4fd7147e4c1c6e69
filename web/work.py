"""The agent's workspace: worklist, cases, customers, deviations and the approval queue (issue 5)."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
