"""The designer's workspace: upload, validate, compare, deploy, retire, migrate (issue 6)."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
